// SPDX-License-Identifier: MIT
#pragma once

/// How views are published: channels, cadence, size limits, snapshot or diff. The wire format
/// is specified in docs/wire-format.md.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <presenceagg/presence_store.hpp>

namespace presenceagg {

struct ViewChannel {
    bool enabled = true;
    std::string channel;  ///< Ably channel the view is published to
};

struct PublishConfig {
    /// Indexed by View. Defaults: by-channel to "presence-update" (the original app's channel),
    /// the others to "presence-update:by-client", "presence-update:by-connection",
    /// "presence-update:counts".
    std::array<ViewChannel, 4> views{{{true, "presence-update"},
                                      {true, "presence-update:by-client"},
                                      {true, "presence-update:by-connection"},
                                      {true, "presence-update:counts"}}};
    /// A changed view is published at most once per interval.
    std::chrono::milliseconds interval{3'000};
    /// An unchanged view is re-published as a full snapshot this often.
    std::chrono::milliseconds keepalive{60'000};
    /// Ably's max message size; every message and every publish request stays within it.
    std::size_t max_message_size = 65'536;
    /// Publish diffs against the previous seq instead of full snapshots...
    bool diff_mode = true;
    /// ...with a full snapshot every this many publishes of a view.
    std::uint32_t snapshot_every = 20;
    /// Never more than this many publish requests per second per channel (Ably allows 50).
    double max_publishes_per_second = 40.0;
    /// Retries of one failed request before the tick gives up (the next tick covers it).
    std::uint32_t max_retries = 4;
    std::chrono::milliseconds retry_backoff_min{250};
    std::chrono::milliseconds retry_backoff_max{10'000};

    [[nodiscard]] ViewChannel& operator[](View v) { return views[static_cast<std::size_t>(v)]; }
    [[nodiscard]] const ViewChannel& operator[](View v) const {
        return views[static_cast<std::size_t>(v)];
    }
};

}  // namespace presenceagg

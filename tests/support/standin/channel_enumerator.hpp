// SPDX-License-Identifier: MIT
#pragma once

/// GET /channels pagination, able to misbehave the ways Ably's enumeration may: one walk at a
/// time (42912), cursors invalidated mid-walk (40011), short or empty pages that still carry a
/// next link, and duplicates across pages.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "channel_store.hpp"
#include "request_stats.hpp"

namespace presenceagg::standin {

struct EnumerationSettings {
    bool single_flight = false;      ///< a second walk while one is in flight gets 42912
    int invalidate_after_pages = 0;  ///< > 0: the request for page N (0-based) gets 40011...
    int invalidate_times = 1;        ///< ...this many times (-1: always)
    std::size_t page_size_cap = 0;   ///< > 0: pages never hold more names than this
    double duplicate_rate = 0.0;     ///< chance that a name of the previous page is repeated
    bool empty_pages = false;        ///< every other page is empty but has a next link
    int walk_timeout_ms = 60'000;    ///< a walk idle this long is forgotten
    std::uint64_t seed = 1;          ///< for duplicate_rate
};

/// The outcome of one GET /channels request.
struct EnumerationPage {
    int status = 200;
    int code = 0;
    std::string message;
    std::vector<std::string> names;
    std::string next_cursor;  ///< empty on the last page
};

/// Thread-safe.
class ChannelEnumerator {
public:
    ChannelEnumerator(const ChannelStore& store, RequestStats& stats);

    void configure(const EnumerationSettings& settings);
    [[nodiscard]] EnumerationSettings settings() const;
    /// Default settings, no walks in flight.
    void reset();

    /// One page of at most `limit` active channel names starting with `prefix`, after the
    /// position in `cursor` (empty: a new walk).
    [[nodiscard]] EnumerationPage page(std::string_view prefix,
                                       std::size_t limit,
                                       const std::string& cursor);

private:
    struct Walk {
        std::chrono::steady_clock::time_point last_activity;
        std::vector<std::string> previous_page;
        std::uint64_t previous_index = 0;
    };

    [[nodiscard]] static std::string make_cursor(std::uint64_t walk,
                                                 std::uint64_t page,
                                                 const std::string* after);

    const ChannelStore& store_;
    RequestStats& stats_;
    mutable std::mutex mutex_;
    EnumerationSettings settings_;
    std::map<std::uint64_t, Walk> walks_;
    std::uint64_t next_walk_ = 1;
    std::mt19937_64 rng_{1};
};

}  // namespace presenceagg::standin

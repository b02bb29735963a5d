// SPDX-License-Identifier: MIT
#pragma once

/// A consistent snapshot of everything the pipeline counts, and its Prometheus rendering.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include <presenceagg/export.hpp>
#include <presenceagg/presence_store.hpp>
#include <presenceagg/queue_source.hpp>

namespace presenceagg {

struct PublishViewStats {
    std::uint64_t publishes = 0;  ///< successful publish rounds (one seq each)
    std::uint64_t snapshots = 0;  ///< of which full snapshots
    std::uint64_t diffs = 0;      ///< of which diffs
    std::uint64_t messages = 0;   ///< Ably messages (parts) sent
    std::uint64_t requests = 0;   ///< HTTP publish requests sent
    std::uint64_t bytes = 0;      ///< message data bytes sent
    std::uint64_t failures = 0;   ///< failed requests
    std::uint64_t retries = 0;    ///< retried requests
    std::uint64_t seq = 0;        ///< last published seq
    bool last_ok = true;
};

struct BootstrapStats {
    bool done = false;
    std::uint64_t channels_enumerated = 0;
    std::uint64_t channels_matched = 0;
    std::uint64_t channels_fetched = 0;
    std::uint64_t members_fetched = 0;
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;  ///< failed requests or per-channel errors (retried)
};

struct Stats {
    // events by source and action
    std::uint64_t queue_bodies = 0;     ///< queue deliveries decoded
    std::uint64_t decode_errors = 0;    ///< bodies rejected as malformed
    std::uint64_t presence_events = 0;  ///< presence messages from the queue
    std::uint64_t occupancy_events = 0;
    std::uint64_t filtered_events = 0;  ///< outside NAMESPACE_REGEX
    std::uint64_t ignored_sources = 0;
    std::array<std::uint64_t, 5> by_action{};  ///< indexed by PresenceAction
    StoreStats store;
    QueueSourceStats queue;
    BootstrapStats bootstrap;
    std::uint64_t resyncs = 0;  ///< drift-repair fetches done
    std::uint64_t resync_failures = 0;
    std::uint64_t suspect_channels = 0;
    std::array<PublishViewStats, 4> publish{};  ///< indexed by View
    std::uint64_t ticks = 0;
    std::chrono::microseconds last_tick_duration{0};
    std::chrono::microseconds max_tick_duration{0};
    Counts counts;
    bool collecting = false;
    bool source_connected = false;
    bool last_publish_ok = true;
    std::uint64_t commands = 0;  ///< start/stop commands acted on
    // checkpoints in DATA_DIR
    std::uint64_t checkpoint_writes = 0;          ///< checkpoints written
    std::uint64_t checkpoint_write_failures = 0;  ///< checkpoint writes that failed
    std::uint64_t checkpoint_loads = 0;           ///< checkpoints loaded into the store
    std::uint64_t checkpoint_load_failures = 0;   ///< corrupt or unreadable checkpoints ignored
    std::uint64_t checkpoint_members_loaded = 0;  ///< members restored from the checkpoint
};

/// Prometheus text exposition format (version 0.0.4); every metric is prefixed "presenceagg_".
[[nodiscard]] PRESENCEAGG_API std::string to_prometheus(const Stats& stats);

}  // namespace presenceagg

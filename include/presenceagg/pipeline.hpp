// SPDX-License-Identifier: MIT
#pragma once

/// `Pipeline`: the main job. Owns a store, a queue source, a sink and a scheduler; bootstraps
/// from Ably's REST API, consumes the queue, repairs drift from occupancy, follows the command
/// channel, and publishes the views.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <presenceagg/ably.hpp>
#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/export.hpp>
#include <presenceagg/logging.hpp>
#include <presenceagg/presence_store.hpp>
#include <presenceagg/publish.hpp>
#include <presenceagg/queue_source.hpp>
#include <presenceagg/scheduler.hpp>
#include <presenceagg/stats.hpp>

namespace presenceagg {

struct BootstrapConfig {
    bool enabled = true;
    std::size_t channels_per_request = 100;  ///< batch presence chunk (Ably's 90010 cap)
    std::size_t enumeration_page = 1000;     ///< GET /channels limit
    double requests_per_second = 20.0;       ///< REST request-rate budget (shared with repair)
    std::size_t concurrency = 4;             ///< batch presence requests in flight
};

struct DriftRepairConfig {
    bool enabled = true;
    /// Ably debounces occupancy up to 15 s: compare counts only after this long without change.
    std::chrono::milliseconds occupancy_debounce{15'000};
    /// Re-verify a sample of channels this often (0 disables)...
    std::chrono::milliseconds verify_interval{60'000};
    /// ...this many channels per round.
    std::size_t verify_sample = 10;
};

struct CommandChannelConfig {
    /// Channel carrying `update` messages with data `start` / `stop`. Empty disables it.
    std::string channel = "presence-command";
    /// Start collecting without waiting for a `start` command.
    bool consume_on_start = false;
};

struct PipelineConfig {
    AblyEndpoint ably;                             ///< REST for bootstrap, repair, command channel
    std::string namespace_regex = "^presence:.*";  ///< ECMAScript regex; events outside are dropped
    PublishConfig publish;
    BootstrapConfig bootstrap;
    DriftRepairConfig repair;
    CommandChannelConfig command;
    /// DATA_DIR: where checkpoints of the store are kept (created 0700 when missing). Empty:
    /// no checkpoints. With it, start() restores the last checkpoint, the first collection
    /// session keeps it (and reconciles its channels with Ably after the bootstrap), and a
    /// checkpoint is written every `checkpoint_interval` while collecting and on stop().
    std::string data_dir;
    std::chrono::milliseconds checkpoint_interval{60'000};
    Logger log;
};

/// Thread-safe. Non-copyable. The destructor stops.
class PRESENCEAGG_API Pipeline {
public:
    Pipeline(PipelineConfig config,
             std::unique_ptr<PresenceStore> store,
             std::unique_ptr<QueueSource> source,
             std::unique_ptr<AblyRestSink> sink,
             std::unique_ptr<Scheduler> scheduler);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    /// Starts the scheduler, the publisher and the command channel; starts collecting at once
    /// when there is no command channel or `consume_on_start` is set.
    void start();
    /// Stops consuming, publishes once more, stops everything. Idempotent, noexcept.
    void stop() noexcept;
    /// Blocks until stopped; rethrows a worker's fatal error.
    void wait();
    /// Like wait(), but gives up after `timeout`; true when stopped.
    bool wait_for(std::chrono::milliseconds timeout);

    /// Starts collecting (bootstrap, then consume), restarting cleanly if already collecting.
    void start_collecting();
    /// Stops consuming and publishing; the state is kept until the next start.
    void stop_collecting();

    [[nodiscard]] bool running() const noexcept;
    [[nodiscard]] bool collecting() const noexcept;
    [[nodiscard]] const PresenceStore& store() const noexcept;
    [[nodiscard]] Stats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace presenceagg

// SPDX-License-Identifier: MIT
#pragma once

// ViewPublisher: publishes the enabled views of a store to their Ably channels, one round per
// changed view per tick, as diffs or snapshots (docs/wire-format.md). It owns the per-view
// state (epoch, seq, coalesced pending leaves), the per-channel rate limit and the retry policy;
// the sink makes single attempts.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/logging.hpp>
#include <presenceagg/presence_store.hpp>
#include <presenceagg/publish.hpp>
#include <presenceagg/stats.hpp>

#include "publish/leaf_path.hpp"
#include "publish/sleeper.hpp"
#include "publish/view_encoder.hpp"

namespace presenceagg::detail {

struct ViewPublisherConfig {
    PublishConfig publish;
    Logger log;
    /// The epoch of this publisher's stream; a fresh random one when unset (the normal case).
    std::optional<std::uint64_t> epoch;
    /// Waits and time for the rate limit and retries; a real-time one when null.
    std::unique_ptr<Sleeper> sleeper;
};

/// Publisher-wide figures beyond PublishViewStats.
struct ViewPublisherTotals {
    std::uint64_t ticks = 0;
    std::uint64_t oversized_leaves = 0;  ///< leaves sent as {"id","oversized","timestamp"} stubs
    std::uint64_t dropped_leaves = 0;    ///< leaves too large even as a stub (left out)
    std::uint64_t failed_rounds = 0;
};

/// tick() and flush() are serialized internally (call them from the scheduler thread and, at
/// shutdown, once more from the stopping thread); stats(), totals(), epoch() and cancel() may be
/// called from any thread. The store and the sink are borrowed and must outlive the publisher.
class ViewPublisher {
public:
    using Clock = Sleeper::Clock;

    /// Throws Error(InvalidConfig) for an unusable config (size limit, rate, backoff).
    ViewPublisher(PresenceStore& store, AblyRestSink& sink, ViewPublisherConfig config);
    ~ViewPublisher();
    ViewPublisher(const ViewPublisher&) = delete;
    ViewPublisher& operator=(const ViewPublisher&) = delete;

    /// Called every PublishConfig::interval: takes the store's changes once, merges them into
    /// every enabled view's pending leaves, then publishes each view that changed (a diff or a
    /// snapshot), or whose keepalive is due (a snapshot).
    void tick(Clock::time_point now);
    /// Publishes whatever is pending now (no keepalive); used at shutdown: cancel(), stop the
    /// scheduler (which joins a running tick), resume(), then flush().
    void flush();

    /// Interrupts waits (rate limit, backoff) of the running round, which then ends as failed;
    /// later rounds fail at their first wait until resume(). Does not touch the sink.
    void cancel() noexcept;
    void resume() noexcept;

    [[nodiscard]] PublishViewStats stats(View view) const;
    [[nodiscard]] std::array<PublishViewStats, 4> stats() const;
    [[nodiscard]] ViewPublisherTotals totals() const;
    [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }
    /// Leaves waiting for the next round of `view`.
    [[nodiscard]] std::size_t pending(View view) const;
    [[nodiscard]] Sleeper& sleeper() noexcept { return *sleeper_; }

private:
    struct ViewState {
        PendingLeaves pending;
        std::uint64_t next_seq = 1;
        std::uint64_t last_seq = 0;  // last successful round
        bool snapshot_published = false;
        bool force_snapshot = false;
        std::uint32_t diffs_since_snapshot = 0;
        std::optional<Clock::time_point> last_publish;
    };

    struct RateWindow {
        std::deque<Clock::time_point> sent;
    };

    void take_and_merge();
    void run_round(View view, Clock::time_point now, bool allow_keepalive);
    bool send(View view, const PublishRequest& request);
    bool wait_for_rate(const std::string& channel);
    [[nodiscard]] std::chrono::milliseconds backoff(std::uint32_t retry,
                                                    std::chrono::milliseconds retry_after) const;

    PresenceStore& store_;
    AblyRestSink& sink_;
    PublishConfig config_;
    Logger log_;
    std::unique_ptr<Sleeper> sleeper_;
    ViewEncoder encoder_;
    std::uint64_t epoch_;
    std::size_t rate_count_;                // requests allowed per rate window
    std::chrono::nanoseconds rate_window_;  // ... of this length

    mutable std::mutex round_mutex_;  // serializes tick/flush; guards views_, hashes, windows_
    std::array<ViewState, kViewCount> views_;
    std::uint64_t member_hash_ = 0;
    std::uint64_t counts_hash_ = 0;
    std::map<std::string, RateWindow> windows_;

    mutable std::mutex stats_mutex_;
    std::array<PublishViewStats, kViewCount> stats_{};
    ViewPublisherTotals totals_;
};

}  // namespace presenceagg::detail

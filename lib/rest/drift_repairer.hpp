// SPDX-License-Identifier: MIT
#pragma once

// Drift repair: when Ably's occupancy for a channel disagrees with the store for longer than
// occupancy is debounced, fetch the channel's presence and replace the store's picture of it.
// A small sample of channels is also re-verified on a timer.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/ably.hpp>
#include <presenceagg/logging.hpp>
#include <presenceagg/pipeline.hpp>
#include <presenceagg/presence.hpp>
#include <presenceagg/presence_store.hpp>

#include "rest/ably_rest_client.hpp"
#include "rest/rate_limiter.hpp"

namespace presenceagg::detail {

struct DriftRepairStats {
    std::uint64_t resyncs = 0;           ///< successful channel fetches + replace_channel()
    std::uint64_t failures = 0;          ///< failed fetches
    std::uint64_t removed = 0;           ///< members removed by resyncs (ghosts)
    std::uint64_t verified = 0;          ///< channels re-verified by verify_sample()
    std::uint64_t suspect_channels = 0;  ///< channels currently flagged suspect by repair
};

/// Thread-safe: on_occupancy() may be called from the consumer thread while due()/repair()/
/// verify_sample() run on one other thread (they are serialized among themselves).
class DriftRepairer {
public:
    using Clock = std::chrono::steady_clock;

    /// Borrows `store` and `limiter`. Throws Error(HttpTransport) when libcurl handles cannot be
    /// created.
    DriftRepairer(AblyEndpoint ably,
                  DriftRepairConfig config,
                  std::regex filter,
                  PresenceStore& store,
                  RateLimiter& limiter,
                  Logger log);

    /// Remembers the channel's presenceMembers and when it was reported. Channels outside the
    /// filter are ignored; an event older (by Ably timestamp) than the last one is ignored.
    void on_occupancy(const OccupancyMessage& message, Clock::time_point now);

    /// Channels to repair now: occupancy unchanged for occupancy_debounce and its
    /// presenceMembers differs from store.channel_members(). They are marked suspect until
    /// repaired. A channel whose repair did not settle the mismatch waits (doubling, from the
    /// debounce) before it is due again, until a new occupancy value arrives.
    [[nodiscard]] std::vector<std::string> due(Clock::time_point now);

    /// Fetches the channel's complete presence (every page, through the rate limiter) and
    /// replaces the store's members of it. True on success (suspect cleared); false on failure
    /// or stop (suspect set).
    bool repair(std::string_view channel,
                std::stop_token stop,
                Clock::time_point now = Clock::now());

    /// repair() for every due() channel; returns how many succeeded.
    std::size_t repair_due(Clock::time_point now, std::stop_token stop);

    /// Every verify_interval: repairs the next `verify_sample` channels of store.channels(),
    /// round-robin. Returns how many were repaired (0 when not yet time).
    std::size_t verify_sample(Clock::time_point now, std::stop_token stop);

    /// repair_due() then verify_sample().
    std::size_t tick(Clock::time_point now, std::stop_token stop);

    /// Aborts an in-flight fetch (and later ones until reset_cancel()). Any thread.
    void cancel() noexcept { client_.cancel(); }
    void reset_cancel() noexcept { client_.reset_cancel(); }

    [[nodiscard]] DriftRepairStats stats() const;

private:
    struct Occupancy {
        std::int64_t members = 0;
        std::int64_t event_time = 0;   ///< Ably timestamp of the report (0 unknown)
        Clock::time_point reported{};  ///< when the current value arrived
        std::optional<Clock::time_point> last_attempt;
        unsigned misses = 0;  ///< repairs since this value that did not settle it
    };

    [[nodiscard]] bool matches(std::string_view channel) const;
    void set_suspect(const std::string& channel, bool suspect);

    DriftRepairConfig config_;
    std::regex filter_;
    PresenceStore& store_;
    RateLimiter& limiter_;
    Logger log_;

    mutable std::mutex mutex_;
    std::map<std::string, Occupancy, std::less<>> occupancy_;  // guarded by mutex_
    std::set<std::string, std::less<>> suspect_;               // guarded by mutex_
    std::atomic<std::uint64_t> resyncs_{0};
    std::atomic<std::uint64_t> failures_{0};
    std::atomic<std::uint64_t> removed_{0};
    std::atomic<std::uint64_t> verified_{0};

    std::mutex repair_mutex_;                       // one fetch at a time on client_
    AblyRestClient client_;                         // guarded by repair_mutex_
    std::stop_token stop_;                          // guarded by repair_mutex_
    std::optional<Clock::time_point> last_verify_;  // guarded by mutex_
    std::string verify_cursor_;                     // guarded by mutex_
};

}  // namespace presenceagg::detail

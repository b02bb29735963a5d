// SPDX-License-Identifier: MIT
#pragma once

// Bootstrap: enumerate Ably's active channels, keep those in the namespace, fetch their presence
// with batch requests and apply every member to the store.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <regex>
#include <stop_token>
#include <string>
#include <vector>

#include <presenceagg/ably.hpp>
#include <presenceagg/logging.hpp>
#include <presenceagg/pipeline.hpp>
#include <presenceagg/presence_store.hpp>
#include <presenceagg/stats.hpp>

#include "rest/ably_error.hpp"
#include "rest/rate_limiter.hpp"

namespace presenceagg::detail {

class AblyRestClient;
class Backoff;

/// Retry bounds and pacing; the defaults suit production, tests shrink the delays.
struct BootstrapTuning {
    std::size_t max_attempts = 5;                   ///< per channel (batch or per-channel errors)
    std::size_t max_enumeration_restarts = 5;       ///< walks restarted after 40011
    std::size_t max_enumeration_retries = 10;       ///< consecutive failures of one page (42912...)
    std::size_t max_enumeration_pages = 1'000'000;  ///< loop guard
    std::chrono::milliseconds backoff_min{500};
    std::chrono::milliseconds backoff_max{30'000};
    std::chrono::milliseconds progress_interval{5'000};  ///< Info progress log cadence
};

struct BootstrapResult {
    /// Matching channels whose presence could not be fetched; each is marked suspect.
    std::vector<std::string> failed;
    /// False when the walk over GET /channels stopped early (see enumeration_error): the
    /// channels found so far were still fetched.
    bool enumeration_complete = false;
    AblyError enumeration_error;
    bool cancelled = false;  ///< stop was requested before the end
};

/// Thread-compatible: one run() at a time; stats() from any thread.
class Bootstrapper {
public:
    /// Borrows `store` and `limiter` for its lifetime. Throws Error(InvalidConfig) for a zero
    /// channels_per_request, enumeration_page or concurrency.
    Bootstrapper(AblyEndpoint ably,
                 BootstrapConfig config,
                 std::regex filter,
                 PresenceStore& store,
                 RateLimiter& limiter,
                 Logger log,
                 BootstrapTuning tuning = {});
    ~Bootstrapper();
    Bootstrapper(const Bootstrapper&) = delete;
    Bootstrapper& operator=(const Bootstrapper&) = delete;

    /// Enumerates, filters and fetches. Blocks (its fetch threads are owned and joined here);
    /// returns soon after `stop` is requested. On cancel, `failed` lists only channels that had
    /// really failed. Throws Error(HttpTransport) only when libcurl handles cannot be created.
    [[nodiscard]] BootstrapResult run(std::stop_token stop);

    /// Progress so far (`done` once run() finished).
    [[nodiscard]] BootstrapStats stats() const noexcept;

private:
    struct Enumeration {
        std::vector<std::string> matched;
        bool complete = false;
        AblyError error;
    };
    struct Fetch;
    struct Chunk;

    Enumeration enumerate(std::stop_token stop);
    void fetch_worker(Fetch& fetch, AblyRestClient& client, std::stop_token stop);
    void fetch_chunk(
        Fetch& fetch, Chunk& chunk, AblyRestClient& client, Backoff& backoff, std::stop_token stop);
    void retry_or_fail(Fetch& fetch,
                       Chunk chunk,
                       const AblyError& error,
                       bool always_retry,
                       Backoff& backoff,
                       std::stop_token stop);
    std::vector<std::string> fetch(std::vector<std::string> channels, std::stop_token stop);
    bool matches(const std::string& channel) const;
    void log_progress(std::chrono::steady_clock::time_point started, bool fetching) const;

    AblyEndpoint ably_;
    BootstrapConfig config_;
    std::regex filter_;
    PresenceStore& store_;
    RateLimiter& limiter_;
    Logger log_;
    BootstrapTuning tuning_;

    std::atomic<bool> done_{false};
    std::atomic<std::uint64_t> enumerated_{0};
    std::atomic<std::uint64_t> matched_{0};
    std::atomic<std::uint64_t> fetched_{0};
    std::atomic<std::uint64_t> members_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> failures_{0};
};

}  // namespace presenceagg::detail

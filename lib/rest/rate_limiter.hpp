// SPDX-License-Identifier: MIT
#pragma once

// A token bucket shared by everything that calls Ably's REST API for reading (bootstrap and
// drift repair), so together they stay inside one request-rate budget.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace presenceagg::detail {

/// Thread-safe. `acquire` blocks until a token is free or stop is requested.
class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    /// `per_second` > 0 tokens refill per second, up to `burst` >= 1 (the bucket starts full).
    /// Throws Error(InvalidConfig) naming `setting` for a rate that is not positive and finite.
    explicit RateLimiter(double per_second,
                         double burst = 1.0,
                         const char* setting = "bootstrap.requests_per_second");

    /// Takes one token, waiting as long as needed. False (nothing taken) once `stop` is
    /// requested or cancel() was called.
    [[nodiscard]] bool acquire(std::stop_token stop = {});
    /// Takes one token if one is free now.
    [[nodiscard]] bool try_acquire();
    /// Wakes every waiter; they and later acquire() calls return false. Any thread.
    void cancel() noexcept;

    [[nodiscard]] double per_second() const noexcept { return per_second_; }
    [[nodiscard]] double burst() const noexcept { return burst_; }

private:
    void refill(Clock::time_point now);

    const double per_second_;
    const double burst_;
    std::mutex mutex_;
    std::condition_variable_any cv_;
    double tokens_;           // guarded by mutex_
    Clock::time_point last_;  // guarded by mutex_
    bool cancelled_ = false;  // guarded by mutex_
};

/// Sleeps for `duration` unless `stop` is requested first; false when stopped.
[[nodiscard]] bool sleep_for(std::stop_token stop, std::chrono::milliseconds duration);

}  // namespace presenceagg::detail

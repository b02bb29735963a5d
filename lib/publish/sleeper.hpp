// SPDX-License-Identifier: MIT
#pragma once

// Sleeper: the publisher's clock and its only way to wait (rate limit, retry backoff), so that
// stop is prompt and tests run on manual time.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace presenceagg::detail {

/// Thread-safe: cancel()/reset() may be called from any thread while another sleeps.
class Sleeper {
public:
    using Clock = std::chrono::steady_clock;

    virtual ~Sleeper() = default;
    [[nodiscard]] virtual Clock::time_point now() const = 0;
    /// Waits until `deadline`. Returns false at once, or as soon as cancel() is called, while
    /// cancelled (until reset()).
    virtual bool sleep_until(Clock::time_point deadline) = 0;
    virtual void cancel() noexcept = 0;
    virtual void reset() noexcept = 0;
    [[nodiscard]] virtual bool cancelled() const noexcept = 0;
};

/// Real time: steady_clock and a condition variable.
[[nodiscard]] std::unique_ptr<Sleeper> make_steady_sleeper();

/// Manual time for tests: sleep_until() jumps the clock to the deadline (and records the wait);
/// advance() moves it on. Thread-safe.
class ManualSleeper final : public Sleeper {
public:
    explicit ManualSleeper(Clock::time_point start = Clock::time_point{} + std::chrono::hours(1));

    [[nodiscard]] Clock::time_point now() const override;
    bool sleep_until(Clock::time_point deadline) override;
    void cancel() noexcept override;
    void reset() noexcept override;
    [[nodiscard]] bool cancelled() const noexcept override;

    void advance(std::chrono::milliseconds by);
    /// Every wait so far, as (from, until) pairs.
    [[nodiscard]] std::vector<std::pair<Clock::time_point, Clock::time_point>> sleeps() const;

private:
    mutable std::mutex mutex_;
    Clock::time_point now_;
    bool cancelled_ = false;
    std::vector<std::pair<Clock::time_point, Clock::time_point>> sleeps_;
};

}  // namespace presenceagg::detail

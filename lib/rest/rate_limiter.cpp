// SPDX-License-Identifier: MIT
#include "rest/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <presenceagg/error.hpp>

namespace presenceagg::detail {

RateLimiter::RateLimiter(double per_second, double burst, const char* setting)
    : per_second_(per_second),
      burst_(std::max(1.0, burst)),
      tokens_(std::max(1.0, burst)),
      last_(Clock::now()) {
    if (!(per_second > 0.0) || !std::isfinite(per_second)) {
        throw Error(Errc::InvalidConfig,
                    std::string(setting) + " must be a positive number of requests per second");
    }
    if (!std::isfinite(burst)) {
        throw Error(Errc::InvalidConfig, std::string(setting) + ": burst must be finite");
    }
}

void RateLimiter::refill(Clock::time_point now) {
    const std::chrono::duration<double> elapsed = now - last_;
    if (elapsed.count() > 0) {
        tokens_ = std::min(burst_, tokens_ + elapsed.count() * per_second_);
        last_ = now;
    }
}

bool RateLimiter::try_acquire() {
    const std::lock_guard lock(mutex_);
    if (cancelled_) return false;
    refill(Clock::now());
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

bool RateLimiter::acquire(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    while (true) {
        if (cancelled_ || stop.stop_requested()) return false;
        refill(Clock::now());
        if (tokens_ >= 1.0) {
            tokens_ -= 1.0;
            return true;
        }
        const std::chrono::duration<double> missing((1.0 - tokens_) / per_second_);
        const auto wait = std::chrono::ceil<std::chrono::microseconds>(missing);
        // Wakes early on stop or cancel; otherwise when the next token has accrued. Waiters
        // then compete for it under the lock, so no token is handed out twice.
        cv_.wait_for(lock, stop, wait, [this] { return cancelled_; });
    }
}

void RateLimiter::cancel() noexcept {
    {
        const std::lock_guard lock(mutex_);
        cancelled_ = true;
    }
    cv_.notify_all();
}

bool sleep_for(std::stop_token stop, std::chrono::milliseconds duration) {
    if (duration.count() <= 0) return !stop.stop_requested();
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    (void)cv.wait_for(lock, stop, duration, [] { return false; });
    return !stop.stop_requested();
}

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <random>

namespace presenceagg::detail {

/// Capped exponential backoff with jitter: attempt 1 waits about `min`, each further attempt
/// doubles it up to `max`; the result is drawn from [half, full] of that, and never less than a
/// server's Retry-After (itself capped at `max`, so a hostile header cannot stall us for hours).
/// Not thread-safe (owns its random engine): one per thread.
class Backoff {
public:
    Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
        : min_(std::max(min, std::chrono::milliseconds{1})),
          max_(std::max(max, min_)),
          engine_(std::random_device{}()) {}

    [[nodiscard]] std::chrono::milliseconds delay(std::size_t attempt,
                                                  std::chrono::milliseconds retry_after = {}) {
        auto full = min_;
        for (std::size_t i = 1; i < attempt && full < max_; ++i) full *= 2;
        full = std::min(full, max_);
        std::uniform_int_distribution<long long> pick(full.count() / 2, full.count());
        return std::max(std::chrono::milliseconds{pick(engine_)}, std::min(retry_after, max_));
    }

private:
    std::chrono::milliseconds min_;
    std::chrono::milliseconds max_;
    std::minstd_rand engine_;
};

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

/// Jittered exponential backoff between reconnect attempts.

#include <chrono>
#include <cstdint>
#include <random>

namespace presenceagg::detail {

/// Delays double from `min` up to `max`; each is drawn uniformly from [max(min, d/2), d], so
/// many clients dropped together do not return together. Not thread-safe.
class ReconnectBackoff {
public:
    ReconnectBackoff(std::chrono::milliseconds min,
                     std::chrono::milliseconds max,
                     std::uint64_t seed);

    /// The delay before the next attempt; advances the exponent.
    [[nodiscard]] std::chrono::milliseconds next();
    /// Back to `min` after a connection that worked.
    void reset() noexcept { attempt_ = 0; }
    [[nodiscard]] unsigned attempt() const noexcept { return attempt_; }

private:
    std::chrono::milliseconds min_;
    std::chrono::milliseconds max_;
    unsigned attempt_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace presenceagg::detail

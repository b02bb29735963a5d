// SPDX-License-Identifier: MIT
#include "amqp/reconnect_backoff.hpp"

#include <algorithm>

namespace presenceagg::detail {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds min,
                                   std::chrono::milliseconds max,
                                   std::uint64_t seed)
    : min_(std::max(min, std::chrono::milliseconds(1))),
      max_(std::max(max, min_)),
      rng_(seed) {}

std::chrono::milliseconds ReconnectBackoff::next() {
    // min * 2^attempt, saturating at max without overflowing.
    const unsigned shift = std::min(attempt_, 62U);
    const std::int64_t ceiling_count = min_.count() > (max_.count() >> shift)
                                           ? max_.count()
                                           : min_.count() * (std::int64_t{1} << shift);
    const std::int64_t floor_count = std::max<std::int64_t>(min_.count(), ceiling_count / 2);
    if (attempt_ < 64) ++attempt_;
    std::uniform_int_distribution<std::int64_t> pick(floor_count, ceiling_count);
    return std::chrono::milliseconds(pick(rng_));
}

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#include "rest/rate_limiter.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>

using namespace std::chrono_literals;
using presenceagg::detail::RateLimiter;

TEST_SUITE("RateLimiter") {
    TEST_CASE("the bucket starts full and then refuses until tokens accrue") {
        RateLimiter limiter(0.001, 3);  // effectively no refill during the test
        CHECK(limiter.try_acquire());
        CHECK(limiter.try_acquire());
        CHECK(limiter.try_acquire());
        CHECK_FALSE(limiter.try_acquire());
    }

    TEST_CASE("shared acquirers stay within the budget over a window") {
        // 50 requests/s with a burst of 5, 4 threads taking 60 tokens in total. A token bucket
        // can never hand out more than burst + rate * elapsed: check that bound (generous in
        // the direction a slow machine errs) rather than exact timings.
        constexpr double kRate = 50.0;
        constexpr double kBurst = 5.0;
        constexpr int kTotal = 60;
        RateLimiter limiter(kRate, kBurst);
        std::mutex m;
        std::vector<std::chrono::steady_clock::time_point> grants;
        const auto start = std::chrono::steady_clock::now();
        {
            std::vector<std::jthread> threads;
            for (int t = 0; t < 4; ++t) {
                threads.emplace_back([&] {
                    for (int i = 0; i < kTotal / 4; ++i) {
                        CHECK(limiter.acquire());
                        const std::lock_guard lock(m);
                        grants.push_back(std::chrono::steady_clock::now());
                    }
                });
            }
        }
        REQUIRE(grants.size() == static_cast<std::size_t>(kTotal));
        std::sort(grants.begin(), grants.end());
        const std::chrono::duration<double> total = grants.back() - start;
        CHECK(total.count() >= (kTotal - kBurst) / kRate * 0.95);
        // Any 500 ms window holds at most burst + rate * 0.5 grants (+1 for edge rounding).
        for (std::size_t i = 0; i < grants.size(); ++i) {
            const auto end = grants[i] + 500ms;
            const auto in_window = std::upper_bound(grants.begin(), grants.end(), end) -
                                   grants.begin() - static_cast<std::ptrdiff_t>(i);
            CHECK(in_window <= static_cast<std::ptrdiff_t>(kBurst + kRate * 0.5 + 1));
        }
    }

    TEST_CASE("a waiter returns false as soon as stop is requested") {
        RateLimiter limiter(0.001, 1);
        REQUIRE(limiter.try_acquire());
        std::stop_source stop;
        auto waiter =
            std::async(std::launch::async, [&] { return limiter.acquire(stop.get_token()); });
        CHECK(waiter.wait_for(50ms) == std::future_status::timeout);  // it is really waiting
        stop.request_stop();
        REQUIRE(waiter.wait_for(10s) == std::future_status::ready);
        CHECK_FALSE(waiter.get());
    }

    TEST_CASE("cancel wakes every waiter and refuses later acquires") {
        RateLimiter limiter(0.001, 1);
        REQUIRE(limiter.try_acquire());
        auto a = std::async(std::launch::async, [&] { return limiter.acquire(); });
        auto b = std::async(std::launch::async, [&] { return limiter.acquire(); });
        limiter.cancel();
        REQUIRE(a.wait_for(10s) == std::future_status::ready);
        REQUIRE(b.wait_for(10s) == std::future_status::ready);
        CHECK_FALSE(a.get());
        CHECK_FALSE(b.get());
        CHECK_FALSE(limiter.acquire());
    }

    TEST_CASE("a rate that is not positive is a configuration error naming the setting") {
        CHECK_THROWS_WITH_AS(RateLimiter(0.0, 1, "bootstrap.requests_per_second"),
                             doctest::Contains("bootstrap.requests_per_second"),
                             presenceagg::Error);
        CHECK_THROWS_AS(RateLimiter(-1.0), presenceagg::Error);
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const double inf = std::numeric_limits<double>::infinity();
        CHECK_THROWS_AS(RateLimiter{nan}, presenceagg::Error);
        CHECK_THROWS_AS(RateLimiter{inf}, presenceagg::Error);
    }

    TEST_CASE("sleep_for returns early and false on stop") {
        std::stop_source stop;
        stop.request_stop();
        CHECK_FALSE(presenceagg::detail::sleep_for(stop.get_token(), 1h));
        CHECK(presenceagg::detail::sleep_for({}, 1ms));
    }
}

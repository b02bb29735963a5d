// SPDX-License-Identifier: MIT
#include "amqp/reconnect_backoff.hpp"

#include <chrono>

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using presenceagg::detail::ReconnectBackoff;

TEST_SUITE("ReconnectBackoff") {
    TEST_CASE("delays double within jitter bounds and stop at the maximum") {
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            CAPTURE(seed);
            ReconnectBackoff backoff(500ms, 30s, seed);
            auto ceiling = 500ms;
            for (int i = 0; i < 20; ++i) {
                const auto delay = backoff.next();
                const auto floor = std::max<std::chrono::milliseconds>(500ms, ceiling / 2);
                CHECK(delay >= floor);
                CHECK(delay <= ceiling);
                ceiling = std::min<std::chrono::milliseconds>(ceiling * 2, 30s);
            }
        }
    }

    TEST_CASE("the delays are jittered") {
        ReconnectBackoff a(1000ms, 60s, 1);
        ReconnectBackoff b(1000ms, 60s, 2);
        bool differ = false;
        for (int i = 0; i < 8; ++i) differ = differ || a.next() != b.next();
        CHECK(differ);
    }

    TEST_CASE("reset returns to the minimum") {
        ReconnectBackoff backoff(100ms, 10s, 7);
        for (int i = 0; i < 10; ++i) (void)backoff.next();
        CHECK(backoff.next() >= 5s);
        backoff.reset();
        CHECK(backoff.attempt() == 0);
        CHECK(backoff.next() == 100ms);
    }

    TEST_CASE("huge bounds do not overflow") {
        ReconnectBackoff backoff(std::chrono::milliseconds(1LL << 40),
                                 std::chrono::milliseconds(1LL << 50), 3);
        for (int i = 0; i < 100; ++i) {
            const auto delay = backoff.next();
            CHECK(delay >= std::chrono::milliseconds(1LL << 40));
            CHECK(delay <= std::chrono::milliseconds(1LL << 50));
        }
    }
}

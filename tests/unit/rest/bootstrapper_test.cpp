// SPDX-License-Identifier: MIT
#include "rest/bootstrapper.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>
#include <presenceagg/presence_store.hpp>

#include "fake_ably.hpp"

using namespace std::chrono_literals;
using presenceagg::BootstrapConfig;
using presenceagg::Errc;
using presenceagg::detail::Bootstrapper;
using presenceagg::detail::BootstrapTuning;
using presenceagg::detail::RateLimiter;
using presenceagg::test::FakeAbly;
using presenceagg::test::member_json;

namespace {

BootstrapTuning fast_tuning() {
    BootstrapTuning t;
    t.max_attempts = 3;
    t.backoff_min = 1ms;
    t.backoff_max = 20ms;
    t.progress_interval = 50ms;
    return t;
}

BootstrapConfig config(std::size_t per_request, std::size_t concurrency) {
    BootstrapConfig c;
    c.channels_per_request = per_request;
    c.concurrency = concurrency;
    c.enumeration_page = 3;
    c.requests_per_second = 1000;
    return c;
}

}  // namespace

TEST_SUITE("Bootstrapper") {
    TEST_CASE(
        "bootstrap walks every page through a restart, a backoff, short pages and duplicates") {
        FakeAbly ably;
        ably.pages = {{"presence:1", "presence:2", "other:x"},
                      {},  // empty page that still links on
                      {"presence:2", "presence:3"},
                      {"presence:4"},
                      {"presence:5", "presence:1"}};
        ably.page_errors[0] = {{429, 42912}};  // an enumeration already in flight: back off
        ably.page_errors[3] = {{400, 40011}};  // cursor invalidated: restart from scratch
        ably.members["presence:1"] = {member_json("alice", "c1"), member_json("bob", "c2")};
        ably.members["presence:2"] = {member_json("carol", "c3")};
        ably.members["presence:4"] = {member_json("dave", "c4")};
        ably.members["presence:5"] = {member_json("erin", "c5"), member_json("frank", "c6")};

        auto store = presenceagg::make_memory_presence_store();
        RateLimiter limiter(1000, 10);
        Bootstrapper boot(ably.endpoint(), config(2, 3), std::regex("^presence:"), *store, limiter,
                          {}, fast_tuning());
        const auto result = boot.run({});

        CHECK(result.enumeration_complete);
        CHECK_FALSE(result.cancelled);
        CHECK(result.failed.empty());
        CHECK(store->channel_members("presence:1") == 2);
        CHECK(store->channel_members("presence:2") == 1);
        CHECK(store->channel_members("presence:3") == 0);
        CHECK(store->channel_members("presence:4") == 1);
        CHECK(store->channel_members("presence:5") == 2);
        CHECK(store->counts().members == 6);

        const auto pages = ably.page_requests();
        // 0 (42912), 0, 1, 2, 3 (40011), then the whole walk again: 0, 1, 2, 3, 4.
        CHECK(pages == std::vector<std::size_t>{0, 0, 1, 2, 3, 0, 1, 2, 3, 4});

        std::multiset<std::string> asked;
        for (const auto& batch : ably.batches()) {
            CHECK(batch.size() <= 2);
            asked.insert(batch.begin(), batch.end());
        }
        CHECK(asked == std::multiset<std::string>{"presence:1", "presence:2", "presence:3",
                                                  "presence:4", "presence:5"});

        const auto s = boot.stats();
        CHECK(s.done);
        CHECK(s.channels_enumerated == 6);
        CHECK(s.channels_matched == 5);
        CHECK(s.channels_fetched == 5);
        CHECK(s.members_fetched == 6);
        CHECK(s.failures == 2);
        CHECK(s.requests == pages.size() + ably.batches().size());
    }

    TEST_CASE("a 90010 answer halves the chunk until Ably accepts it") {
        FakeAbly ably;
        ably.pages = {{"presence:a", "presence:b", "presence:c"},
                      {"presence:d", "presence:e", "presence:f"},
                      {"presence:g", "presence:h"}};
        ably.batch_cap = 2;
        for (const char* c : {"presence:a", "presence:d", "presence:h"}) {
            ably.members[c] = {member_json(std::string("m-") + c, "conn")};
        }
        auto store = presenceagg::make_memory_presence_store();
        RateLimiter limiter(1000, 10);
        Bootstrapper boot(ably.endpoint(), config(8, 1), std::regex("^presence:"), *store, limiter,
                          {}, fast_tuning());
        const auto result = boot.run({});
        CHECK(result.failed.empty());
        CHECK(store->counts().members == 3);
        const auto batches = ably.batches();
        REQUIRE(batches.size() >= 3);
        CHECK(batches[0].size() == 8);
        CHECK(batches[1].size() == 4);
        std::set<std::string> fetched;
        for (std::size_t i = 2; i < batches.size(); ++i) {
            CHECK(batches[i].size() <= 2);
            fetched.insert(batches[i].begin(), batches[i].end());
        }
        CHECK(fetched.size() == 8);
        CHECK(boot.stats().channels_fetched == 8);
    }

    TEST_CASE("per-channel and whole-request errors are retried, then reported suspect") {
        FakeAbly ably;
        ably.pages = {{"presence:ok", "presence:flaky", "presence:dead"}};
        ably.members["presence:ok"] = {member_json("a", "c1")};
        ably.members["presence:flaky"] = {member_json("b", "c2")};
        ably.members["presence:dead"] = {member_json("c", "c3")};
        ably.channel_failures["presence:flaky"] = 2;  // succeeds on the third attempt
        ably.channel_failures["presence:dead"] = -1;  // never succeeds
        ably.batch_failures = 1;                      // the first batch is a 500
        auto store = presenceagg::make_memory_presence_store();
        // The dead channel's member arrives from the queue meanwhile; it must stay.
        presenceagg::PresenceMessage queued;
        queued.channel = "presence:dead";
        queued.id = "q1:0:0";
        queued.client_id = "z";
        queued.connection_id = "q1";
        queued.action = presenceagg::PresenceAction::Enter;
        queued.timestamp = 1700000000000;
        REQUIRE(store->apply(queued) == presenceagg::ApplyOutcome::Applied);

        RateLimiter limiter(1000, 10);
        auto tuning = fast_tuning();
        tuning.max_attempts = 4;
        Bootstrapper boot(ably.endpoint(), config(3, 2), std::regex("^presence:"), *store, limiter,
                          {}, tuning);
        const auto result = boot.run({});
        CHECK(result.failed == std::vector<std::string>{"presence:dead"});
        CHECK(store->channel_members("presence:ok") == 1);
        CHECK(store->channel_members("presence:flaky") == 1);
        CHECK(store->channel_members("presence:dead") == 1);
        CHECK(presenceagg::test::is_suspect(*store, "presence:dead"));
        CHECK_FALSE(presenceagg::test::is_suspect(*store, "presence:flaky"));
        std::size_t dead_asked = 0;
        for (const auto& b : ably.batches()) {
            dead_asked += static_cast<std::size_t>(std::count(b.begin(), b.end(), "presence:dead"));
        }
        CHECK(dead_asked == 4);  // max_attempts tries in all, the 500 included
        CHECK(boot.stats().channels_fetched == 2);
    }

    TEST_CASE("channels with commas in their names are fetched one by one") {
        FakeAbly ably;
        ably.pages = {{"presence:a,b", "presence:c"}};
        ably.members["presence:a,b"] = {member_json("x", "c1")};
        ably.members["presence:c"] = {member_json("y", "c2")};
        auto store = presenceagg::make_memory_presence_store();
        RateLimiter limiter(1000, 10);
        Bootstrapper boot(ably.endpoint(), config(10, 2), std::regex("^presence:"), *store, limiter,
                          {}, fast_tuning());
        const auto result = boot.run({});
        CHECK(result.failed.empty());
        CHECK(ably.single_fetches() == std::vector<std::string>{"presence:a,b"});
        for (const auto& b : ably.batches()) CHECK(b == std::vector<std::string>{"presence:c"});
        CHECK(store->channel_members("presence:a,b") == 1);
        CHECK(store->channel_members("presence:c") == 1);
    }

    TEST_CASE("every request goes through the shared rate budget") {
        FakeAbly ably;
        std::vector<std::string> names;
        for (int i = 0; i < 30; ++i) names.push_back("presence:" + std::to_string(i));
        ably.pages = {names};
        auto store = presenceagg::make_memory_presence_store();
        constexpr double kRate = 20.0;
        RateLimiter limiter(kRate, 1);
        auto c = config(1, 4);
        c.enumeration_page = 100;
        Bootstrapper boot(ably.endpoint(), c, std::regex("^presence:"), *store, limiter, {},
                          fast_tuning());
        const auto result = boot.run({});
        CHECK(result.failed.empty());
        auto reqs = ably.server().requests();
        REQUIRE(reqs.size() == 31);
        std::vector<std::chrono::steady_clock::time_point> times;
        for (const auto& r : reqs) times.push_back(r.at);
        std::sort(times.begin(), times.end());
        // Token bucket bound: burst + rate * window, plus slack for request-arrival jitter.
        for (std::size_t i = 0; i < times.size(); ++i) {
            const auto in_window = std::upper_bound(times.begin(), times.end(), times[i] + 500ms) -
                                   times.begin() - static_cast<std::ptrdiff_t>(i);
            CHECK(in_window <= static_cast<std::ptrdiff_t>(1 + kRate * 0.5 + 3));
        }
        CHECK(times.back() - times.front() >= 1s);  // 30 tokens beyond the burst at 20/s: 1.5 s
    }

    TEST_CASE("stop ends a bootstrap promptly") {
        FakeAbly ably;
        ably.pages = {{"presence:a", "presence:b"}};
        ably.hold_batches = true;
        auto store = presenceagg::make_memory_presence_store();
        RateLimiter limiter(1000, 10);
        Bootstrapper boot(ably.endpoint(), config(1, 2), std::regex("^presence:"), *store, limiter,
                          {}, fast_tuning());
        std::stop_source stop;
        auto running = std::async(std::launch::async, [&] { return boot.run(stop.get_token()); });
        REQUIRE(ably.server().wait_for_requests(2));  // the enumeration and a held batch
        stop.request_stop();
        REQUIRE(running.wait_for(10s) == std::future_status::ready);
        const auto result = running.get();
        CHECK(result.cancelled);
        CHECK(result.failed.empty());
        CHECK(boot.stats().done);
        ably.server().release();
    }

    TEST_CASE("an unauthorized enumeration ends with the error and fetches nothing") {
        FakeAbly ably;
        ably.pages = {{"presence:a"}};
        ably.page_errors[0] = {{401, 40160}};
        auto store = presenceagg::make_memory_presence_store();
        RateLimiter limiter(1000, 10);
        Bootstrapper boot(ably.endpoint(), config(1, 2), std::regex("^presence:"), *store, limiter,
                          {}, fast_tuning());
        const auto result = boot.run({});
        CHECK_FALSE(result.enumeration_complete);
        CHECK(result.enumeration_error.error == Errc::AblyUnauthorized);
        CHECK(result.enumeration_error.code == 40160);
        CHECK(ably.batches().empty());
    }

    TEST_CASE("zero-sized settings are refused naming the setting") {
        FakeAbly ably;
        auto store = presenceagg::make_memory_presence_store();
        RateLimiter limiter(1000, 10);
        auto c = config(0, 1);
        CHECK_THROWS_WITH_AS(Bootstrapper(ably.endpoint(), c, std::regex("."), *store, limiter, {}),
                             doctest::Contains("bootstrap.channels_per_request"),
                             presenceagg::Error);
        c = config(1, 0);
        CHECK_THROWS_WITH_AS(Bootstrapper(ably.endpoint(), c, std::regex("."), *store, limiter, {}),
                             doctest::Contains("bootstrap.concurrency"), presenceagg::Error);
    }
}

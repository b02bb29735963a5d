// SPDX-License-Identifier: MIT
#include "rest/drift_repairer.hpp"

#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/presence_store.hpp>

#include "fake_ably.hpp"

using namespace std::chrono_literals;
using presenceagg::DriftRepairConfig;
using presenceagg::OccupancyMessage;
using presenceagg::PresenceAction;
using presenceagg::PresenceMessage;
using presenceagg::detail::DriftRepairer;
using presenceagg::detail::RateLimiter;
using presenceagg::test::FakeAbly;
using presenceagg::test::is_suspect;
using presenceagg::test::member_json;

namespace {

PresenceMessage member(const std::string& channel,
                       const std::string& client,
                       const std::string& conn,
                       int serial = 0) {
    PresenceMessage m;
    m.channel = channel;
    m.client_id = client;
    m.connection_id = conn;
    m.id = conn + ":" + std::to_string(serial) + ":0";
    m.action = PresenceAction::Enter;
    m.timestamp = 1700000000000 + serial;
    return m;
}

OccupancyMessage occupancy(const std::string& channel, std::int64_t members, std::int64_t ts = 0) {
    OccupancyMessage o;
    o.channel = channel;
    o.timestamp = ts;
    o.metrics.presence_members = members;
    return o;
}

DriftRepairConfig repair_config() {
    DriftRepairConfig c;
    c.occupancy_debounce = 15s;
    c.verify_interval = 60s;
    c.verify_sample = 2;
    return c;
}

const std::string kRoom = "presence:room";

}  // namespace

TEST_SUITE("DriftRepairer") {
    TEST_CASE(
        "a mismatch is due only after the debounce, and repair removes the ghost but keeps "
        "a member applied during the fetch") {
        FakeAbly ably;
        auto store = presenceagg::make_memory_presence_store();
        REQUIRE(store->apply(member(kRoom, "alice", "c1")) == presenceagg::ApplyOutcome::Applied);
        REQUIRE(store->apply(member(kRoom, "ghost", "g1")) == presenceagg::ApplyOutcome::Applied);
        ably.members[kRoom] = {member_json("alice", "c1")};
        // A queue event lands while the fetch is in flight: it is newer than the answer.
        ably.before_presence = [&store](const std::string&) {
            (void)store->apply(member(kRoom, "bob", "c2", 1));
        };
        RateLimiter limiter(1000, 10);
        DriftRepairer repairer(ably.endpoint(), repair_config(), std::regex("^presence:"), *store,
                               limiter, {});
        const auto t0 = DriftRepairer::Clock::time_point{} + 1h;
        repairer.on_occupancy(occupancy(kRoom, 1), t0);
        CHECK(repairer.due(t0 + 5s).empty());
        CHECK_FALSE(is_suspect(*store, kRoom));

        const auto due = repairer.due(t0 + 16s);
        REQUIRE(due == std::vector<std::string>{kRoom});
        CHECK(is_suspect(*store, kRoom));

        CHECK(repairer.repair(kRoom, {}, t0 + 16s));
        CHECK(store->channel_members(kRoom) == 2);  // alice (listed) and bob (newer); no ghost
        CHECK_FALSE(is_suspect(*store, kRoom));
        const auto s = repairer.stats();
        CHECK(s.resyncs == 1);
        CHECK(s.removed == 1);
        CHECK(s.failures == 0);
        CHECK(ably.single_fetches() == std::vector<std::string>{kRoom});
    }

    TEST_CASE("repair follows every page of the channel's presence") {
        FakeAbly ably;
        ably.presence_page_size = 2;
        for (int i = 0; i < 5; ++i) {
            ably.members[kRoom].push_back(
                member_json("m" + std::to_string(i), "c" + std::to_string(i)));
        }
        auto store = presenceagg::make_memory_presence_store();
        RateLimiter limiter(1000, 10);
        DriftRepairer repairer(ably.endpoint(), repair_config(), std::regex("^presence:"), *store,
                               limiter, {});
        CHECK(repairer.repair(kRoom, {}));
        CHECK(store->channel_members(kRoom) == 5);
        CHECK(ably.single_fetches().size() == 3);
    }

    TEST_CASE("a failed fetch marks the channel suspect and is counted") {
        FakeAbly ably;
        ably.channel_failures[kRoom] = -1;
        auto store = presenceagg::make_memory_presence_store();
        REQUIRE(store->apply(member(kRoom, "alice", "c1")) == presenceagg::ApplyOutcome::Applied);
        RateLimiter limiter(1000, 10);
        DriftRepairer repairer(ably.endpoint(), repair_config(), std::regex("^presence:"), *store,
                               limiter, {});
        CHECK_FALSE(repairer.repair(kRoom, {}));
        CHECK(is_suspect(*store, kRoom));
        CHECK(store->channel_members(kRoom) == 1);  // nothing removed on failure
        CHECK(repairer.stats().failures == 1);
        CHECK(repairer.stats().suspect_channels == 1);
    }

    TEST_CASE("occupancy rules: filter, zero occupancy, late reports, settled counts") {
        FakeAbly ably;
        auto store = presenceagg::make_memory_presence_store();
        REQUIRE(store->apply(member(kRoom, "alice", "c1")) == presenceagg::ApplyOutcome::Applied);
        RateLimiter limiter(1000, 10);
        DriftRepairer repairer(ably.endpoint(), repair_config(), std::regex("^presence:"), *store,
                               limiter, {});
        const auto t0 = DriftRepairer::Clock::time_point{} + 1h;

        SUBCASE("channels outside the namespace are ignored") {
            repairer.on_occupancy(occupancy("other:x", 3), t0);
            CHECK(repairer.due(t0 + 1h).empty());
        }
        SUBCASE("a store channel whose occupancy says 0 is due") {
            repairer.on_occupancy(occupancy(kRoom, 0), t0);
            CHECK(repairer.due(t0 + 16s) == std::vector<std::string>{kRoom});
        }
        SUBCASE("a matching count is not due") {
            repairer.on_occupancy(occupancy(kRoom, 1), t0);
            CHECK(repairer.due(t0 + 16s).empty());
        }
        SUBCASE("a change restarts the debounce") {
            repairer.on_occupancy(occupancy(kRoom, 4, 1000), t0);
            repairer.on_occupancy(occupancy(kRoom, 3, 2000), t0 + 10s);
            CHECK(repairer.due(t0 + 16s).empty());
            CHECK(repairer.due(t0 + 26s) == std::vector<std::string>{kRoom});
        }
        SUBCASE("an older report arriving late is ignored") {
            repairer.on_occupancy(occupancy(kRoom, 1, 2000), t0);
            repairer.on_occupancy(occupancy(kRoom, 7, 1000), t0 + 1s);
            CHECK(repairer.due(t0 + 1h).empty());
        }
        SUBCASE("a mismatch that resolves by itself clears the suspect flag") {
            repairer.on_occupancy(occupancy(kRoom, 2), t0);
            REQUIRE(repairer.due(t0 + 16s).size() == 1);
            CHECK(is_suspect(*store, kRoom));
            REQUIRE(store->apply(member(kRoom, "bob", "c2")) == presenceagg::ApplyOutcome::Applied);
            CHECK(repairer.due(t0 + 17s).empty());
            CHECK_FALSE(is_suspect(*store, kRoom));
        }
        SUBCASE("a repair that does not settle the mismatch backs off") {
            ably.members[kRoom] = {member_json("alice", "c1")};
            repairer.on_occupancy(occupancy(kRoom, 2), t0);
            CHECK(repairer.repair_due(t0 + 16s, {}) == 1);
            CHECK(repairer.due(t0 + 20s).empty());  // waits 2 x debounce
            CHECK(repairer.due(t0 + 47s) == std::vector<std::string>{kRoom});
        }
    }

    TEST_CASE("verify_sample walks the store's channels round-robin every interval") {
        FakeAbly ably;
        auto store = presenceagg::make_memory_presence_store();
        for (int i = 1; i <= 5; ++i) {
            const auto ch = "presence:c" + std::to_string(i);
            REQUIRE(store->apply(member(ch, "u", "k" + std::to_string(i))) ==
                    presenceagg::ApplyOutcome::Applied);
            ably.members[ch] = {member_json("u", "k" + std::to_string(i))};
        }
        RateLimiter limiter(1000, 10);
        DriftRepairer repairer(ably.endpoint(), repair_config(), std::regex("^presence:"), *store,
                               limiter, {});
        const auto t0 = DriftRepairer::Clock::time_point{} + 1h;
        CHECK(repairer.verify_sample(t0, {}) == 2);
        CHECK(repairer.verify_sample(t0 + 10s, {}) == 0);  // not yet time
        CHECK(repairer.verify_sample(t0 + 60s, {}) == 2);
        CHECK(repairer.verify_sample(t0 + 120s, {}) == 2);
        CHECK(ably.single_fetches() == std::vector<std::string>{"presence:c1", "presence:c2",
                                                                "presence:c3", "presence:c4",
                                                                "presence:c5", "presence:c1"});
        CHECK(store->counts().members == 5);
        CHECK(repairer.stats().verified == 6);
    }

    TEST_CASE("a stop request abandons the repair") {
        FakeAbly ably;
        auto store = presenceagg::make_memory_presence_store();
        RateLimiter limiter(1000, 10);
        DriftRepairer repairer(ably.endpoint(), repair_config(), std::regex("^presence:"), *store,
                               limiter, {});
        std::stop_source stop;
        stop.request_stop();
        CHECK_FALSE(repairer.repair(kRoom, stop.get_token()));
        CHECK(ably.single_fetches().empty());
        CHECK(repairer.stats().failures == 0);
    }
}

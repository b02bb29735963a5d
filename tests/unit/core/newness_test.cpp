// SPDX-License-Identifier: MIT
// RTP2b newness, as a table of named cases: each case applies its steps to a fresh store and
// checks every outcome and the final state of member (lobby, u1, c1).

#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/presence_store.hpp>

#include "core/message_version.hpp"
#include "store_test_support.hpp"

namespace {

using presenceagg::ApplyOutcome;
using presenceagg::PresenceAction;
using presenceagg::PresenceMessage;
using presenceagg::detail::is_newer;
using presenceagg::detail::parse_message_version;
using presenceagg::test::msg;

constexpr auto kEnter = PresenceAction::Enter;
constexpr auto kUpdate = PresenceAction::Update;
constexpr auto kPresent = PresenceAction::Present;
constexpr auto kLeave = PresenceAction::Leave;
constexpr auto kAbsent = PresenceAction::Absent;
constexpr auto kApplied = ApplyOutcome::Applied;
constexpr auto kDuplicate = ApplyOutcome::Duplicate;
constexpr auto kStale = ApplyOutcome::Stale;

// A message for the member under test.
PresenceMessage m1(std::string_view id, PresenceAction action, std::int64_t ts) {
    return msg("lobby", "u1", "c1", id, action, ts, "{\"v\":\"" + std::string(id) + "\"}");
}

struct Step {
    PresenceMessage message;
    ApplyOutcome expected;
};

struct Case {
    std::string name;
    std::vector<Step> steps;
    std::optional<std::string> final_id;  // the present member's id, nullopt when absent
};

std::optional<std::string> present_id(const presenceagg::PresenceStore& store) {
    for (const auto& leaf : presenceagg::test::leaves(store, presenceagg::View::ByChannel)) {
        if (leaf.path[0] == "lobby" && leaf.path[1] == "u1" && leaf.path[2] == "c1") {
            const auto pos = leaf.json.find("\"id\":\"");
            if (pos == std::string::npos) return std::string("<no id>");
            const auto end = leaf.json.find('"', pos + 6);
            return leaf.json.substr(pos + 6, end - pos - 6);
        }
    }
    return std::nullopt;
}

}  // namespace

TEST_SUITE("RTP2b newness") {
    TEST_CASE("message ids parse into msgSerial and index only for the member's connection") {
        struct Row {
            const char* id;
            const char* connection;
            bool ordered;
            std::uint64_t serial;
            std::uint64_t index;
        };
        const Row rows[] = {
            {"c1:5:0", "c1", true, 5, 0},
            {"c1:0:12", "c1", true, 0, 12},
            {"c1:007:01", "c1", true, 7, 1},
            {"a:b:3:4", "a:b", true, 3, 4},  // connectionId containing ':'
            {"c1:18446744073709551615:0", "c1", true, 18446744073709551615ULL, 0},
            {"c1:18446744073709551616:0", "c1", false, 0, 0},  // overflow
            {"c2:5:0", "c1", false, 0, 0},                     // synthesized: other prefix
            {"c10:5:0", "c1", false, 0, 0},                    // prefix, but no ':' after it
            {"c1:5", "c1", false, 0, 0},
            {"c1:5:0:1", "c1", false, 0, 0},
            {"c1:x:0", "c1", false, 0, 0},
            {"c1::0", "c1", false, 0, 0},
            {"c1:5:", "c1", false, 0, 0},
            {"c1:-5:0", "c1", false, 0, 0},
            {"c1:+5:0", "c1", false, 0, 0},
            {"", "c1", false, 0, 0},
            {"c1", "c1", false, 0, 0},
        };
        for (const Row& r : rows) {
            CAPTURE(r.id);
            CAPTURE(r.connection);
            const auto v = parse_message_version(r.id, r.connection, 42);
            CHECK(v.ordered == r.ordered);
            CHECK(v.timestamp == 42);
            if (r.ordered) {
                CHECK(v.serial == r.serial);
                CHECK(v.index == r.index);
            }
        }
    }

    TEST_CASE("is_newer compares serials strictly and timestamps with ties to the newcomer") {
        const auto v = [](const char* id, std::int64_t ts) {
            return parse_message_version(id, "c1", ts);
        };
        CHECK(is_newer(v("c1:6:0", 1), v("c1:5:9", 2)));
        CHECK_FALSE(is_newer(v("c1:5:9", 2), v("c1:6:0", 1)));
        CHECK(is_newer(v("c1:5:1", 1), v("c1:5:0", 1)));
        CHECK_FALSE(is_newer(v("c1:5:0", 1), v("c1:5:0", 1)));  // same version: not newer
        CHECK(is_newer(v("x:1:0", 5), v("c1:9:0", 5)));         // synthesized, tie
        CHECK(is_newer(v("c1:1:0", 5), v("x:1:0", 5)));         // against synthesized, tie
        CHECK_FALSE(is_newer(v("x:1:0", 4), v("c1:9:0", 5)));
    }

    TEST_CASE("each RTP2b rule, as named cases applied to a store") {
        const std::vector<Case> cases = {
            {"higher msgSerial is newer",
             {{m1("c1:5:0", kEnter, 1000), kApplied}, {m1("c1:6:0", kUpdate, 900), kApplied}},
             "c1:6:0"},
            {"lower msgSerial is stale even with a later timestamp",
             {{m1("c1:6:0", kEnter, 1000), kApplied}, {m1("c1:5:9", kUpdate, 2000), kStale}},
             "c1:6:0"},
            {"msgSerial compares numerically, not as text",
             {{m1("c1:9:0", kEnter, 1000), kApplied}, {m1("c1:10:0", kUpdate, 1000), kApplied}},
             "c1:10:0"},
            {"same msgSerial, higher index is newer",
             {{m1("c1:5:0", kEnter, 1000), kApplied}, {m1("c1:5:1", kUpdate, 1000), kApplied}},
             "c1:5:1"},
            {"same msgSerial, lower index is stale",
             {{m1("c1:5:2", kEnter, 1000), kApplied}, {m1("c1:5:1", kUpdate, 1000), kStale}},
             "c1:5:2"},
            {"the same msgSerial and index under a different spelling is not newer",
             {{m1("c1:5:0", kEnter, 1000), kApplied}, {m1("c1:05:0", kUpdate, 2000), kStale}},
             "c1:5:0"},
            {"equal ids are duplicates whatever the action",
             {{m1("c1:5:0", kEnter, 1000), kApplied}, {m1("c1:5:0", kLeave, 1000), kDuplicate}},
             "c1:5:0"},
            {"equal ids of a tombstone are duplicates",
             {{m1("c1:5:0", kEnter, 1000), kApplied},
              {m1("c1:6:0", kLeave, 1000), kApplied},
              {m1("c1:6:0", kLeave, 1000), kDuplicate}},
             std::nullopt},
            {"synthesized leave with a newer timestamp removes the member",
             {{m1("c1:5:0", kEnter, 1000), kApplied}, {m1("synth:1:0", kLeave, 2000), kApplied}},
             std::nullopt},
            {"synthesized leave with an older timestamp is stale",
             {{m1("c1:5:0", kEnter, 1000), kApplied}, {m1("synth:1:0", kLeave, 999), kStale}},
             "c1:5:0"},
            {"synthesized leave with an equal timestamp wins (ties go to the incoming)",
             {{m1("c1:5:0", kEnter, 1000), kApplied}, {m1("synth:1:0", kLeave, 1000), kApplied}},
             std::nullopt},
            {"an ordered enter after a synthesized leave is compared by timestamp",
             {{m1("synth:1:0", kLeave, 2000), kApplied},
              {m1("c1:9:0", kEnter, 1999), kStale},
              {m1("c1:9:1", kEnter, 2000), kApplied}},
             "c1:9:1"},
            {"both synthesized: later timestamp wins, equal goes to the incoming",
             {{m1("s:1:0", kPresent, 1000), kApplied},
              {m1("s:2:0", kLeave, 999), kStale},
              {m1("s:3:0", kLeave, 1000), kApplied},
              {m1("s:4:0", kEnter, 1001), kApplied}},
             "s:4:0"},
            {"an unparsable id is compared by timestamp",
             {{m1("c1:5:0", kEnter, 1000), kApplied},
              {m1("c1:x:0", kUpdate, 999), kStale},
              {m1("c1:5", kUpdate, 1000), kApplied},
              {m1("c1:4:0", kUpdate, 1000), kApplied}},  // against an unparsable: timestamp tie
             "c1:4:0"},
            {"a connectionId that is only a textual prefix gives an unparsable id",
             {{m1("c1:5:0", kEnter, 1000), kApplied}, {m1("c10:1:0", kUpdate, 1001), kApplied}},
             "c10:1:0"},
            {"a leave for an unknown member leaves a tombstone that beats older enters",
             {{m1("c1:5:0", kLeave, 1000), kApplied},
              {m1("c1:4:0", kEnter, 900), kStale},
              {m1("c1:5:0", kEnter, 1000), kDuplicate}},
             std::nullopt},
            {"a late enter after a leave does not resurrect the member",
             {{m1("c1:1:0", kEnter, 1000), kApplied},
              {m1("c1:2:0", kLeave, 1100), kApplied},
              {m1("c1:1:0", kEnter, 1000), kStale}},
             std::nullopt},
            {"an update before its enter keeps the update",
             {{m1("c1:2:0", kUpdate, 1100), kApplied}, {m1("c1:1:0", kEnter, 1000), kStale}},
             "c1:2:0"},
            {"a REST present with the queue event's id is a duplicate",
             {{m1("c1:3:0", kEnter, 1000), kApplied}, {m1("c1:3:0", kPresent, 1000), kDuplicate}},
             "c1:3:0"},
            {"a REST present newer than the queue event replaces it",
             {{m1("c1:3:0", kEnter, 1000), kApplied}, {m1("c1:4:0", kPresent, 1200), kApplied}},
             "c1:4:0"},
            {"absent removes like leave",
             {{m1("c1:1:0", kEnter, 1000), kApplied},
              {m1("c1:2:0", kAbsent, 1100), kApplied},
              {m1("c1:1:0", kPresent, 1000), kStale}},
             std::nullopt},
            {"a newer enter re-adds a member after its leave",
             {{m1("c1:1:0", kEnter, 1000), kApplied},
              {m1("c1:2:0", kLeave, 1100), kApplied},
              {m1("c1:3:0", kEnter, 1200), kApplied}},
             "c1:3:0"},
            {"empty ids are never duplicates and compare by timestamp",
             {{m1("", kEnter, 1000), kApplied},
              {m1("", kEnter, 1000), kApplied},
              {m1("", kLeave, 999), kStale}},
             ""},
        };
        for (const Case& c : cases) {
            CAPTURE(c.name);
            auto store = presenceagg::make_memory_presence_store();
            std::size_t step = 0;
            for (const Step& s : c.steps) {
                CAPTURE(step);
                CHECK(to_string(store->apply(s.message)) == to_string(s.expected));
                ++step;
            }
            CHECK(present_id(*store) == c.final_id);
            CHECK(store->counts().members == (c.final_id ? 1U : 0U));
        }
    }
}

TEST_SUITE("MemoryPresenceStore identity") {
    TEST_CASE("rejected inputs are counted and change nothing") {
        auto store = presenceagg::make_memory_presence_store();
        CHECK(store->apply(msg("", "u", "c", "c:1:0", kEnter, 1)) == ApplyOutcome::Rejected);
        CHECK(store->apply(msg("ch", "", "c", "c:1:0", kEnter, 1)) == ApplyOutcome::Rejected);
        CHECK(store->apply(msg("ch", "u", "", ":1:0", kEnter, 1)) == ApplyOutcome::Rejected);
        CHECK(store->stats().rejected == 3);
        CHECK(store->stats().applied == 0);
        CHECK(store->sequence() == 0);
        CHECK(store->counts() == presenceagg::Counts{});
        CHECK(presenceagg::test::leaves(*store, presenceagg::View::ByChannel).empty());
    }

    TEST_CASE("keys are compared as whole values: ':' and '/' cannot make two members collide") {
        auto store = presenceagg::make_memory_presence_store();
        // Concatenating with ':' or '/' would map each pair below to one string.
        CHECK(store->apply(msg("x", "a:b", "c", "c:1:0", kEnter, 1)) == kApplied);
        CHECK(store->apply(msg("x", "a", "b:c", "b:c:1:0", kEnter, 1)) == kApplied);
        CHECK(store->apply(msg("x:a", "b", "c", "c:2:0", kEnter, 1)) == kApplied);
        CHECK(store->apply(msg("x/a", "b/c", "d", "d:1:0", kEnter, 1)) == kApplied);
        CHECK(store->apply(msg("x", "a/b", "c", "c:3:0", kEnter, 1)) == kApplied);
        CHECK(store->counts().members == 5);
        CHECK(store->counts().channels == 3);
        CHECK(store->channel_members("x") == 3);
        const auto by_client = presenceagg::test::leaves(*store, presenceagg::View::ByClient);
        REQUIRE(by_client.size() == 5);
        CHECK(by_client[0].path == std::vector<std::string>{"a", "x", "b:c"});
        CHECK(by_client[1].path == std::vector<std::string>{"a/b", "x", "c"});
        CHECK(by_client[2].path == std::vector<std::string>{"a:b", "x", "c"});
        CHECK(by_client[3].path == std::vector<std::string>{"b", "x:a", "c"});
        CHECK(by_client[4].path == std::vector<std::string>{"b/c", "x/a", "d"});
        // Each member is addressed exactly: a leave for one leaves the others.
        CHECK(store->apply(msg("x", "a:b", "c", "c:9:0", kLeave, 2)) == kApplied);
        CHECK(store->counts().members == 4);
        CHECK(store->channel_members("x") == 2);
    }

    TEST_CASE("one client on several connections is one client and several members") {
        auto store = presenceagg::make_memory_presence_store();
        CHECK(store->apply(msg("ch", "u", "c1", "c1:1:0", kEnter, 1)) == kApplied);
        CHECK(store->apply(msg("ch", "u", "c2", "c2:1:0", kEnter, 1)) == kApplied);
        CHECK(store->counts() == presenceagg::Counts{2, 1, 2, 1});
        // A leave on one connection keeps the other.
        CHECK(store->apply(msg("ch", "u", "c1", "c1:2:0", kLeave, 2)) == kApplied);
        CHECK(store->counts() == presenceagg::Counts{1, 1, 1, 1});
    }

    TEST_CASE("several clients on one connection are separate members") {
        auto store = presenceagg::make_memory_presence_store();
        CHECK(store->apply(msg("ch", "u", "c1", "c1:1:0", kEnter, 1)) == kApplied);
        CHECK(store->apply(msg("ch", "v", "c1", "c1:1:1", kEnter, 1)) == kApplied);
        // The same id for a different member is not a duplicate of the first.
        CHECK(store->apply(msg("ch", "w", "c1", "c1:1:0", kEnter, 1)) == kApplied);
        CHECK(store->counts() == presenceagg::Counts{3, 3, 1, 1});
        const auto by_conn = presenceagg::test::leaves(*store, presenceagg::View::ByConnection);
        REQUIRE(by_conn.size() == 3);
        CHECK(by_conn[0].path == std::vector<std::string>{"c1", "u", "ch"});
        CHECK(by_conn[2].path == std::vector<std::string>{"c1", "w", "ch"});
    }

    TEST_CASE("outcome and view names round-trip") {
        CHECK(to_string(ApplyOutcome::Applied) == "applied");
        CHECK(to_string(ApplyOutcome::Duplicate) == "duplicate");
        CHECK(to_string(ApplyOutcome::Stale) == "stale");
        CHECK(to_string(ApplyOutcome::Rejected) == "rejected");
        for (const auto v : presenceagg::kAllViews) {
            CAPTURE(to_string(v));
            CHECK(presenceagg::parse_view(to_string(v)) == v);
        }
        CHECK(presenceagg::parse_view("by-channel") == presenceagg::View::ByChannel);
        CHECK_FALSE(presenceagg::parse_view("bychannel").has_value());
        CHECK(presenceagg::view_depth(presenceagg::View::Counts) == 2);
        CHECK(presenceagg::view_depth(presenceagg::View::ByClient) == 3);
    }
}

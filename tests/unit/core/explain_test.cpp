// SPDX-License-Identifier: MIT
// PresenceStore::explain(): the rule named for each RTP2b case, the history bounds, and the
// store events (resync removal, tombstone expiry and eviction, clear) that change a member.

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/presence_store.hpp>

#include "json_value.hpp"
#include "store_test_support.hpp"

namespace {

using presenceagg::ApplyOutcome;
using presenceagg::MemberEvent;
using presenceagg::MemberExplanation;
using presenceagg::MemberKey;
using presenceagg::MemoryPresenceStoreConfig;
using presenceagg::PresenceAction;
using presenceagg::PresenceMessage;
using presenceagg::PresenceStore;
using presenceagg::test::msg;

constexpr auto kEnter = PresenceAction::Enter;
constexpr auto kUpdate = PresenceAction::Update;
constexpr auto kLeave = PresenceAction::Leave;

const MemberKey kU1{"lobby", "c1", "u1"};  // channel, connectionId, clientId

PresenceMessage m1(std::string_view id, PresenceAction action, std::int64_t ts) {
    return msg("lobby", "u1", "c1", id, action, ts);
}

std::unique_ptr<PresenceStore> store_with_history(std::size_t per_member = 8,
                                                  std::size_t max_entries = 1000) {
    MemoryPresenceStoreConfig config;
    config.explain_history = per_member;
    config.explain_max_entries = max_entries;
    config.tombstone_retention = std::chrono::milliseconds(1000);
    return presenceagg::make_memory_presence_store(config);
}

std::vector<std::string> ids(const MemberExplanation& e) {
    std::vector<std::string> out;
    for (const auto& h : e.history) out.push_back(h.id);
    return out;
}

struct RuleCase {
    const char* name;
    std::vector<PresenceMessage> before;
    PresenceMessage last;
    ApplyOutcome outcome;
    const char* rule;
    bool present_after;
};

}  // namespace

TEST_SUITE("MemoryPresenceStore explain") {
    TEST_CASE("the last history entry names the RTP2b rule that decided each case") {
        const std::vector<RuleCase> cases = {
            {"first message",
             {},
             m1("c1:1:0", kEnter, 1000),
             ApplyOutcome::Applied,
             "no previous state",
             true},
            {"redelivery",
             {m1("c1:1:0", kEnter, 1000)},
             m1("c1:1:0", kEnter, 1000),
             ApplyOutcome::Duplicate,
             "same id",
             true},
            {"higher msgSerial",
             {m1("c1:1:0", kEnter, 1000)},
             m1("c1:2:0", kUpdate, 900),
             ApplyOutcome::Applied,
             "msgSerial/index newer",
             true},
            {"higher index",
             {m1("c1:1:0", kEnter, 1000)},
             m1("c1:1:1", kUpdate, 1000),
             ApplyOutcome::Applied,
             "msgSerial/index newer",
             true},
            {"lower msgSerial",
             {m1("c1:2:0", kEnter, 1000)},
             m1("c1:1:0", kLeave, 2000),
             ApplyOutcome::Stale,
             "msgSerial/index older",
             true},
            {"lower index",
             {m1("c1:1:1", kEnter, 1000)},
             m1("c1:1:0", kLeave, 2000),
             ApplyOutcome::Stale,
             "msgSerial/index older",
             true},
            {"same serial and index, other spelling",
             {m1("c1:1:0", kEnter, 1000)},
             m1("c1:01:0", kLeave, 2000),
             ApplyOutcome::Stale,
             "msgSerial/index equal (not newer)",
             true},
            {"newer synthesized leave",
             {m1("c1:1:0", kEnter, 1000)},
             m1("zz:9:0", kLeave, 2000),
             ApplyOutcome::Applied,
             "synthesized: timestamp newer",
             false},
            {"older synthesized leave",
             {m1("c1:1:0", kEnter, 1000)},
             m1("zz:9:0", kLeave, 500),
             ApplyOutcome::Stale,
             "synthesized: timestamp older",
             true},
            {"synthesized leave at the same time",
             {m1("c1:1:0", kEnter, 1000)},
             m1("zz:9:0", kLeave, 1000),
             ApplyOutcome::Applied,
             "synthesized: timestamp equal (incoming wins)",
             false},
            {"ordered message older than a synthesized state",
             {m1("zz:9:0", kEnter, 1000)},
             m1("c1:5:0", kUpdate, 999),
             ApplyOutcome::Stale,
             "synthesized: timestamp older",
             true},
            {"newer unparsable id",
             {m1("c1:1:0", kEnter, 1000)},
             m1("c1:x", kUpdate, 1001),
             ApplyOutcome::Applied,
             "unparsable id: timestamp newer",
             true},
            {"older unparsable id",
             {m1("c1:1:0", kEnter, 1000)},
             m1("c1:x", kLeave, 999),
             ApplyOutcome::Stale,
             "unparsable id: timestamp older",
             true},
            {"unparsable id at the same time",
             {m1("c1:1:0", kEnter, 1000)},
             m1("c1:x", kLeave, 1000),
             ApplyOutcome::Applied,
             "unparsable id: timestamp equal (incoming wins)",
             false},
            {"enter after a leave",
             {m1("c1:1:0", kEnter, 1000), m1("c1:2:0", kLeave, 1000)},
             m1("c1:3:0", kEnter, 1000),
             ApplyOutcome::Applied,
             "msgSerial/index newer",
             true},
            {"late enter after a leave",
             {m1("c1:1:0", kEnter, 1000), m1("c1:3:0", kLeave, 1000)},
             m1("c1:2:0", kEnter, 1000),
             ApplyOutcome::Stale,
             "msgSerial/index older",
             false},
        };
        for (const RuleCase& c : cases) {
            CAPTURE(c.name);
            auto store = store_with_history();
            for (const auto& m : c.before) store->apply(m);
            CHECK(store->apply(c.last) == c.outcome);
            const MemberExplanation e = store->explain(kU1);
            CHECK(e.supported);
            CHECK(e.present == c.present_after);
            REQUIRE(e.history.size() == c.before.size() + 1);
            const auto& h = e.history.back();
            CHECK(h.rule == c.rule);
            CHECK(h.outcome == c.outcome);
            CHECK(h.event == MemberEvent::Message);
            CHECK(h.id == c.last.id);
            CHECK(h.action == c.last.action);
            CHECK(h.timestamp == c.last.timestamp);
            CHECK(h.sequence == store->sequence());
            CHECK(e.tombstone == !c.present_after);
            CHECK(e.leaf.has_value() == c.present_after);
        }
    }

    TEST_CASE("the current state is explained even without a history") {
        auto store = presenceagg::make_memory_presence_store();
        store->apply(m1("c1:1:0", kEnter, 1000));
        MemberExplanation e = store->explain(kU1);
        CHECK(e.supported);
        CHECK(e.present);
        CHECK(e.id == "c1:1:0");
        CHECK(e.timestamp == 1000);
        REQUIRE(e.leaf.has_value());
        CHECK(e.leaf->find("\"id\":\"c1:1:0\"") != std::string::npos);
        CHECK(e.history_limit == 0);
        CHECK(e.history.empty());
        CHECK(e.event_time == 1000);

        store->apply(m1("c1:2:0", kLeave, 1500));
        e = store->explain(kU1);
        CHECK_FALSE(e.present);
        CHECK(e.tombstone);
        CHECK(e.id == "c1:2:0");
        CHECK(e.tombstone_until == 1500 + 5 * 60 * 1000);

        const MemberExplanation unknown = store->explain({"lobby", "c9", "u9"});
        CHECK_FALSE(unknown.present);
        CHECK_FALSE(unknown.tombstone);
        CHECK(unknown.id.empty());
        CHECK(store->explain({"", "", ""}).id.empty());
    }

    TEST_CASE("a member's history keeps only the most recent entries, oldest first") {
        auto store = store_with_history(3);
        for (int k = 1; k <= 10; ++k) {
            store->apply(m1("c1:" + std::to_string(k) + ":0", kUpdate, 1000 + k));
        }
        const MemberExplanation e = store->explain(kU1);
        CHECK(e.history_limit == 3);
        CHECK(ids(e) == std::vector<std::string>{"c1:8:0", "c1:9:0", "c1:10:0"});
        CHECK(e.history.front().sequence + 2 == e.history.back().sequence);
    }

    TEST_CASE("the total entry cap drops whole histories of other members") {
        auto store = store_with_history(2, 4);  // room for two members' histories
        const auto enter = [&](const char* client, const char* id) {
            store->apply(msg("lobby", client, "c1", id, kEnter, 1000));
        };
        enter("a", "c1:1:0");
        enter("b", "c1:2:0");
        enter("a", "c1:3:0");
        enter("c", "c1:4:0");  // needs a slot: one of the others gives up its history
        const auto history_of = [&](const char* client) {
            return store->explain({"lobby", "c1", client}).history.size();
        };
        CHECK(history_of("c") == 1);
        CHECK((history_of("a") == 0) != (history_of("b") == 0));
        CHECK(store->explain({"lobby", "c1", "a"}).present);  // state is unaffected
        CHECK(store->explain({"lobby", "c1", "b"}).present);
    }

    TEST_CASE("a resync names what it removed and when the channel was verified") {
        auto store = store_with_history();
        store->apply(m1("c1:1:0", kEnter, 1000));
        const PresenceMessage other = msg("lobby", "u2", "c2", "c2:1:0", kEnter, 1200);
        store->apply(other);
        const std::uint64_t since = store->sequence();
        CHECK(store->replace_channel("lobby", std::vector<PresenceMessage>{other}, since) == 1);

        const MemberExplanation gone = store->explain(kU1);
        CHECK_FALSE(gone.present);
        CHECK(gone.tombstone);
        REQUIRE(gone.history.size() == 2);
        CHECK(gone.history.back().event == MemberEvent::ResyncRemoved);
        CHECK(gone.history.back().rule == "removed by resync");
        CHECK(gone.history.back().id == "c1:1:0");
        CHECK(gone.channel_verified);
        CHECK(gone.channel_verified_at == 1200);
        CHECK(gone.channel_verified_sequence == store->sequence());

        const MemberExplanation kept = store->explain({"lobby", "c2", "u2"});
        CHECK(kept.present);
        REQUIRE(kept.history.size() == 2);
        CHECK(kept.history.back().event == MemberEvent::ResyncMessage);
        CHECK(kept.history.back().rule == "same id");
        CHECK(kept.history.back().outcome == ApplyOutcome::Duplicate);

        CHECK_FALSE(store->explain({"elsewhere", "c1", "u1"}).channel_verified);
    }

    TEST_CASE("a forgotten tombstone keeps its history, which continues when the member returns") {
        auto store = store_with_history();
        store->apply(m1("c1:1:0", kEnter, 1000));
        store->apply(m1("c1:2:0", kLeave, 2000));
        MemberExplanation e = store->explain(kU1);
        CHECK(e.tombstone_until == 3000);

        store->apply(msg("lobby", "u2", "c2", "c2:1:0", kEnter, 5000));  // expires the leave
        e = store->explain(kU1);
        CHECK_FALSE(e.present);
        CHECK_FALSE(e.tombstone);
        REQUIRE(e.history.size() == 3);
        CHECK(e.history.back().event == MemberEvent::TombstoneExpired);
        CHECK(e.history.back().rule == "tombstone expired");
        CHECK(e.history.back().timestamp == 5000);

        store->apply(m1("c1:1:0", kEnter, 1000));  // now unknown, so accepted again
        e = store->explain(kU1);
        CHECK(e.present);
        REQUIRE(e.history.size() == 4);
        CHECK(e.history.back().rule == "no previous state");
        CHECK(e.history.front().id == "c1:1:0");
    }

    TEST_CASE("tombstones dropped by the cap and a clear are named") {
        MemoryPresenceStoreConfig config;
        config.explain_history = 8;
        config.max_tombstones = 1;
        auto store = presenceagg::make_memory_presence_store(config);
        store->apply(m1("c1:1:0", kLeave, 1000));
        store->apply(msg("lobby", "u2", "c2", "c2:1:0", kLeave, 1000));
        MemberExplanation e = store->explain(kU1);
        CHECK_FALSE(e.tombstone);
        REQUIRE_FALSE(e.history.empty());
        CHECK(e.history.back().event == MemberEvent::TombstoneEvicted);

        store->apply(msg("lobby", "u3", "c3", "c3:1:0", kEnter, 1000));
        store->clear();
        e = store->explain({"lobby", "c3", "u3"});
        CHECK_FALSE(e.present);
        REQUIRE(e.history.size() == 2);
        CHECK(e.history.back().event == MemberEvent::Cleared);
        CHECK(e.history.back().rule == "store cleared");
    }

    TEST_CASE("suspect marks are reported with their event time") {
        auto store = store_with_history();
        store->apply(m1("c1:1:0", kEnter, 1000));
        store->set_suspect("lobby", true);
        MemberExplanation e = store->explain(kU1);
        CHECK(e.channel_suspect);
        CHECK(e.channel_suspect_since == 1000);
        store->set_suspect("lobby", false);
        e = store->explain(kU1);
        CHECK_FALSE(e.channel_suspect);
        CHECK(e.channel_suspect_since == 1000);  // when it was last marked
    }

    TEST_CASE("the text and JSON forms carry the state, the channel and every entry") {
        auto store = store_with_history();
        store->apply(m1("c1:2:0", kEnter, 1000));
        store->apply(m1("c1:1:0", kLeave, 2000));
        const MemberExplanation e = store->explain(kU1);

        const std::string text = to_text(e);
        CHECK(text.find("shown: yes") != std::string::npos);
        CHECK(text.find("no previous state") != std::string::npos);
        CHECK(text.find("msgSerial/index older") != std::string::npos);
        CHECK(text.find("-> stale") != std::string::npos);
        CHECK(text.find("never verified by resync") != std::string::npos);
        CHECK(text.back() == '\n');

        const auto json = presenceagg::test::JsonReader::parse(to_json(e));
        REQUIRE(json.has_value());
        CHECK(json->find("present")->boolean);
        CHECK(json->find("clientId")->text == "u1");
        CHECK(json->find("leaf")->kind == presenceagg::test::JsonValue::Kind::Object);
        const auto* history = json->find("history");
        REQUIRE(history != nullptr);
        REQUIRE(history->items.size() == 2);
        CHECK(history->items[1].find("rule")->text == "msgSerial/index older");
        CHECK(history->items[1].find("outcome")->text == "stale");
        CHECK(history->items[1].find("timestamp")->integer() == 2000);

        MemberExplanation unsupported;
        unsupported.key = kU1;
        CHECK(to_text(unsupported).find("keeps no explanations") != std::string::npos);
        CHECK(presenceagg::test::JsonReader::parse(to_json(unsupported)).has_value());
    }
}

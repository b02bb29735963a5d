// SPDX-License-Identifier: MIT
// MemoryPresenceStore: change sets, resync, tombstones, clear, suspect flags and hashes.

#include <chrono>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>
#include <presenceagg/presence_store.hpp>

#include "core/view_json.hpp"
#include "store_test_support.hpp"
#include "wire/content_hash.hpp"

namespace {

using presenceagg::ApplyOutcome;
using presenceagg::ChangeSet;
using presenceagg::Counts;
using presenceagg::PresenceAction;
using presenceagg::View;
using presenceagg::test::msg;
using namespace std::chrono_literals;

constexpr auto kEnter = PresenceAction::Enter;
constexpr auto kUpdate = PresenceAction::Update;
constexpr auto kLeave = PresenceAction::Leave;

std::unique_ptr<presenceagg::PresenceStore> make_store(std::chrono::milliseconds retention = 5min,
                                                       std::size_t max_tombstones = 1'000'000) {
    presenceagg::MemoryPresenceStoreConfig config;
    config.tombstone_retention = retention;
    config.max_tombstones = max_tombstones;
    return presenceagg::make_memory_presence_store(config);
}

void check_hashes(const presenceagg::PresenceStore& store) {
    bool ok = false;
    const auto member = presenceagg::test::recompute_member_hash(store, ok);
    REQUIRE(ok);
    const auto counts = presenceagg::test::recompute_counts_hash(store, ok);
    REQUIRE(ok);
    for (const View v : {View::ByChannel, View::ByClient, View::ByConnection}) {
        CHECK(store.hash(v) == member);
        CHECK(store.visit(v, [](auto, auto) {}) == member);
    }
    CHECK(store.hash(View::Counts) == counts);
    CHECK(store.visit(View::Counts, [](auto, auto) {}) == counts);
}

std::string leaf_json(std::string_view data, std::string_view id, std::int64_t ts) {
    return "{\"data\":" + std::string(data) + ",\"id\":\"" + std::string(id) +
           "\",\"timestamp\":" + std::to_string(ts) + "}";
}

}  // namespace

TEST_SUITE("MemoryPresenceStore") {
    TEST_CASE("the factory refuses a negative retention, naming the setting") {
        presenceagg::MemoryPresenceStoreConfig config;
        config.tombstone_retention = -1ms;
        try {
            (void)presenceagg::make_memory_presence_store(config);
            FAIL("accepted a negative retention");
        } catch (const presenceagg::Error& e) {
            CHECK(e.code() == presenceagg::Errc::InvalidConfig);
            CHECK(std::string(e.what()).find("tombstone_retention") != std::string::npos);
        }
    }

    TEST_CASE("member leaves carry data, encoding and extras in key order") {
        auto store = make_store();
        auto m = msg("ch", "u", "c", "c:1:0", kEnter, 1700000000123, "{\"a\":[1,2]}");
        m.encoding = "cipher+aes-128-cbc/base64";
        m.extras = "{\"headers\":{\"k\":\"v\"}}";
        REQUIRE(store->apply(m) == ApplyOutcome::Applied);
        auto m2 = msg("ch", "v", "c", "c:1:1", kEnter, -5, "");
        m2.id = "c:1:1\"\n";
        REQUIRE(store->apply(m2) == ApplyOutcome::Applied);
        const auto l = presenceagg::test::leaves(*store, View::ByChannel);
        REQUIRE(l.size() == 2);
        CHECK(l[0].json ==
              "{\"data\":{\"a\":[1,2]},\"encoding\":\"cipher+aes-128-cbc/base64\",\"extras\":"
              "{\"headers\":{\"k\":\"v\"}},\"id\":\"c:1:0\",\"timestamp\":1700000000123}");
        // Empty data becomes null; the id is escaped.
        CHECK(l[1].json == "{\"data\":null,\"id\":\"c:1:1\\\"\\n\",\"timestamp\":-5}");
        check_hashes(*store);
    }

    TEST_CASE("take_changes coalesces per member and reports the leaf as it is now") {
        auto store = make_store();
        REQUIRE(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 10, "1")) ==
                ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:2:0", kUpdate, 11, "2")) ==
                ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:3:0", kUpdate, 12, "3")) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().pending_changes == 1);
        ChangeSet cs = store->take_changes();
        REQUIRE(cs.members.size() == 1);
        CHECK(cs.members[0].channel == "ch");
        CHECK(cs.members[0].client_id == "u");
        CHECK(cs.members[0].connection_id == "c");
        CHECK(cs.members[0].leaf == leaf_json("3", "c:3:0", 12));
        REQUIRE(cs.channels.size() == 1);
        CHECK(cs.channels[0].channel == "ch");
        CHECK(cs.channels[0].members == 1);
        CHECK_FALSE(cs.channels[0].suspect);
        CHECK(cs.totals_changed);
        CHECK(cs.totals == Counts{1, 1, 1, 1});
        CHECK(cs.member_hash == store->hash(View::ByChannel));
        CHECK(cs.counts_hash == store->hash(View::Counts));
        CHECK(store->stats().pending_changes == 0);

        SUBCASE("nothing happened: an empty change set with the same hashes") {
            const ChangeSet again = store->take_changes();
            CHECK(again.empty());
            CHECK(again.member_hash == cs.member_hash);
            CHECK(again.counts_hash == cs.counts_hash);
        }
        SUBCASE("a duplicate or stale message is no change") {
            CHECK(store->apply(msg("ch", "u", "c", "c:3:0", kUpdate, 12, "3")) ==
                  ApplyOutcome::Duplicate);
            CHECK(store->apply(msg("ch", "u", "c", "c:2:0", kUpdate, 11, "2")) ==
                  ApplyOutcome::Stale);
            CHECK(store->take_changes().empty());
        }
        SUBCASE("a leave is reported as a removal, with the channel leaf gone") {
            REQUIRE(store->apply(msg("ch", "u", "c", "c:4:0", kLeave, 13)) ==
                    ApplyOutcome::Applied);
            const ChangeSet next = store->take_changes();
            REQUIRE(next.members.size() == 1);
            CHECK_FALSE(next.members[0].leaf.has_value());
            REQUIRE(next.channels.size() == 1);
            CHECK(next.channels[0].members == 0);
            CHECK(next.totals_changed);
            CHECK(next.totals == Counts{});
        }
        SUBCASE("leave then re-enter within one period reports the final leaves") {
            REQUIRE(store->apply(msg("ch", "u", "c", "c:4:0", kLeave, 13)) ==
                    ApplyOutcome::Applied);
            REQUIRE(store->apply(msg("ch", "u", "c", "c:5:0", kEnter, 14, "5")) ==
                    ApplyOutcome::Applied);
            const ChangeSet next = store->take_changes();
            REQUIRE(next.members.size() == 1);
            CHECK(next.members[0].leaf == leaf_json("5", "c:5:0", 14));
            // 1 -> 0 -> 1: a snapshot taken in between showed 0, so the leaf is reported again.
            REQUIRE(next.channels.size() == 1);
            CHECK(next.channels[0].members == 1);
            CHECK(next.totals_changed);
        }
    }

    TEST_CASE("a member that came and went between two takes is reported as removed") {
        // A snapshot (visit) taken while it was present shows it; the next diff must delete it.
        auto store = make_store();
        (void)store->take_changes();
        REQUIRE(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 10)) == ApplyOutcome::Applied);
        const std::string during = presenceagg::detail::view_json(*store, View::ByChannel);
        CHECK(during.find("\"u\"") != std::string::npos);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:2:0", kLeave, 11)) == ApplyOutcome::Applied);
        const ChangeSet cs = store->take_changes();
        REQUIRE(cs.members.size() == 1);
        CHECK(cs.members[0].client_id == "u");
        CHECK_FALSE(cs.members[0].leaf.has_value());
        REQUIRE(cs.channels.size() == 1);
        CHECK(cs.channels[0].members == 0);
        CHECK(cs.totals_changed);
        CHECK(cs.totals == Counts{});
        // Reported once: the next take is empty.
        CHECK(store->take_changes().empty());
    }

    TEST_CASE("changes are sorted by channel, clientId and connectionId") {
        auto store = make_store();
        const char* keys[][3] = {{"b", "u", "c"}, {"a", "v", "c"},  {"a", "u", "d"},
                                 {"a", "u", "c"}, {"a:", "a", "a"}, {"a", "u:", "a"}};
        std::int64_t serial = 1;
        for (const auto& k : keys) {
            const std::string id = std::string(k[2]) + ":" + std::to_string(serial++) + ":0";
            REQUIRE(store->apply(msg(k[0], k[1], k[2], id, kEnter, 1)) == ApplyOutcome::Applied);
        }
        const ChangeSet cs = store->take_changes();
        std::vector<std::string> got;
        for (const auto& c : cs.members) {
            got.push_back(c.channel + "|" + c.client_id + "|" + c.connection_id);
        }
        CHECK(got ==
              std::vector<std::string>{"a|u|c", "a|u|d", "a|u:|a", "a|v|c", "a:|a|a", "b|u|c"});
        REQUIRE(cs.channels.size() == 3);
        CHECK(cs.channels[0].channel == "a");
        CHECK(cs.channels[0].members == 4);
        CHECK(cs.channels[1].channel == "a:");
        CHECK(cs.channels[2].channel == "b");
    }

    TEST_CASE("a reported member whose tombstone is purged before the take is still reported") {
        auto store = make_store(0ms);  // tombstones expire as soon as event time moves on
        REQUIRE(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 1000)) == ApplyOutcome::Applied);
        (void)store->take_changes();
        REQUIRE(store->apply(msg("ch", "u", "c", "c:2:0", kLeave, 2000)) == ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 1);
        REQUIRE(store->apply(msg("ch", "v", "c", "c:3:0", kEnter, 3000)) == ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 0);

        SUBCASE("reported as removed") {
            const ChangeSet cs = store->take_changes();
            REQUIRE(cs.members.size() == 2);
            CHECK(cs.members[0].client_id == "u");
            CHECK_FALSE(cs.members[0].leaf.has_value());
            CHECK(cs.members[1].client_id == "v");
            CHECK(cs.members[1].leaf.has_value());
        }
        SUBCASE("re-entered after the purge: reported once, present") {
            REQUIRE(store->apply(msg("ch", "u", "c", "c:4:0", kEnter, 4000, "4")) ==
                    ApplyOutcome::Applied);
            const ChangeSet cs = store->take_changes();
            REQUIRE(cs.members.size() == 2);
            CHECK(cs.members[0].client_id == "u");
            CHECK(cs.members[0].leaf == leaf_json("4", "c:4:0", 4000));
            SUBCASE("and a later leave is reported normally") {
                REQUIRE(store->apply(msg("ch", "u", "c", "c:5:0", kLeave, 5000)) ==
                        ApplyOutcome::Applied);
                const ChangeSet next = store->take_changes();
                REQUIRE(next.members.size() == 1);
                CHECK_FALSE(next.members[0].leaf.has_value());
            }
        }
        SUBCASE("re-left after the purge: reported once, removed") {
            REQUIRE(store->apply(msg("ch", "u", "c", "c:4:0", kEnter, 4000)) ==
                    ApplyOutcome::Applied);
            REQUIRE(store->apply(msg("ch", "u", "c", "c:5:0", kLeave, 4000)) ==
                    ApplyOutcome::Applied);
            const ChangeSet cs = store->take_changes();
            REQUIRE(cs.members.size() == 2);
            CHECK(cs.members[0].client_id == "u");
            CHECK_FALSE(cs.members[0].leaf.has_value());
        }
        check_hashes(*store);
    }

    TEST_CASE("tombstones are kept for the retention in event time, then forgotten") {
        auto store = make_store(1000ms);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 10'000)) ==
                ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:2:0", kLeave, 10'000)) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 1);
        // Event time moves to exactly the retention: still kept, a late enter stays out.
        REQUIRE(store->apply(msg("ch", "x", "y", "y:1:0", kEnter, 11'000)) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 1);
        CHECK(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 10'000)) == ApplyOutcome::Stale);
        CHECK(store->apply(msg("ch", "u", "c", "c:2:0", kLeave, 10'000)) ==
              ApplyOutcome::Duplicate);
        // One millisecond beyond: forgotten (outside the guarantee, an old enter applies again).
        REQUIRE(store->apply(msg("ch", "x", "y", "y:2:0", kUpdate, 11'001)) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 0);
        CHECK(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 10'000)) == ApplyOutcome::Applied);
        CHECK(store->counts().members == 2);
        check_hashes(*store);
    }

    TEST_CASE("a late leave is retained from when it arrived, not from its own timestamp") {
        auto store = make_store(1000ms);
        REQUIRE(store->apply(msg("ch", "x", "y", "y:1:0", kEnter, 50'000)) ==
                ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:2:0", kLeave, 10'000)) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 1);
        REQUIRE(store->apply(msg("ch", "x", "y", "y:2:0", kUpdate, 51'000)) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 1);
        CHECK(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 9'000)) == ApplyOutcome::Stale);
        REQUIRE(store->apply(msg("ch", "x", "y", "y:3:0", kUpdate, 51'001)) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 0);
    }

    TEST_CASE("only applied messages advance event time") {
        auto store = make_store(0ms);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:2:0", kLeave, 1000)) == ApplyOutcome::Applied);
        // Same id with a later timestamp: a duplicate, which must not expire its own tombstone.
        CHECK(store->apply(msg("ch", "u", "c", "c:2:0", kEnter, 5000)) == ApplyOutcome::Duplicate);
        CHECK(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 6000)) == ApplyOutcome::Stale);
        CHECK(store->stats().tombstones == 1);
        CHECK(store->apply(msg("ch", "u", "c", "c:2:0", kEnter, 5000)) == ApplyOutcome::Duplicate);
        CHECK(store->counts().members == 0);
    }

    TEST_CASE("the tombstone cap evicts the oldest first") {
        auto store = make_store(5min, 2);
        for (int i = 0; i < 3; ++i) {
            const std::string c = "c" + std::to_string(i);
            REQUIRE(store->apply(msg("ch", "u", c, c + ":2:0", kLeave, 1000 + i)) ==
                    ApplyOutcome::Applied);
        }
        CHECK(store->stats().tombstones == 2);
        // c0's tombstone went first: its older enter applies; c1's and c2's are still refused.
        CHECK(store->apply(msg("ch", "u", "c1", "c1:1:0", kEnter, 900)) == ApplyOutcome::Stale);
        CHECK(store->apply(msg("ch", "u", "c2", "c2:1:0", kEnter, 900)) == ApplyOutcome::Stale);
        CHECK(store->apply(msg("ch", "u", "c0", "c0:1:0", kEnter, 900)) == ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 2);
        CHECK(store->counts().members == 1);
    }

    TEST_CASE("a tombstone refreshed by a newer leave is kept from the newer one") {
        auto store = make_store(1000ms, 10);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:2:0", kLeave, 10'000)) ==
                ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "u", "c", "c:3:0", kLeave, 10'800)) ==
                ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "x", "y", "y:1:0", kEnter, 11'500)) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 1);
        CHECK(store->apply(msg("ch", "u", "c", "c:1:0", kEnter, 9000)) == ApplyOutcome::Stale);
        REQUIRE(store->apply(msg("ch", "x", "y", "y:2:0", kUpdate, 11'801)) ==
                ApplyOutcome::Applied);
        CHECK(store->stats().tombstones == 0);
    }

    TEST_CASE("many leaves and re-enters keep the tombstone bookkeeping bounded and exact") {
        auto store = make_store(100ms, 50);
        std::int64_t ts = 1000;
        for (int round = 0; round < 200; ++round) {
            for (int k = 0; k < 20; ++k) {
                const std::string c = "c" + std::to_string(k);
                const auto s = std::to_string(round);
                REQUIRE(store->apply(msg("ch", "u", c, c + ":" + s + ":0", kEnter, ts)) ==
                        ApplyOutcome::Applied);
                REQUIRE(store->apply(msg("ch", "u", c, c + ":" + s + ":1", kLeave, ts)) ==
                        ApplyOutcome::Applied);
                ts += 3;
            }
            if (round % 7 == 0) (void)store->take_changes();
        }
        CHECK(store->stats().tombstones <= 50);
        CHECK(store->counts().members == 0);
        check_hashes(*store);
    }

    TEST_CASE("replace_channel removes unlisted members last changed at or before since") {
        auto store = make_store();
        REQUIRE(store->apply(msg("ch", "a", "c1", "c1:1:0", kEnter, 100)) == ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "b", "c2", "c2:1:0", kEnter, 100)) == ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "d", "c4", "c4:1:0", kEnter, 100)) == ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("other", "a", "c1", "c1:1:1", kEnter, 100)) ==
                ApplyOutcome::Applied);
        const std::uint64_t since = store->sequence();
        (void)store->take_changes();
        // After the fetch started: d changes, e enters. Neither may be removed.
        REQUIRE(store->apply(msg("ch", "d", "c4", "c4:2:0", kUpdate, 110)) ==
                ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "e", "c5", "c5:1:0", kEnter, 110)) == ApplyOutcome::Applied);
        // The fetch lists a (same id: duplicate) and a new member f (channel field left empty,
        // as REST responses do), but not b.
        std::vector<presenceagg::PresenceMessage> listed = {
            msg("", "a", "c1", "c1:1:0", PresenceAction::Present, 100),
            msg("", "f", "c6", "c6:1:0", PresenceAction::Present, 105)};
        CHECK(store->replace_channel("ch", listed, since) == 1);
        CHECK(store->stats().resyncs == 1);
        CHECK(store->stats().resync_removed == 1);
        CHECK(store->channel_members("ch") == 4);  // a, d, e, f
        CHECK(store->channel_members("other") == 1);
        const ChangeSet cs = store->take_changes();
        std::vector<std::string> got;
        for (const auto& c : cs.members) got.push_back(c.client_id + (c.leaf ? "+" : "-"));
        CHECK(got == std::vector<std::string>{"b-", "d+", "e+", "f+"});
        // b's tombstone holds its last id: a redelivered enter is a duplicate; newer re-adds.
        CHECK(store->apply(msg("ch", "b", "c2", "c2:1:0", kEnter, 100)) == ApplyOutcome::Duplicate);
        CHECK(store->channel_members("ch") == 4);
        CHECK(store->apply(msg("ch", "b", "c2", "c2:2:0", kUpdate, 120)) == ApplyOutcome::Applied);
        CHECK(store->channel_members("ch") == 5);
        check_hashes(*store);

        SUBCASE("an empty listing empties the channel up to since") {
            CHECK(store->replace_channel("ch", {}, store->sequence()) == 5);
            CHECK(store->channel_members("ch") == 0);
            CHECK(store->channels() == std::vector<std::string>{"other"});
            CHECK(store->stats().resyncs == 2);
            CHECK(store->stats().resync_removed == 6);
            check_hashes(*store);
        }
        SUBCASE("a listed member we know a newer leave for stays gone") {
            REQUIRE(store->apply(msg("ch", "a", "c1", "c1:5:0", kLeave, 130)) ==
                    ApplyOutcome::Applied);
            std::vector<presenceagg::PresenceMessage> again = {
                msg("ch", "a", "c1", "c1:1:0", PresenceAction::Present, 100)};
            CHECK(store->replace_channel("ch", again, 0) == 0);
            CHECK(store->channel_members("ch") == 4);
        }
        SUBCASE("rejected listed members are counted and ignored") {
            std::vector<presenceagg::PresenceMessage> bad = {
                msg("ch", "", "c9", "c9:1:0", PresenceAction::Present, 100)};
            CHECK(store->replace_channel("ch", bad, 0) == 0);
            CHECK(store->stats().rejected == 1);
        }
    }

    TEST_CASE("clear forgets members and tombstones and reports the removals") {
        auto store = make_store();
        REQUIRE(store->apply(msg("ch", "a", "c1", "c1:1:0", kEnter, 100)) == ApplyOutcome::Applied);
        REQUIRE(store->apply(msg("ch", "b", "c2", "c2:2:0", kLeave, 100)) == ApplyOutcome::Applied);
        store->set_suspect("sus", true);
        (void)store->take_changes();
        REQUIRE(store->apply(msg("ch2", "n", "c3", "c3:1:0", kEnter, 100)) ==
                ApplyOutcome::Applied);  // never reported
        store->clear();
        CHECK(store->counts() == Counts{});
        CHECK(store->stats().tombstones == 0);
        CHECK(store->channels().empty());
        CHECK(presenceagg::detail::view_json(*store, View::ByChannel) == "{}");
        CHECK(presenceagg::detail::view_json(*store, View::Counts) ==
              "{\"totals\":{\"channels\":0,\"clients\":0,\"connections\":0,\"members\":0}}");
        check_hashes(*store);
        CHECK(store->hash(View::ByChannel) == 0);

        // Both removals are reported: "a" was reported present, "n" was present since the last
        // take (a snapshot in between may show it).
        const ChangeSet cs = store->take_changes();
        REQUIRE(cs.members.size() == 2);
        CHECK(cs.members[0].client_id == "a");
        CHECK_FALSE(cs.members[0].leaf.has_value());
        CHECK(cs.members[1].client_id == "n");
        CHECK_FALSE(cs.members[1].leaf.has_value());
        REQUIRE(cs.channels.size() == 3);
        CHECK(cs.channels[0].channel == "ch");
        CHECK(cs.channels[0].members == 0);
        CHECK(cs.channels[1].channel == "ch2");
        CHECK(cs.channels[1].members == 0);
        CHECK(cs.channels[2].channel == "sus");
        CHECK_FALSE(cs.channels[2].suspect);
        CHECK(cs.totals_changed);

        // The tombstone is forgotten too: b's older enter applies now.
        CHECK(store->apply(msg("ch", "b", "c2", "c2:1:0", kEnter, 90)) == ApplyOutcome::Applied);
        CHECK(store->take_changes().members.size() == 1);
        check_hashes(*store);
    }

    TEST_CASE("suspect channels have a Counts leaf even without members") {
        auto store = make_store();
        store->set_suspect("s", true);
        store->set_suspect("s", true);  // idempotent
        CHECK(presenceagg::detail::view_json(*store, View::Counts) ==
              "{\"channels\":{\"s\":{\"members\":0,\"suspect\":true}},\"totals\":{\"channels\":0,"
              "\"clients\":0,\"connections\":0,\"members\":0}}");
        check_hashes(*store);
        ChangeSet cs = store->take_changes();
        REQUIRE(cs.channels.size() == 1);
        CHECK(cs.channels[0].channel == "s");
        CHECK(cs.channels[0].suspect);
        CHECK_FALSE(cs.totals_changed);

        REQUIRE(store->apply(msg("s", "u", "c", "c:1:0", kEnter, 1)) == ApplyOutcome::Applied);
        CHECK(presenceagg::detail::view_json(*store, View::Counts)
                  .starts_with("{\"channels\":{\"s\":{\"members\":1,\"suspect\":true}},\"totals\":{"
                               "\"channels\":1,"));
        check_hashes(*store);
        store->set_suspect("s", false);
        store->set_suspect("s", false);
        store->set_suspect("never", false);
        check_hashes(*store);
        cs = store->take_changes();
        REQUIRE(cs.channels.size() == 1);
        CHECK(cs.channels[0].members == 1);
        CHECK_FALSE(cs.channels[0].suspect);

        REQUIRE(store->apply(msg("s", "u", "c", "c:2:0", kLeave, 2)) == ApplyOutcome::Applied);
        store->set_suspect("s", true);
        store->set_suspect("s", false);
        cs = store->take_changes();
        REQUIRE(cs.channels.size() == 1);
        CHECK(cs.channels[0].members == 0);
        CHECK_FALSE(cs.channels[0].suspect);
        CHECK(presenceagg::detail::view_json(*store, View::Counts) ==
              "{\"totals\":{\"channels\":0,\"clients\":0,\"connections\":0,\"members\":0}}");
    }

    TEST_CASE("hashes equal a from-scratch recomputation after random operations") {
        constexpr std::uint32_t kSeed = 20240601;
        std::mt19937 rng(kSeed);
        CAPTURE(kSeed);
        auto store = make_store(50ms, 40);
        const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
        std::int64_t ts = 1000;
        std::uint64_t serial = 1;
        for (int step = 0; step < 3000; ++step) {
            CAPTURE(step);
            const int op = pick(100);
            const std::string ch = "ch" + std::to_string(pick(4));
            const std::string cl = "u" + std::to_string(pick(5));
            const std::string co = "c" + std::to_string(pick(4));
            ts += pick(3);
            if (op < 80) {
                const auto action = static_cast<PresenceAction>(pick(5));
                const bool synthesized = pick(10) == 0;
                const std::string id = (synthesized ? "s" : co) + ":" +
                                       std::to_string(pick(3) == 0 ? serial : serial++) + ":" +
                                       std::to_string(pick(2));
                (void)store->apply(msg(ch, cl, co, id, action, ts, std::to_string(step)));
            } else if (op < 85) {
                std::vector<presenceagg::PresenceMessage> listed;
                for (int k = pick(4); k > 0; --k) {
                    const std::string c2 = "c" + std::to_string(pick(4));
                    listed.push_back(msg("", "u" + std::to_string(pick(5)), c2,
                                         c2 + ":" + std::to_string(serial++) + ":0",
                                         PresenceAction::Present, ts));
                }
                (void)store->replace_channel(
                    ch, listed, store->sequence() - static_cast<std::uint64_t>(pick(3)));
            } else if (op < 92) {
                store->set_suspect(ch, pick(2) == 0);
            } else if (op < 99) {
                (void)store->take_changes();
            } else {
                store->clear();
            }
            if (step % 25 == 0) check_hashes(*store);
        }
        check_hashes(*store);
    }

    TEST_CASE("take_changes replays into the same state as the views") {
        // Apply random operations; mirror every change set into a plain map; the map must equal
        // the ByChannel view after each take.
        constexpr std::uint32_t kSeed = 77;
        std::mt19937 rng(kSeed);
        CAPTURE(kSeed);
        auto store = make_store(20ms, 10);
        std::map<std::vector<std::string>, std::string> mirror;
        std::map<std::string, std::pair<std::size_t, bool>> channel_mirror;
        std::int64_t ts = 0;
        std::uint64_t serial = 1;
        for (int step = 0; step < 4000; ++step) {
            CAPTURE(step);
            const auto r = rng() % 100;
            const std::string ch = "ch" + std::to_string(rng() % 3);
            const std::string cl = "u" + std::to_string(rng() % 4);
            const std::string co = "c" + std::to_string(rng() % 3);
            ts += static_cast<std::int64_t>(rng() % 4);
            if (r < 85) {
                (void)store->apply(msg(ch, cl, co, co + ":" + std::to_string(serial++) + ":0",
                                       static_cast<PresenceAction>(rng() % 5), ts));
            } else if (r < 90) {
                store->set_suspect(ch, rng() % 2 == 0);
            } else if (r < 92) {
                (void)store->replace_channel(ch, {}, store->sequence() - rng() % 5);
            } else if (r < 93) {
                store->clear();
            } else {
                const ChangeSet cs = store->take_changes();
                for (const auto& c : cs.members) {
                    const std::vector<std::string> key{c.channel, c.client_id, c.connection_id};
                    if (c.leaf) {
                        mirror[key] = *c.leaf;
                    } else {
                        // A member that came and went since the last take is reported removed
                        // too; deleting a leaf the mirror never had is a no-op for consumers.
                        mirror.erase(key);
                    }
                }
                for (const auto& c : cs.channels) {
                    if (c.members == 0 && !c.suspect) {
                        channel_mirror.erase(c.channel);  // may have come and gone since
                    } else {
                        channel_mirror[c.channel] = {c.members, c.suspect};
                    }
                }
                std::map<std::vector<std::string>, std::string> actual;
                for (auto& l : presenceagg::test::leaves(*store, View::ByChannel)) {
                    actual[l.path] = l.json;
                }
                REQUIRE(actual == mirror);
                std::size_t leaves = 0;
                for (auto& l : presenceagg::test::leaves(*store, View::Counts)) {
                    if (l.path[0] != "channels") continue;
                    ++leaves;
                    REQUIRE(channel_mirror.count(l.path[1]) == 1);
                    CHECK(l.json.find("\"members\":" +
                                      std::to_string(channel_mirror[l.path[1]].first)) !=
                          std::string::npos);
                }
                CHECK(leaves == channel_mirror.size());
                CHECK(cs.totals == store->counts());
            }
        }
    }

    TEST_CASE("concurrent apply and take_changes/visit see consistent states") {
        auto store = make_store();
        constexpr int kEvents = 20000;
        std::jthread producer([&] {
            for (int i = 0; i < kEvents; ++i) {
                const std::string co = "c" + std::to_string(i % 50);
                (void)store->apply(msg("ch" + std::to_string(i % 7), "u" + std::to_string(i % 13),
                                       co, co + ":" + std::to_string(i) + ":0",
                                       i % 3 == 0 ? kLeave : kEnter, i));
            }
        });
        std::size_t takes = 0;
        while (store->stats().applied + store->stats().stale < kEvents || takes < 3) {
            (void)store->take_changes();
            bool ok = false;
            const auto recomputed = presenceagg::test::recompute_member_hash(*store, ok);
            CHECK(ok);
            (void)recomputed;
            ++takes;
        }
        producer.join();
        check_hashes(*store);
        CHECK(store->stats().applied == kEvents);
    }
}

TEST_SUITE("MemoryPresenceStore leaf rendering") {
    TEST_CASE("timestamps and ids render exactly as JSON, escaped when needed") {
        struct Row {
            std::int64_t timestamp;
            const char* id;
            const char* expected;
        };
        const Row rows[] = {
            {0, "c1:1:0", R"({"data":null,"id":"c1:1:0","timestamp":0})"},
            {9, "c1:1:0", R"({"data":null,"id":"c1:1:0","timestamp":9})"},
            {10, "c1:1:0", R"({"data":null,"id":"c1:1:0","timestamp":10})"},
            {99, "c1:1:0", R"({"data":null,"id":"c1:1:0","timestamp":99})"},
            {100, "c1:1:0", R"({"data":null,"id":"c1:1:0","timestamp":100})"},
            {1700000000123, "c1:1:0", R"({"data":null,"id":"c1:1:0","timestamp":1700000000123})"},
            {-5, "c1:1:0", R"({"data":null,"id":"c1:1:0","timestamp":-5})"},
            {std::numeric_limits<std::int64_t>::min(), "c1:1:0",
             R"({"data":null,"id":"c1:1:0","timestamp":-9223372036854775808})"},
            {1, "abcdefgh\"jklmnop", R"({"data":null,"id":"abcdefgh\"jklmnop","timestamp":1})"},
            {1, "abcdefghijklm\tp", R"({"data":null,"id":"abcdefghijklm\tp","timestamp":1})"},
            {1, "abcdefgh\\jklmnop", R"({"data":null,"id":"abcdefgh\\jklmnop","timestamp":1})"},
            {1, "h\xc3\xa9llo w\xc3\xb6rld, \x7f ok",
             "{\"data\":null,\"id\":\"h\xc3\xa9llo w\xc3\xb6rld, \x7f ok\",\"timestamp\":1}"},
            {std::numeric_limits<std::int64_t>::max(), "q\"\\\n",
             R"({"data":null,"id":"q\"\\\n","timestamp":9223372036854775807})"},
        };
        for (const Row& row : rows) {
            CAPTURE(row.timestamp);
            auto store = presenceagg::make_memory_presence_store();
            presenceagg::PresenceMessage m;
            m.channel = "ch";
            m.client_id = "u";
            m.connection_id = "c1";
            m.id = row.id;
            m.action = presenceagg::PresenceAction::Enter;
            m.timestamp = row.timestamp;
            m.data = "";
            REQUIRE(store->apply(m) == presenceagg::ApplyOutcome::Applied);
            const auto e = store->explain({"ch", "c1", "u"});
            REQUIRE(e.leaf.has_value());
            CHECK(*e.leaf == row.expected);
        }
    }
}

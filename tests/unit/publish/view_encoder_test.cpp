// SPDX-License-Identifier: MIT
#include "publish/view_encoder.hpp"

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>
#include <presenceagg/view_assembler.hpp>

#include "publish_test_support.hpp"
#include "wire/content_hash.hpp"
#include "wire/publish_body.hpp"

using namespace presenceagg;
using presenceagg::detail::EncodedRound;
using presenceagg::detail::ViewEncoder;
using presenceagg::test::FakeStore;
using presenceagg::test::RecordingSink;

namespace {

constexpr std::uint64_t kEpoch = 0x0123456789abcdefULL;

PresenceMessage member(std::string channel,
                       std::string client,
                       std::string conn,
                       std::string data = "null",
                       std::int64_t ts = 1000) {
    PresenceMessage m;
    m.channel = std::move(channel);
    m.client_id = std::move(client);
    m.connection_id = std::move(conn);
    m.id = m.connection_id + ":1:0";
    m.action = PresenceAction::Enter;
    m.timestamp = ts;
    m.data = std::move(data);
    return m;
}

void check_limits(const EncodedRound& round, std::size_t limit) {
    std::size_t parts = 0;
    for (const auto& request : round.requests) {
        REQUIRE_FALSE(request.messages.empty());
        const auto body = detail::publish_body(request.messages);
        CHECK(body.size() == request.body_size);
        CHECK(detail::publish_body_size(request.messages) == body.size());
        CHECK(body.size() <= limit);
        for (const auto& m : request.messages) {
            CHECK(m.data.size() <= limit);
            CHECK(m.name == (round.snapshot ? "snapshot" : "diff"));
            ++parts;
        }
    }
    CHECK(parts == round.parts);
}

/// Assembles one round alone; returns the assembler.
ViewAssembler assemble(const EncodedRound& round,
                       AssembleStatus expect_last = AssembleStatus::Applied) {
    ViewAssembler a;
    AssembleStatus last = AssembleStatus::Stale;
    for (const auto& request : round.requests) {
        for (const auto& m : request.messages) last = a.add(RecordingSink::as_history_json(m));
    }
    CHECK(last == expect_last);
    return a;
}

}  // namespace

TEST_SUITE("ViewEncoder") {
    TEST_CASE(
        "every message and request stays within max_message_size and parts union to the view") {
        for (std::uint32_t seed : {1u, 2u, 3u}) {
            for (std::size_t limit : {std::size_t{512}, std::size_t{2048}, std::size_t{65536}}) {
                CAPTURE(seed);
                CAPTURE(limit);
                auto store = test::make_test_store();
                test::Workload work(seed, 20, 60, 40);
                for (int i = 0; i < 1500; ++i) store->apply(work.next());
                (void)store->take_changes();
                const ViewEncoder encoder(limit);
                for (View v : kAllViews) {
                    CAPTURE(to_string(v));
                    const auto round = encoder.snapshot(*store, v, kEpoch, 7);
                    check_limits(round, limit);
                    CHECK(round.dropped == 0);
                    std::uint64_t hash = 0;
                    const auto expected = test::render_view(*store, v, &hash);
                    CHECK(round.hash == hash);
                    if (round.oversized != 0) continue;  // stubs differ from the leaves
                    const auto a = assemble(round);
                    CHECK(a.state_json() == expected);
                    CHECK(a.hash() == hash);
                    if (limit == 512) CHECK(round.parts > 1);
                }
            }
        }
    }

    TEST_CASE("the same state always gives the same bytes") {
        auto a = std::make_unique<FakeStore>();
        auto b = std::make_unique<FakeStore>();
        test::Workload work(9, 10, 30, 20);
        std::vector<PresenceMessage> events;
        for (int i = 0; i < 300; ++i) events.push_back(work.next());
        for (const auto& e : events) a->apply(e);
        // b reaches the same final state through a different history: only final values.
        std::map<std::tuple<std::string, std::string, std::string>, PresenceMessage> last;
        for (const auto& e : events) last[{e.channel, e.client_id, e.connection_id}] = e;
        for (auto it = last.rbegin(); it != last.rend(); ++it) b->apply(it->second);
        const ViewEncoder encoder(2048);
        for (View v : kAllViews) {
            const auto ra = encoder.snapshot(*a, v, kEpoch, 3);
            const auto rb = encoder.snapshot(*b, v, kEpoch, 3);
            REQUIRE(ra.requests.size() == rb.requests.size());
            for (std::size_t i = 0; i < ra.requests.size(); ++i) {
                REQUIRE(ra.requests[i].messages.size() == rb.requests[i].messages.size());
                for (std::size_t j = 0; j < ra.requests[i].messages.size(); ++j) {
                    CHECK(ra.requests[i].messages[j].data == rb.requests[i].messages[j].data);
                    CHECK(ra.requests[i].messages[j].id == rb.requests[i].messages[j].id);
                }
            }
        }
    }

    TEST_CASE("a snapshot message has the documented bytes") {
        FakeStore store;
        store.apply(member("presence:a", "alice", "c1", "{\"s\":1}", 1700000000000));
        const ViewEncoder encoder(65536);
        const auto round = encoder.snapshot(store, View::ByChannel, kEpoch, 1);
        REQUIRE(round.requests.size() == 1);
        REQUIRE(round.requests[0].messages.size() == 1);
        const auto& m = round.requests[0].messages[0];
        CHECK(m.id == "0123456789abcdef.by-channel.1:0");
        CHECK(m.name == "snapshot");
        const auto hash = detail::hash_hex(
            detail::member_leaf_hash("presence:a", "alice", "c1", "c1:1:0", 1700000000000));
        CHECK(hash == "851ffd791144a1de");  // the worked example of docs/wire-format.md
        CHECK(m.data ==
              "{\"v\":1,\"view\":\"by-channel\",\"epoch\":\"0123456789abcdef\",\"seq\":1,"
              "\"kind\":\"snapshot\",\"part\":0,\"parts\":1,\"hash\":\"" +
                  hash +
                  "\",\"body\":{\"presence:a\":{\"alice\":{\"c1\":{\"data\":{\"s\":1},"
                  "\"id\":\"c1:1:0\",\"timestamp\":1700000000000}}}}}");
    }

    TEST_CASE("a diff carries base and null for removed leaves") {
        detail::PendingLeaves pending;
        pending[{"presence:a", "alice", "c1"}] = std::nullopt;
        pending[{"presence:a", "bob", "c2"}] =
            std::string("{\"data\":null,\"id\":\"c2:1:0\",\"timestamp\":5}");
        const ViewEncoder encoder(65536);
        const auto round = encoder.diff(View::ByChannel, kEpoch, 4, 3, 0xabcULL, pending);
        REQUIRE(round.parts == 1);
        const auto& m = round.requests[0].messages[0];
        CHECK(m.name == "diff");
        CHECK(m.data ==
              "{\"v\":1,\"view\":\"by-channel\",\"epoch\":\"0123456789abcdef\",\"seq\":4,"
              "\"kind\":\"diff\",\"base\":3,\"part\":0,\"parts\":1,\"hash\":\"0000000000000abc\","
              "\"body\":{\"presence:a\":{\"alice\":{\"c1\":null},\"bob\":{\"c2\":{\"data\":null,"
              "\"id\":\"c2:1:0\",\"timestamp\":5}}}}}");
    }

    TEST_CASE("an empty view is one part with an empty body") {
        FakeStore store;
        const ViewEncoder encoder(65536);
        const auto round = encoder.snapshot(store, View::ByClient, kEpoch, 1);
        REQUIRE(round.parts == 1);
        CHECK(round.requests[0].messages[0].data.ends_with(",\"body\":{}}"));
        const auto a = assemble(round);
        CHECK(a.has_state());
        CHECK(a.state_json() == "{}");
    }

    TEST_CASE("a leaf too large to fit alone becomes a stub that keeps the hash verifiable") {
        FakeStore store;
        store.apply(member("presence:a", "alice", "c1", "\"small\"", 10));
        store.apply(member("presence:a", "bob", "c2", "\"" + std::string(5000, 'x') + "\"", 20));
        store.apply(member("presence:b", "carol", "c3", "\"small\"", 30));
        const ViewEncoder encoder(2048);
        for (View v : {View::ByChannel, View::ByClient, View::ByConnection}) {
            const auto round = encoder.snapshot(store, v, kEpoch, 1);
            check_limits(round, 2048);
            CHECK(round.oversized == 1);
            CHECK(round.dropped == 0);
            CHECK(round.leaves == 3);
            const auto a = assemble(round);
            CHECK(a.hash() == store.hash(v));
            CHECK(a.state_json().find("{\"id\":\"c2:1:0\",\"oversized\":true,\"timestamp\":20}") !=
                  std::string::npos);
        }
    }

    TEST_CASE(
        "escaping is counted: data full of quotes and control characters stays within the limit") {
        FakeStore store;
        std::string nasty;
        detail::append_json_string(nasty, std::string(300, '"') + std::string(100, '\x01'));
        for (int i = 0; i < 30; ++i) {
            store.apply(member("ch", "client" + std::to_string(i), "conn", nasty));
        }
        const ViewEncoder encoder(1024);
        const auto round = encoder.snapshot(store, View::ByChannel, kEpoch, 1);
        check_limits(round, 1024);
        CHECK(round.oversized == 30);  // each leaf escapes to well over 1 KiB
        const auto a = assemble(round);
        CHECK(a.hash() == store.hash(View::ByChannel));
    }

    TEST_CASE("a max_message_size below the minimum is a configuration error") {
        CHECK_THROWS_AS(ViewEncoder{100}, Error);
        CHECK_NOTHROW(ViewEncoder{ViewEncoder::kMinMessageSize});
    }
}

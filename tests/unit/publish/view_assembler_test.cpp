// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <presenceagg/view_assembler.hpp>

#include "publish/view_encoder.hpp"
#include "publish_test_support.hpp"
#include "wire/content_hash.hpp"

using namespace presenceagg;
using presenceagg::detail::EncodedRound;
using presenceagg::detail::PendingLeaves;
using presenceagg::detail::RoundBuilder;
using presenceagg::test::FakeStore;
using presenceagg::test::RecordingSink;

namespace {

constexpr std::uint64_t kEpoch = 0xaaaaULL;

std::string leaf(const std::string& conn, std::int64_t ts, const std::string& data = "null") {
    return "{\"data\":" + data + ",\"id\":\"" + conn +
           ":1:0\",\"timestamp\":" + std::to_string(ts) + "}";
}

std::uint64_t leaf_hash(const std::string& ch,
                        const std::string& client,
                        const std::string& conn,
                        std::int64_t ts) {
    return detail::member_leaf_hash(ch, client, conn, conn + ":1:0", ts);
}

struct Leaf {
    std::string channel, client, conn;
    std::optional<std::int64_t> ts;  // nullopt: removed
};

/// A by-channel round over `leaves`, split into parts by `max_size`; `hash` defaults to the
/// correct hash of `state_after`.
std::vector<std::string> round(bool snapshot,
                               std::uint64_t epoch,
                               std::uint64_t seq,
                               std::uint64_t base,
                               const std::vector<Leaf>& leaves,
                               std::uint64_t hash,
                               std::size_t max_size = 65536) {
    RoundBuilder b(View::ByChannel, snapshot, epoch, seq, base, max_size);
    PendingLeaves sorted;
    for (const auto& l : leaves) {
        sorted[{l.channel, l.client, l.conn}] =
            l.ts ? std::optional(leaf(l.conn, *l.ts)) : std::nullopt;
    }
    for (const auto& [path, value] : sorted) {
        b.add(detail::path_views(path, 3).span(), value ? std::string_view(*value) : "null");
    }
    const auto r = b.finish(hash);
    std::vector<std::string> out;
    for (const auto& req : r.requests) {
        for (const auto& m : req.messages) out.push_back(RecordingSink::as_history_json(m));
    }
    return out;
}

std::uint64_t sum(const std::vector<Leaf>& leaves) {
    std::uint64_t h = 0;
    for (const auto& l : leaves) {
        if (l.ts) h += leaf_hash(l.channel, l.client, l.conn, *l.ts);
    }
    return h;
}

AssembleStatus feed_all(ViewAssembler& a, const std::vector<std::string>& messages) {
    AssembleStatus s = AssembleStatus::Stale;
    for (const auto& m : messages) s = a.add(m);
    return s;
}

std::vector<Leaf> many(int n, std::int64_t ts) {
    std::vector<Leaf> out;
    for (int i = 0; i < n; ++i)
        out.push_back({"ch" + std::to_string(i % 4), "client" + std::to_string(i),
                       "conn" + std::to_string(i), ts + i});
    return out;
}

}  // namespace

TEST_SUITE("ViewAssembler") {
    TEST_CASE("parts are collected until the round is complete, in any order") {
        const auto state = many(60, 100);
        auto parts = round(true, kEpoch, 1, 0, state, sum(state), 1024);
        REQUIRE(parts.size() > 3);
        std::reverse(parts.begin(), parts.end());
        ViewAssembler a;
        for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
            CHECK(a.add(parts[i]) == AssembleStatus::PartStored);
            CHECK_FALSE(a.has_state());
        }
        CHECK(a.add(parts.back()) == AssembleStatus::Applied);
        CHECK(a.has_state());
        CHECK(a.seq() == 1);
        CHECK(a.leaves() == 60);
        CHECK(a.hash() == sum(state));
        CHECK(a.view() == View::ByChannel);
        CHECK(a.epoch() == "000000000000aaaa");
    }

    TEST_CASE("a diff applies on its base; removed leaves and emptied objects disappear") {
        const std::vector<Leaf> s1{{"a", "x", "c1", 1}, {"a", "y", "c2", 2}, {"b", "z", "c3", 3}};
        const std::vector<Leaf> s2{{"a", "y", "c2", 5}, {"c", "w", "c4", 6}};
        ViewAssembler a;
        CHECK(feed_all(a, round(true, kEpoch, 1, 0, s1, sum(s1))) == AssembleStatus::Applied);
        const std::vector<Leaf> d{{"a", "x", "c1", std::nullopt},
                                  {"a", "y", "c2", 5},
                                  {"b", "z", "c3", std::nullopt},
                                  {"c", "w", "c4", 6}};
        CHECK(feed_all(a, round(false, kEpoch, 2, 1, d, sum(s2))) == AssembleStatus::Applied);
        CHECK(a.seq() == 2);
        CHECK(a.state_json() == "{\"a\":{\"y\":{\"c2\":" + leaf("c2", 5) +
                                    "}},\"c\":{\"w\":{\"c4\":" + leaf("c4", 6) + "}}}");
    }

    TEST_CASE("a diff that does not apply on the current seq is a gap until the next snapshot") {
        const std::vector<Leaf> s1{{"a", "x", "c1", 1}};
        const std::vector<Leaf> s3{{"a", "x", "c1", 1}, {"a", "y", "c2", 2}};
        ViewAssembler a;
        SUBCASE("a missed round") {
            CHECK(feed_all(a, round(true, kEpoch, 1, 0, s1, sum(s1))) == AssembleStatus::Applied);
            CHECK(feed_all(a, round(false, kEpoch, 3, 2, {{"a", "y", "c2", 2}}, sum(s3))) ==
                  AssembleStatus::Gap);
            CHECK_FALSE(a.has_state());
        }
        SUBCASE("joining mid-stream") {
            CHECK(feed_all(a, round(false, kEpoch, 3, 2, {{"a", "y", "c2", 2}}, sum(s3))) ==
                  AssembleStatus::Gap);
        }
        CHECK(a.gaps() == 1);
        CHECK(feed_all(a, round(false, kEpoch, 4, 3, {{"a", "y", "c2", 2}}, sum(s3))) ==
              AssembleStatus::Gap);
        CHECK(feed_all(a, round(true, kEpoch, 5, 0, s3, sum(s3))) == AssembleStatus::Applied);
        CHECK(a.has_state());
        CHECK(a.seq() == 5);
    }

    TEST_CASE("a hash mismatch invalidates the state until the next snapshot") {
        const std::vector<Leaf> s1{{"a", "x", "c1", 1}};
        ViewAssembler a;
        SUBCASE("in a snapshot") {
            CHECK(feed_all(a, round(true, kEpoch, 1, 0, s1, sum(s1) + 1)) ==
                  AssembleStatus::HashMismatch);
        }
        SUBCASE("in a diff") {
            CHECK(feed_all(a, round(true, kEpoch, 1, 0, s1, sum(s1))) == AssembleStatus::Applied);
            CHECK(feed_all(a, round(false, kEpoch, 2, 1, {{"a", "y", "c2", 2}}, 12345)) ==
                  AssembleStatus::HashMismatch);
        }
        CHECK(a.mismatches() == 1);
        CHECK_FALSE(a.has_state());
        CHECK(a.state_json().empty());
        CHECK(feed_all(a, round(false, kEpoch, 3, 2, {{"a", "z", "c3", 3}}, 0)) ==
              AssembleStatus::Gap);
        CHECK(feed_all(a, round(true, kEpoch, 4, 0, s1, sum(s1))) == AssembleStatus::Applied);
    }

    TEST_CASE("a new epoch resets and waits for its snapshot; the old epoch is then stale") {
        const std::vector<Leaf> s1{{"a", "x", "c1", 1}};
        const std::vector<Leaf> s2{{"b", "y", "c2", 2}};
        ViewAssembler a;
        CHECK(feed_all(a, round(true, kEpoch, 1, 0, s1, sum(s1))) == AssembleStatus::Applied);
        CHECK(feed_all(a, round(false, kEpoch + 1, 2, 1, s2, sum(s2))) == AssembleStatus::Gap);
        CHECK_FALSE(a.has_state());
        CHECK(a.epoch() == "000000000000aaab");
        CHECK(feed_all(a, round(true, kEpoch + 1, 3, 0, s2, sum(s2))) == AssembleStatus::Applied);
        CHECK(a.seq() == 3);
        CHECK(feed_all(a, round(true, kEpoch, 9, 0, s1, sum(s1))) == AssembleStatus::Stale);
        CHECK(a.hash() == sum(s2));
    }

    TEST_CASE("older seqs, redelivered parts and abandoned rounds") {
        const auto state = many(40, 7);
        const auto parts = round(true, kEpoch, 2, 0, state, sum(state), 1024);
        REQUIRE(parts.size() > 2);
        ViewAssembler a;
        CHECK(a.add(parts[0]) == AssembleStatus::PartStored);
        CHECK(a.add(parts[0]) == AssembleStatus::Stale);  // redelivery
        // A later round starts: the incomplete one is dropped.
        const std::vector<Leaf> s3{{"a", "x", "c1", 1}};
        CHECK(feed_all(a, round(true, kEpoch, 3, 0, s3, sum(s3))) == AssembleStatus::Applied);
        CHECK(a.add(parts[1]) == AssembleStatus::Stale);
        CHECK(feed_all(a, round(true, kEpoch, 3, 0, s3, sum(s3))) == AssembleStatus::Stale);
        CHECK(a.seq() == 3);
    }

    TEST_CASE("messages of another view are ignored") {
        ViewAssembler a(ViewAssemblerConfig{View::ByClient});
        const std::vector<Leaf> s1{{"a", "x", "c1", 1}};
        CHECK(feed_all(a, round(true, kEpoch, 1, 0, s1, sum(s1))) == AssembleStatus::OtherView);
        ViewAssembler b;  // follows the first view it sees
        CHECK(feed_all(b, round(true, kEpoch, 1, 0, s1, sum(s1))) == AssembleStatus::Applied);
        FakeStore store;
        const detail::ViewEncoder enc(65536);
        const auto r = enc.snapshot(store, View::Counts, kEpoch, 2);
        CHECK(b.add(RecordingSink::as_history_json(r.requests[0].messages[0])) ==
              AssembleStatus::OtherView);
    }

    TEST_CASE("data may come as JSON text, as an object, or as the bare data object") {
        const std::vector<Leaf> s1{{"a", "x", "c1", 1}};
        const auto text = round(true, kEpoch, 1, 0, s1, sum(s1));
        ViewAssembler reference;
        REQUIRE(feed_all(reference, text) == AssembleStatus::Applied);
        // Pull the data text back out of the history form.
        FakeStore store;
        PresenceMessage m;
        m.channel = "a";
        m.client_id = "x";
        m.connection_id = "c1";
        m.id = "c1:1:0";
        m.timestamp = 1;
        store.apply(m);
        const detail::ViewEncoder enc(65536);
        const auto r = enc.snapshot(store, View::ByChannel, kEpoch, 1);
        const auto& data = r.requests[0].messages[0].data;
        SUBCASE("bare") {
            ViewAssembler a;
            CHECK(a.add(data) == AssembleStatus::Applied);
            CHECK(a.state_json() == reference.state_json());
        }
        SUBCASE("object") {
            ViewAssembler a;
            CHECK(a.add("{\"id\":\"x:0\",\"name\":\"snapshot\",\"timestamp\":5,\"data\":" + data +
                        "}") == AssembleStatus::Applied);
            CHECK(a.state_json() == reference.state_json());
        }
        SUBCASE("text with extra history fields") {
            ViewAssembler a;
            auto line = RecordingSink::as_history_json(r.requests[0].messages[0]);
            line.insert(1,
                        "\"timestamp\":1700000000000,\"serial\":\"01\",\"extras\":{\"a\":[[[]]]},");
            CHECK(a.add(line) == AssembleStatus::Applied);
        }
    }

    TEST_CASE("malformed input is a status, never a crash") {
        const std::vector<Leaf> s1{{"a", "x", "c1", 1}};
        const auto good = round(true, kEpoch, 1, 0, s1, sum(s1))[0];
        const auto data_of = [](std::string body_and_header) {
            std::string line = "{\"name\":\"snapshot\",\"encoding\":\"json\",\"data\":";
            detail::append_json_string(line, body_and_header);
            return line + "}";
        };
        const std::string head =
            "{\"v\":1,\"view\":\"by-channel\",\"epoch\":\"000000000000aaaa\",\"seq\":1,\"kind\":"
            "\"snapshot\",\"part\":0,\"parts\":1,\"hash\":\"0000000000000000\",";
        const std::vector<std::pair<const char*, std::string>> cases{
            {"empty", ""},
            {"not JSON", "{nope"},
            {"an array", "[1,2]"},
            {"no data", "{\"id\":\"a\"}"},
            {"base64 data", "{\"encoding\":\"base64\",\"data\":\"eyJ2IjoxfQ==\"}"},
            {"data is a number", "{\"data\":5}"},
            {"data text is not JSON", data_of("{")},
            {"unsupported version", data_of("{\"v\":2}")},
            {"unknown view", data_of("{\"v\":1,\"view\":\"sideways\"}")},
            {"bad epoch", data_of("{\"v\":1,\"view\":\"by-channel\",\"epoch\":\"XYZ\"}")},
            {"missing body", data_of(head.substr(0, head.size() - 1) + "}")},
            {"body is an array", data_of(head + "\"body\":[]}")},
            {"leaf too shallow", data_of(head + "\"body\":{\"a\":{\"b\":1}}}")},
            {"leaf without id",
             data_of(head + "\"body\":{\"a\":{\"b\":{\"c\":{\"timestamp\":1}}}}}")},
            {"float timestamp",
             data_of(head + "\"body\":{\"a\":{\"b\":{\"c\":{\"id\":\"i\",\"timestamp\":1.5}}}}}")},
            {"part beyond parts",
             data_of("{\"v\":1,\"view\":\"by-channel\",\"epoch\":\"000000000000aaaa\",\"seq\":1,"
                     "\"kind\":\"snapshot\",\"part\":3,\"parts\":1,\"hash\":\"0000000000000000\","
                     "\"body\":{}}")},
            {"diff without base",
             data_of("{\"v\":1,\"view\":\"by-channel\",\"epoch\":\"000000000000aaaa\",\"seq\":1,"
                     "\"kind\":\"diff\",\"part\":0,\"parts\":1,\"hash\":\"0000000000000000\","
                     "\"body\":{}}")},
            {"view after body", data_of("{\"v\":1,\"body\":{},\"view\":\"by-channel\"}")},
            {"trailing garbage", data_of(head + "\"body\":{}} x")},
            {"NUL inside the data", data_of(head + "\"body\":{}}" + std::string(1, '\0'))},
            {"name disagrees with kind",
             "{\"name\":\"diff\"" + good.substr(good.find(",\"encoding\""))},
            {"deep nesting", std::string(200000, '[')},
            {"deep nesting inside a leaf",
             data_of(head + "\"body\":{\"a\":{\"b\":{\"c\":" + std::string(1000, '[') +
                     std::string(1000, ']') + "}}}}")},
        };
        ViewAssembler a;
        std::uint64_t expected = 0;
        for (const auto& c : cases) {
            CAPTURE(c.first);
            CHECK(a.add(c.second) == AssembleStatus::Malformed);
            CHECK(a.malformed() == ++expected);
            CHECK_FALSE(a.last_error().empty());
        }
        CHECK(a.add(good) == AssembleStatus::Applied);
    }

    TEST_CASE("a message larger than the bound is rejected before parsing") {
        ViewAssemblerConfig config;
        config.max_message_bytes = 64;
        ViewAssembler a(config);
        CHECK(a.add(std::string(65, ' ')) == AssembleStatus::Malformed);
    }

    TEST_CASE("status names") {
        CHECK(to_string(AssembleStatus::Applied) == "applied");
        CHECK(to_string(AssembleStatus::HashMismatch) == "hash-mismatch");
        CHECK(to_string(AssembleStatus::OtherView) == "other-view");
    }
}

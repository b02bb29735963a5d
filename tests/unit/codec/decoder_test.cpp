// SPDX-License-Identifier: MIT
// Table tests for every body shape presenceagg::Decoder reads, and every error class.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/decode.hpp>

#include "codec_test_util.hpp"

using presenceagg::ChannelPresence;
using presenceagg::DecodedBatch;
using presenceagg::DecodeLimits;
using presenceagg::Decoder;
using presenceagg::DecodeResult;
using presenceagg::Errc;
using presenceagg::Header;
using presenceagg::PresenceAction;
using presenceagg::PresenceMessage;
using presenceagg::test::contains;
using presenceagg::test::valid_output;

namespace {

constexpr const char* kEnvelope =
    R"({"source":"channel.presence","appId":"AppA1","channel":"presence:lobby",)"
    R"("site":"eu-west-1-A","ruleId":"Rk1x9a","presence":[{"id":"c0nnA:7:0",)"
    R"("clientId":"alice","connectionId":"c0nnA","timestamp":1700000000123,"action":2,)"
    R"("data":"{\"status\":\"online\"}","encoding":"json"}]})";

struct QueueCase {
    const char* name;
    std::string body;
    Errc error;
    const char* message_part;  // must appear in the error message
};

DecodeResult decode_queue(Decoder& d, std::string_view body, DecodedBatch& out) {
    return d.decode_queue_message(body, {}, out);
}

std::vector<Header> headers(std::string action = "enter") {
    return {{"X-ABLY-ENVELOPE-SOURCE", "channel.presence"},
            {"x-ably-envelope-channel", "presence:lobby"},
            {"X-Ably-Envelope-AppId", "AppA1"},
            {"X-ABLY-ENVELOPE-SITE", "eu-west-1-A"},
            {"X-ABLY-ENVELOPE-RULE-ID", "Rk1"},
            {"X-ABLY-MESSAGE-ID", "c0nnA:5:0"},
            {"X-ABLY-MESSAGE-TIMESTAMP", "1700000000123"},
            {"X-ABLY-MESSAGE-CONNECTION-ID", "c0nnA"},
            {"X-ABLY-MESSAGE-CLIENT-ID", "alice"},
            {"X-ABLY-MESSAGE-ACTION", std::move(action)}};
}

}  // namespace

TEST_SUITE("codec decoder: queue envelopes") {
    TEST_CASE(
        "an enveloped presence message decodes into one message with the envelope's channel") {
        Decoder d;
        DecodedBatch batch;
        const auto r = decode_queue(d, kEnvelope, batch);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(batch.messages().size() == 1);
        const PresenceMessage& m = batch.messages()[0];
        CHECK(m.channel == "presence:lobby");
        CHECK(m.id == "c0nnA:7:0");
        CHECK(m.client_id == "alice");
        CHECK(m.connection_id == "c0nnA");
        CHECK(m.action == PresenceAction::Enter);
        CHECK(m.timestamp == 1700000000123);
        CHECK(m.data == R"({"status":"online"})");
        CHECK(m.encoding.empty());
        CHECK(m.extras.empty());
        CHECK(batch.occupancy.empty());
        CHECK(batch.ignored_sources == 0);
        CHECK(valid_output(batch.messages()));
    }

    TEST_CASE("several presence messages in one envelope all decode, in order") {
        Decoder d;
        DecodedBatch batch;
        const std::string body =
            R"({"presence":[)"
            R"({"id":"a:1:0","clientId":"a","connectionId":"a","timestamp":1,"action":"enter"},)"
            R"({"id":"b:1:0","clientId":"b","connectionId":"b","timestamp":2,"action":"leave",)"
            R"("data":null},)"
            R"({"id":"c:1:0","clientId":"c","connectionId":"c","timestamp":3,"action":4,)"
            R"("data":{"x":[1,2,{"y":"z"}]},"extras":{"headers":{"k":"v"}}}],)"
            R"("channel":"late-channel","source":"channel.presence"})";
        const auto r = decode_queue(d, body, batch);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(batch.messages().size() == 3);
        for (const auto& m : batch.messages()) CHECK(m.channel == "late-channel");
        CHECK(batch.messages()[0].action == PresenceAction::Enter);
        CHECK(batch.messages()[0].data == "null");
        CHECK(batch.messages()[1].action == PresenceAction::Leave);
        CHECK(batch.messages()[1].data == "null");
        CHECK(batch.messages()[2].action == PresenceAction::Update);
        CHECK(batch.messages()[2].data == R"({"x":[1,2,{"y":"z"}]})");
        CHECK(batch.messages()[2].extras == R"({"headers":{"k":"v"}})");
        CHECK(valid_output(batch.messages()));
    }

    TEST_CASE("a missing presence timestamp is taken from the envelope, else rejected") {
        Decoder d;
        DecodedBatch batch;
        SUBCASE("envelope timestamp after the array") {
            const auto r = decode_queue(
                d,
                R"({"source":"channel.presence","channel":"c","presence":[{"id":"x:1:0",)"
                R"("clientId":"a","connectionId":"x","action":2}],"timestamp":1700000000999})",
                batch);
            REQUIRE_MESSAGE(r.ok(), r.message);
            CHECK(batch.messages()[0].timestamp == 1700000000999);
        }
        SUBCASE("no envelope timestamp") {
            const auto r = decode_queue(
                d,
                R"({"source":"channel.presence","channel":"c","presence":[{"id":"x:1:0",)"
                R"("clientId":"a","connectionId":"x","action":2,"timestamp":5},{"id":"x:1:1",)"
                R"("clientId":"b","connectionId":"x","action":2}]})",
                batch);
            CHECK(r.error == Errc::MissingField);
            CHECK(r.message == "presence[1].timestamp: missing, and the envelope has no timestamp");
            CHECK(batch.messages().empty());
        }
    }

    TEST_CASE("channel.occupancy envelopes decode into occupancy messages") {
        Decoder d;
        DecodedBatch batch;
        SUBCASE("occupancy as an array") {
            const auto r = decode_queue(
                d,
                R"({"source":"channel.occupancy","appId":"AppA1","channel":"presence:lobby",)"
                R"("site":"eu-west-1-A","ruleId":"Oc9","timestamp":1700000000500,)"
                R"("occupancy":[{"metrics":{"connections":3,"publishers":3,"subscribers":3,)"
                R"("presenceConnections":3,"presenceMembers":2,"presenceSubscribers":3,)"
                R"("objectPublishers":0}}]})",
                batch);
            REQUIRE_MESSAGE(r.ok(), r.message);
            REQUIRE(batch.occupancy.size() == 1);
            const auto& o = batch.occupancy[0];
            CHECK(o.channel == "presence:lobby");
            CHECK(o.timestamp == 1700000000500);
            CHECK(o.metrics.connections == 3);
            CHECK(o.metrics.publishers == 3);
            CHECK(o.metrics.subscribers == 3);
            CHECK(o.metrics.presence_connections == 3);
            CHECK(o.metrics.presence_members == 2);
            CHECK(o.metrics.presence_subscribers == 3);
            CHECK(batch.messages().empty());
        }
        SUBCASE("occupancy as an object, no timestamp") {
            const auto r = decode_queue(d,
                                        R"({"source":"channel.occupancy","channel":"c2",)"
                                        R"("occupancy":{"metrics":{"presenceMembers":7}}})",
                                        batch);
            REQUIRE_MESSAGE(r.ok(), r.message);
            REQUIRE(batch.occupancy.size() == 1);
            CHECK(batch.occupancy[0].channel == "c2");
            CHECK(batch.occupancy[0].timestamp == 0);
            CHECK(batch.occupancy[0].metrics.presence_members == 7);
            CHECK(batch.occupancy[0].metrics.connections == 0);
        }
        SUBCASE("metrics missing") {
            const auto r = decode_queue(
                d, R"({"source":"channel.occupancy","channel":"c","occupancy":[{}]})", batch);
            CHECK(r.error == Errc::MissingField);
            CHECK(r.message == "occupancy[0].metrics: missing");
            CHECK(batch.occupancy.empty());
        }
    }

    TEST_CASE("channel.message and channel.lifecycle are counted as ignored, not errors") {
        Decoder d;
        DecodedBatch batch;
        for (const char* body :
             {R"({"source":"channel.message","channel":"c","messages":[{"data":"x"}]})",
              R"({"source":"channel.lifecycle","channel":"c","status":{"isActive":true}})"}) {
            CAPTURE(body);
            const auto r = decode_queue(d, body, batch);
            CHECK_MESSAGE(r.ok(), r.message);
        }
        CHECK(batch.ignored_sources == 2);
        CHECK(batch.messages().empty());
        CHECK(batch.occupancy.empty());
    }

    TEST_CASE("batches accumulate across calls until clear(), and spare messages are reused") {
        Decoder d;
        DecodedBatch batch;
        REQUIRE(decode_queue(d, kEnvelope, batch).ok());
        REQUIRE(decode_queue(d, kEnvelope, batch).ok());
        CHECK(batch.presence_count == 2);
        const auto* first = batch.presence.data();
        batch.clear();
        CHECK(batch.messages().empty());
        REQUIRE(decode_queue(d, kEnvelope, batch).ok());
        CHECK(batch.presence.data() == first);  // no reallocation: the spare was recycled
        CHECK(batch.presence_count == 1);
        CHECK(batch.messages()[0].client_id == "alice");
    }

    TEST_CASE("a rejected body leaves the batch exactly as it was") {
        Decoder d;
        DecodedBatch batch;
        REQUIRE(decode_queue(d, kEnvelope, batch).ok());
        const std::string bad =
            R"({"source":"channel.presence","channel":"c","presence":[{"id":"x:1:0",)"
            R"("clientId":"ok","connectionId":"x","action":2,"timestamp":1},{"id":"x:1:1",)"
            R"("clientId":"bad","connectionId":"x","action":9,"timestamp":1}]})";
        const auto r = decode_queue(d, bad, batch);
        CHECK(r.error == Errc::UnknownAction);
        CHECK(batch.presence_count == 1);
        CHECK(batch.messages()[0].client_id == "alice");
        CHECK(batch.ignored_sources == 0);
    }

    TEST_CASE("errors name the field and the element index") {
        const std::string ok_elem =
            R"({"id":"x:1:0","clientId":"a","connectionId":"x","timestamp":1,"action":2})";
        auto env = [&](const std::string& elem) {
            return R"({"source":"channel.presence","channel":"c","presence":[)" + ok_elem + "," +
                   elem + "]}";
        };
        const std::vector<QueueCase> cases = {
            {"not JSON", "{\"source\":", Errc::InvalidJson, "body: not valid JSON"},
            {"trailing garbage", std::string(kEnvelope) + "x", Errc::InvalidJson, "not valid JSON"},
            {"embedded NUL after the root", std::string(kEnvelope) + std::string(1, '\0') + "x",
             Errc::InvalidJson, "NUL byte"},
            {"root is an array", "[1]", Errc::WrongType, "body: expected a JSON object"},
            {"root is a string", "\"x\"", Errc::WrongType, "body: expected a JSON object"},
            {"empty body", "", Errc::InvalidJson, "not valid JSON"},
            {"source missing", R"({"channel":"c","presence":[]})", Errc::MissingField,
             "source: missing"},
            {"unknown source", R"({"source":"channel.weird","channel":"c"})", Errc::UnknownSource,
             "source: unknown source \"channel.weird\""},
            {"channel missing", R"({"source":"channel.presence","presence":[]})",
             Errc::MissingField, "channel: missing"},
            {"presence missing", R"({"source":"channel.presence","channel":"c"})",
             Errc::MissingField, "presence: missing"},
            {"presence not an array",
             R"({"source":"channel.presence","channel":"c","presence":{}})", Errc::WrongType,
             "presence: expected an array"},
            {"element not an object", env("7"), Errc::WrongType, "presence[1]: expected an object"},
            {"clientId missing",
             env(R"({"id":"x:1:1","connectionId":"x","timestamp":1,"action":2})"),
             Errc::MissingField, "presence[1].clientId: missing"},
            {"clientId null",
             env(R"({"id":"x:1:1","clientId":null,"connectionId":"x","timestamp":1,"action":2})"),
             Errc::MissingField, "presence[1].clientId: missing"},
            {"connectionId missing",
             env(R"({"id":"x:1:1","clientId":"b","timestamp":1,"action":2})"), Errc::MissingField,
             "presence[1].connectionId: missing"},
            {"action missing",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1})"),
             Errc::MissingField, "presence[1].action: missing"},
            {"id missing", env(R"({"clientId":"b","connectionId":"x","timestamp":1,"action":2})"),
             Errc::MissingField, "presence[1].id: missing"},
            {"clientId a number",
             env(R"({"id":"x:1:1","clientId":5,"connectionId":"x","timestamp":1,"action":2})"),
             Errc::WrongType, "presence[1].clientId: expected a string"},
            {"clientId an object",
             env(R"({"id":"x:1:1","clientId":{},"connectionId":"x","timestamp":1,"action":2})"),
             Errc::WrongType, "presence[1].clientId: expected a string"},
            {"action out of range",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1,"action":5})"),
             Errc::UnknownAction, "presence[1].action: \"5\" is not a presence action"},
            {"action negative",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1,"action":-1})"),
             Errc::UnknownAction, "presence[1].action"},
            {"action fractional",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1,"action":2.0})"),
             Errc::UnknownAction, "presence[1].action"},
            {"action unknown name",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1,"action":"Enter"})"),
             Errc::UnknownAction, "\"Enter\" is not a presence action"},
            {"action boolean",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1,"action":true})"),
             Errc::UnknownAction, "true is not a presence action"},
            {"action object",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1,"action":{}})"),
             Errc::UnknownAction, "presence[1].action"},
            {"timestamp fractional",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1.5,"action":2})"),
             Errc::WrongType, "presence[1].timestamp: expected an integer, got \"1.5\""},
            {"timestamp with exponent",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1e12,"action":2})"),
             Errc::WrongType, "presence[1].timestamp: expected an integer"},
            {"timestamp beyond int64",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x",)"
                 R"("timestamp":9223372036854775808,"action":2})"),
             Errc::WrongType, "is outside the int64 range"},
            {"timestamp far beyond int64",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x",)"
                 R"("timestamp":-99999999999999999999999,"action":2})"),
             Errc::WrongType, "is outside the int64 range"},
            {"timestamp a string",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":"1","action":2})"),
             Errc::WrongType, "presence[1].timestamp: expected an integer"},
            {"extras not an object",
             env(R"({"id":"x:1:1","clientId":"b","connectionId":"x","timestamp":1,"action":2,)"
                 R"("extras":[1]})"),
             Errc::WrongType, "presence[1].extras: expected an object"},
            {"envelope timestamp a string",
             R"({"source":"channel.presence","channel":"c","timestamp":"now","presence":[]})",
             Errc::WrongType, "timestamp: expected an integer"},
            {"metric not an integer",
             R"({"source":"channel.occupancy","channel":"c","occupancy":[{"metrics":)"
             R"({"connections":1.5}}]})",
             Errc::WrongType, "occupancy[0].metrics.connections: expected an integer"},
            {"huge number in an ignored field is fine but must be valid JSON",
             R"({"source":"channel.presence","channel":"c","presence":[],"x":1e99999})",
             Errc::InvalidJson, "not valid JSON"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            Decoder d;
            DecodedBatch batch;
            const auto r = decode_queue(d, c.body, batch);
            CHECK(r.error == c.error);
            CHECK_MESSAGE(contains(r.message, c.message_part), r.message);
            CHECK(batch.messages().empty());
            CHECK(batch.occupancy.empty());
        }
    }

    TEST_CASE("numbers in range and edge integers are accepted exactly") {
        Decoder d;
        DecodedBatch batch;
        const auto r = decode_queue(
            d,
            R"({"source":"channel.presence","channel":"c","presence":[)"
            R"({"id":"x:1:0","clientId":"a","connectionId":"x","action":2,)"
            R"("timestamp":9223372036854775807},)"
            R"({"id":"x:1:1","clientId":"b","connectionId":"x","action":2,)"
            R"("timestamp":-9223372036854775808},)"
            R"({"id":"x:1:2","clientId":"c","connectionId":"x","action":0,"timestamp":0,)"
            R"("data":123456789012345678901234567890.5e-3}]})",
            batch);
        REQUIRE_MESSAGE(r.ok(), r.message);
        CHECK(batch.messages()[0].timestamp == INT64_MAX);
        CHECK(batch.messages()[1].timestamp == INT64_MIN);
        CHECK(batch.messages()[2].action == PresenceAction::Absent);
        // Non-integer data numbers are kept as their exact text.
        CHECK(batch.messages()[2].data == "123456789012345678901234567890.5e-3");
    }

    TEST_CASE("duplicate keys: the last one wins, as in JavaScript") {
        Decoder d;
        DecodedBatch batch;
        const auto r = decode_queue(
            d,
            R"({"source":"channel.message","source":"channel.presence","channel":"a",)"
            R"("channel":"b","presence":[{"id":"gone:1:0","clientId":"gone",)"
            R"("connectionId":"gone","timestamp":1,"action":2}],)"
            R"("presence":[{"id":"x:1:0","clientId":"a","clientId":"z","connectionId":"x",)"
            R"("timestamp":1,"action":2,"action":3,"data":{"first":1},"data":"second"}]})",
            batch);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(batch.messages().size() == 1);
        const auto& m = batch.messages()[0];
        CHECK(m.channel == "b");
        CHECK(m.client_id == "z");
        CHECK(m.action == PresenceAction::Leave);
        CHECK(m.data == "\"second\"");
        CHECK(batch.ignored_sources == 0);
    }

    TEST_CASE("unicode identifiers survive unchanged; escapes are decoded") {
        Decoder d;
        DecodedBatch batch;
        const auto r = decode_queue(
            d,
            "{\"source\":\"channel.presence\",\"channel\":\"rooms/\xC3\xA9t\xC3\xA9:1\","
            "\"presence\":[{\"id\":\"c:1:0\",\"clientId\":\"user:42/\xF0\x9F\x98\x80\","
            "\"connectionId\":\"c\",\"timestamp\":1,\"action\":2,"
            "\"data\":\"\\ud83d\\ude00 \\u00e9\\n\"}]}",
            batch);
        REQUIRE_MESSAGE(r.ok(), r.message);
        const auto& m = batch.messages()[0];
        CHECK(m.channel == "rooms/\xC3\xA9t\xC3\xA9:1");
        CHECK(m.client_id == "user:42/\xF0\x9F\x98\x80");
        CHECK(m.data == "\"\xF0\x9F\x98\x80 \xC3\xA9\\n\"");
        CHECK(valid_output(batch.messages()));
    }

    TEST_CASE("invalid UTF-8 anywhere in the body rejects it, naming the field") {
        struct Case {
            const char* name;
            std::string body;
            const char* where;
        };
        const std::string bad = "\xC3\x28";            // broken 2-byte sequence
        const std::string surrogate = "\xED\xA0\x80";  // encoded UTF-16 surrogate
        const std::string overlong = "\xC0\xAF";
        auto env = [](const std::string& field, const std::string& value) {
            std::string elem = R"({"id":"x:1:0","clientId":"a","connectionId":"x",)"
                               R"("timestamp":1,"action":2,)";
            elem += "\"" + field + "\":\"" + value + "\"}";
            return R"({"source":"channel.presence","channel":"c","presence":[)" + elem + "]}";
        };
        const std::vector<Case> cases = {
            {"clientId", env("clientId", bad), "presence[0].clientId"},
            {"id", env("id", surrogate), "presence[0].id"},
            {"connectionId", env("connectionId", overlong), "presence[0].connectionId"},
            {"data", env("data", bad), "presence[0].data"},
            {"encoding", env("encoding", bad), "presence[0].encoding"},
            {"lone low surrogate escape", env("clientId", "\\udc00"), "presence[0].clientId"},
            {"channel", R"({"source":"channel.presence","presence":[],"channel":")" + bad + "\"}",
             "channel"},
            {"unknown field",
             R"({"source":"channel.presence","channel":"c","presence":[],"x":")" + bad + "\"}",
             "x"},
            {"key", R"({"source":"channel.presence","channel":"c","presence":[],")" + bad + "\":1}",
             "an object key"},
            {"nested data string",
             R"({"source":"channel.presence","channel":"c","presence":[{"id":"x:1:0",)"
             R"("clientId":"a","connectionId":"x","timestamp":1,"action":2,"data":{"k":")" +
                 bad + "\"}}]}",
             "presence[0].data"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            Decoder d;
            DecodedBatch batch;
            const auto r = decode_queue(d, c.body, batch);
            CHECK(r.error == Errc::InvalidUtf8);
            CHECK_MESSAGE(contains(r.message, c.where), r.message);
            CHECK(batch.messages().empty());
        }
    }

    TEST_CASE("limits: body, strings, member data and nesting") {
        DecodeLimits limits;
        limits.max_body_bytes = 4096;
        limits.max_string_bytes = 16;
        limits.max_member_data_bytes = 64;
        limits.max_depth = 8;
        Decoder d(limits);
        DecodedBatch batch;
        auto with = [](const std::string& extra) {
            return R"({"source":"channel.presence","channel":"c","presence":[{"id":"x:1:0",)"
                   R"("clientId":"a","connectionId":"x","timestamp":1,"action":2,)" +
                   extra + "}]}";
        };
        SUBCASE("body") {
            const auto r = decode_queue(d, std::string(5000, ' '), batch);
            CHECK(r.error == Errc::TooLarge);
            CHECK(contains(r.message, "max_body_bytes"));
        }
        SUBCASE("string") {
            const auto r = decode_queue(d, with(R"("encoding":"utf-8/utf-8/utf-8/utf-8")"), batch);
            CHECK(r.error == Errc::TooLarge);
            CHECK(contains(r.message, "presence[0].encoding"));
            const auto r2 =
                decode_queue(d,
                             R"({"source":"channel.presence","channel":"a-very-long-channel-name",)"
                             R"("presence":[]})",
                             batch);
            CHECK(r2.error == Errc::TooLarge);
            CHECK(contains(r2.message, "channel: 24 bytes exceeds max_string_bytes (16)"));
        }
        SUBCASE("member data, plain and json-encoded") {
            const std::string big(100, 'x');
            const auto r = decode_queue(d, with("\"data\":\"" + big + "\""), batch);
            CHECK(r.error == Errc::TooLarge);
            CHECK(contains(r.message, "presence[0].data"));
            const auto r2 = decode_queue(d, with(R"("data":{"k":")" + big + "\"}"), batch);
            CHECK(r2.error == Errc::TooLarge);
            CHECK(contains(r2.message, "presence[0].data"));
            const auto r3 =
                decode_queue(d, with(R"("encoding":"json","data":"[\")" + big + R"(\"]")"), batch);
            CHECK(r3.error == Errc::TooLarge);
        }
        SUBCASE("nesting in the body and in json-encoded data") {
            const auto r = decode_queue(d, with(R"("data":[[[[[[[[[[1]]]]]]]]]])"), batch);
            CHECK(r.error == Errc::TooDeep);
            CHECK(contains(r.message, "presence[0].data"));
            const auto r2 = decode_queue(
                d, with(R"("encoding":"json","data":"[[[[[[[[[[[[1]]]]]]]]]]]]")"), batch);
            CHECK(r2.error == Errc::TooDeep);
            CHECK(contains(r2.message, "presence[0].data"));
            const auto r3 = decode_queue(d, with(R"("skipped":[[[[[[[[[[1]]]]]]]]]])"), batch);
            CHECK(r3.error == Errc::TooDeep);
        }
        CHECK(batch.messages().empty());
    }

    TEST_CASE("deep nesting far beyond the limit is refused without exhausting the stack") {
        for (std::size_t max_depth : {std::size_t{64}, std::size_t{100000}}) {
            CAPTURE(max_depth);
            DecodeLimits limits;
            limits.max_depth = max_depth;
            Decoder d(limits);
            DecodedBatch batch;
            const std::string deep = std::string(200000, '[') + std::string(200000, ']');
            const auto r = decode_queue(
                d, R"({"source":"channel.presence","channel":"c","x":)" + deep + "}", batch);
            CHECK(r.error == Errc::TooDeep);
        }
    }
}

TEST_SUITE("codec decoder: non-enveloped queue messages") {
    TEST_CASE("headers give the message fields; the body is the data") {
        struct Case {
            const char* name;
            std::vector<Header> extra;
            std::string body;
            std::string data;
            std::string encoding;
        };
        const std::string binary("\x00\xFF\x10", 3);
        const std::vector<Case> cases = {
            {"json by content type",
             {{"content-type", "application/json; charset=utf-8"}},
             "{ \"a\" : [1, 2] }",
             R"({"a":[1,2]})",
             ""},
            {"json by AMQP content_type",
             {{"content_type", "application/json"}},
             "[true]",
             "[true]",
             ""},
            {"json by encoding header",
             {{"x-ably-message-encoding", "json"}},
             "{\"k\":1}",
             R"({"k":1})",
             ""},
            {"claimed json that does not parse is text",
             {{"content-type", "application/json"}},
             "not json",
             "\"not json\"",
             ""},
            {"text", {{"content-type", "text/plain"}}, "hello \"you\"", R"("hello \"you\"")", ""},
            {"text without content type", {}, "{\"a\":1}", R"("{\"a\":1}")", ""},
            {"empty body", {}, "", "\"\"", ""},
            {"binary",
             {{"content-type", "application/octet-stream"}},
             binary,
             "\"AP8Q\"",
             "base64"},
            {"encrypted binary",
             {{"x-ably-encoding", "cipher+aes-128-cbc"}},
             binary,
             "\"AP8Q\"",
             "cipher+aes-128-cbc/base64"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            Decoder d;
            DecodedBatch batch;
            auto h = headers();
            h.insert(h.end(), c.extra.begin(), c.extra.end());
            const auto r = d.decode_queue_message(c.body, h, batch);
            REQUIRE_MESSAGE(r.ok(), r.message);
            REQUIRE(batch.messages().size() == 1);
            const auto& m = batch.messages()[0];
            CHECK(m.channel == "presence:lobby");
            CHECK(m.id == "c0nnA:5:0");
            CHECK(m.client_id == "alice");
            CHECK(m.connection_id == "c0nnA");
            CHECK(m.action == PresenceAction::Enter);
            CHECK(m.timestamp == 1700000000123);
            CHECK(m.data == c.data);
            CHECK(m.encoding == c.encoding);
            CHECK(valid_output(batch.messages()));
        }
    }

    TEST_CASE("the action header may be a name or an integer") {
        struct Case {
            const char* text;
            PresenceAction action;
        };
        for (const Case& c :
             {Case{"leave", PresenceAction::Leave}, Case{"4", PresenceAction::Update},
              Case{"1", PresenceAction::Present}}) {
            CAPTURE(c.text);
            Decoder d;
            DecodedBatch batch;
            REQUIRE(d.decode_queue_message("x", headers(c.text), batch).ok());
            CHECK(batch.messages()[0].action == c.action);
        }
        Decoder d;
        DecodedBatch batch;
        const auto r = d.decode_queue_message("x", headers("joined"), batch);
        CHECK(r.error == Errc::UnknownAction);
        CHECK(contains(r.message, "X-ABLY-MESSAGE-ACTION"));
    }

    TEST_CASE("missing or malformed headers are named in the error") {
        struct Case {
            const char* drop;
            Errc error;
        };
        for (const auto& c : {Case{"X-ABLY-MESSAGE-ID", Errc::MissingField},
                              Case{"X-ABLY-MESSAGE-CLIENT-ID", Errc::MissingField},
                              Case{"X-ABLY-MESSAGE-CONNECTION-ID", Errc::MissingField},
                              Case{"X-ABLY-MESSAGE-ACTION", Errc::MissingField},
                              Case{"X-ABLY-MESSAGE-TIMESTAMP", Errc::MissingField},
                              Case{"x-ably-envelope-channel", Errc::MissingField}}) {
            CAPTURE(c.drop);
            auto h = headers();
            std::erase_if(h, [&](const Header& x) { return x.name == c.drop; });
            Decoder d;
            DecodedBatch batch;
            const auto r = d.decode_queue_message("x", h, batch);
            CHECK(r.error == c.error);
            CHECK(contains(r.message, "header: missing"));
            CHECK(batch.messages().empty());
        }
        auto h = headers();
        h[6].value = "12.5";
        Decoder d;
        DecodedBatch batch;
        auto r = d.decode_queue_message("x", h, batch);
        CHECK(r.error == Errc::WrongType);
        CHECK(contains(r.message, "X-ABLY-MESSAGE-TIMESTAMP"));
        h = headers();
        h[8].value = "\xFF";
        r = d.decode_queue_message("x", h, batch);
        CHECK(r.error == Errc::InvalidUtf8);
        CHECK(contains(r.message, "X-ABLY-MESSAGE-CLIENT-ID"));
    }

    TEST_CASE("other header sources: ignored, occupancy bodies, unknown") {
        Decoder d;
        DecodedBatch batch;
        CHECK(d.decode_queue_message("anything", {{{"x-ably-envelope-source", "channel.message"}}},
                                     batch)
                  .ok());
        CHECK(batch.ignored_sources == 1);
        const std::vector<Header> occ = {{"X-ABLY-ENVELOPE-SOURCE", "channel.occupancy"},
                                         {"X-ABLY-ENVELOPE-CHANNEL", "room"}};
        const auto r =
            d.decode_queue_message(R"({"occupancy":[{"metrics":{"connections":2}}]})", occ, batch);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(batch.occupancy.size() == 1);
        CHECK(batch.occupancy[0].channel == "room");
        CHECK(batch.occupancy[0].metrics.connections == 2);
        const auto bad =
            d.decode_queue_message("x", {{{"X-ABLY-ENVELOPE-SOURCE", "channel.other"}}}, batch);
        CHECK(bad.error == Errc::UnknownSource);
    }
}

TEST_SUITE("codec decoder: webhooks") {
    TEST_CASE("a batched webhook body decodes presence and occupancy items") {
        Decoder d;
        DecodedBatch batch;
        const std::string body =
            R"({"items":[)"
            R"({"webhookId":"Wh1","source":"channel.presence","serial":"s9x:2",)"
            R"("timestamp":1700000000200,"name":"presence.message","data":{)"
            R"("channelId":"presence:lobby","site":"eu-west-1-A","presence":[)"
            R"({"id":"c0nnA:8:0","clientId":"alice","connectionId":"c0nnA",)"
            R"("timestamp":1700000000190,"action":3},)"
            R"({"id":"c0nnB:1:0","clientId":"bob","connectionId":"c0nnB","action":2,)"
            R"("data":"aGk=","encoding":"utf-8/base64"}]}},)"
            R"({"webhookId":"Wh1","source":"channel.occupancy","serial":"s9x:3",)"
            R"("timestamp":1700000000300,"name":"channel.occupancy","data":{)"
            R"("channelId":"presence:lobby","occupancy":{"metrics":{"presenceMembers":1}}}},)"
            R"({"webhookId":"Wh1","source":"channel.lifecycle","name":"channel.opened",)"
            R"("data":{"channelId":"x","status":{"isActive":true}}},)"
            R"({"webhookId":"Wh1","source":"channel.message","name":"channel.message",)"
            R"("data":{"channelId":"x","messages":[{"data":"hello"}]}}]})";
        const auto r = d.decode_webhook(body, batch);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(batch.messages().size() == 2);
        CHECK(batch.messages()[0].channel == "presence:lobby");
        CHECK(batch.messages()[0].action == PresenceAction::Leave);
        CHECK(batch.messages()[0].timestamp == 1700000000190);
        CHECK(batch.messages()[1].client_id == "bob");
        CHECK(batch.messages()[1].timestamp == 1700000000200);  // from the item
        CHECK(batch.messages()[1].data == "\"hi\"");
        REQUIRE(batch.occupancy.size() == 1);
        CHECK(batch.occupancy[0].channel == "presence:lobby");
        CHECK(batch.occupancy[0].timestamp == 1700000000300);
        CHECK(batch.occupancy[0].metrics.presence_members == 1);
        CHECK(batch.ignored_sources == 2);
        CHECK(valid_output(batch.messages()));
    }

    TEST_CASE("webhook errors name the item") {
        const std::vector<QueueCase> cases = {
            {"no items", R"({"other":1})", Errc::MissingField, "items: missing"},
            {"items not an array", R"({"items":{}})", Errc::WrongType, "items: expected an array"},
            {"item without source", R"({"items":[{"data":{"channelId":"c","presence":[]}}]})",
             Errc::MissingField, "items[0].source: missing"},
            {"unknown source", R"({"items":[{"source":"x","data":{}}]})", Errc::UnknownSource,
             "items[0].source: unknown source"},
            {"no channelId",
             R"({"items":[{"source":"channel.presence","timestamp":1,"data":{"presence":[]}}]})",
             Errc::MissingField, "items[0].data.channelId: missing"},
            {"no presence", R"({"items":[{"source":"channel.presence","data":{"channelId":"c"}}]})",
             Errc::MissingField, "items[0].data.presence: missing"},
            {"member without timestamp anywhere",
             R"({"items":[{"source":"channel.presence","data":{"channelId":"c","presence":[)"
             R"({"id":"x:1:0","clientId":"a","connectionId":"x","action":2}]}}]})",
             Errc::MissingField, "items[0].data.presence[0].timestamp: missing"},
            {"bad member",
             R"({"items":[{"source":"channel.presence","timestamp":1,"data":{"channelId":"c",)"
             R"("presence":[{"id":"x:1:0","clientId":"a","action":2}]}}]})",
             Errc::MissingField, "items[0].data.presence[0].connectionId: missing"},
            {"data not an object", R"({"items":[{"source":"channel.presence","data":[]}]})",
             Errc::WrongType, "items[0].data: expected an object"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            Decoder d;
            DecodedBatch batch;
            const auto r = d.decode_webhook(c.body, batch);
            CHECK(r.error == c.error);
            CHECK_MESSAGE(contains(r.message, c.message_part), r.message);
            CHECK(batch.messages().empty());
            CHECK(batch.ignored_sources == 0);
        }
    }
}

TEST_SUITE("codec decoder: REST presence") {
    TEST_CASE("a channel presence page decodes with the given channel") {
        Decoder d;
        std::vector<PresenceMessage> out;
        const auto r = d.decode_channel_presence(
            R"([{"id":"c1:3:0","clientId":"a","connectionId":"c1","timestamp":10,"action":1,)"
            R"("data":"{\"n\":1}","encoding":"json"},)"
            R"({"id":"c2:1:0","clientId":"b","connectionId":"c2","timestamp":11,"action":1}])",
            "room/1", out);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(out.size() == 2);
        CHECK(out[0].channel == "room/1");
        CHECK(out[0].action == PresenceAction::Present);
        CHECK(out[0].data == R"({"n":1})");
        CHECK(out[1].data == "null");
        CHECK(valid_output(out));
        // Pages append; a bad page appends nothing.
        CHECK(d.decode_channel_presence("[]", "room/1", out).ok());
        const auto bad = d.decode_channel_presence(
            R"([{"id":"c3:1:0","clientId":"c","connectionId":"c3","timestamp":1,"action":1},)"
            R"({"id":"c4:1:0","clientId":"d","connectionId":"c4","action":1}])",
            "room/1", out);
        CHECK(bad.error == Errc::MissingField);
        CHECK(bad.message == "[1].timestamp: missing");
        CHECK(out.size() == 2);
        CHECK(d.decode_channel_presence("{}", "room/1", out).error == Errc::WrongType);
    }

    TEST_CASE("batch presence: the v2 result object, with per-channel errors") {
        Decoder d;
        std::vector<ChannelPresence> out;
        const auto r = d.decode_batch_presence(
            R"({"successCount":1,"failureCount":1,"results":[)"
            R"({"channel":"a","presence":[{"id":"c1:1:0","clientId":"x","connectionId":"c1",)"
            R"("timestamp":5,"action":1,"data":"hi"}]},)"
            R"({"channel":"b","error":{"code":40160,"statusCode":401,"message":"no access",)"
            R"("href":"https://help.ably.io/error/40160"}}]})",
            out);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(out.size() == 2);
        CHECK(out[0].channel == "a");
        CHECK(!out[0].error);
        REQUIRE(out[0].members.size() == 1);
        CHECK(out[0].members[0].channel == "a");
        CHECK(out[0].members[0].data == "\"hi\"");
        CHECK(out[1].channel == "b");
        CHECK(out[1].error == Errc::AblyUnauthorized);
        CHECK(out[1].ably_error_code == 40160);
        CHECK(out[1].error_message == "no access");
        CHECK(out[1].members.empty());
    }

    TEST_CASE("batch presence: the older bare array and the 40020 partial failure") {
        Decoder d;
        std::vector<ChannelPresence> out;
        auto r = d.decode_batch_presence(
            R"([{"channel":"a","presence":[]},{"presence":[{"id":"c:1:0","clientId":"x",)"
            R"("connectionId":"c","timestamp":1,"action":1}],"channel":"b"}])",
            out);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(out.size() == 2);
        CHECK(out[1].channel == "b");
        CHECK(out[1].members.at(0).channel == "b");
        out.clear();
        r = d.decode_batch_presence(
            R"({"error":{"code":40020,"statusCode":400,"message":"Batched response includes )"
            R"(errors"},"batchResponse":[{"channel":"a","presence":[]},)"
            R"({"channel":"b","error":{"code":50000,"statusCode":500,"message":"boom"}},)"
            R"({"channel":"c","error":{"code":42910,"statusCode":429,"message":"slow"}}]})",
            out);
        REQUIRE_MESSAGE(r.ok(), r.message);
        REQUIRE(out.size() == 3);
        CHECK(!out[0].error);
        CHECK(out[1].error == Errc::AblyServerError);
        CHECK(out[2].error == Errc::AblyRateLimited);
        CHECK(out[2].ably_error_code == 42910);
    }

    TEST_CASE("batch presence errors") {
        const std::vector<QueueCase> cases = {
            {"plain error body", R"({"error":{"code":40160,"statusCode":401,"message":"denied"}})",
             Errc::AblyUnauthorized, "Ably error 40160 (HTTP 401): denied"},
            {"no results", R"({"successCount":0})", Errc::MissingField, "results: missing"},
            {"result without channel", R"({"results":[{"presence":[]}]})", Errc::MissingField,
             "results[0].channel: missing"},
            {"result with neither", R"([{"channel":"a"}])", Errc::MissingField,
             "[0].presence: missing"},
            {"bad member", R"([{"channel":"a","presence":[{"id":"c:1:0"}]}])", Errc::MissingField,
             "[0].presence[0].clientId: missing"},
            {"scalar root", "3", Errc::WrongType, "body: expected"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            Decoder d;
            std::vector<ChannelPresence> out(1);
            const auto r = d.decode_batch_presence(c.body, out);
            CHECK(r.error == c.error);
            CHECK_MESSAGE(contains(r.message, c.message_part), r.message);
            CHECK(out.size() == 1);
        }
    }
}

TEST_SUITE("codec decoder: lifecycle") {
    TEST_CASE("a moved-from decoder reports an error instead of crashing") {
        Decoder a;
        Decoder b(std::move(a));
        DecodedBatch batch;
        CHECK(b.decode_queue_message(kEnvelope, {}, batch).ok());
        // NOLINTNEXTLINE(bugprone-use-after-move): exactly what is under test
        CHECK(a.decode_queue_message(kEnvelope, {}, batch).error == Errc::InvalidConfig);
    }
}

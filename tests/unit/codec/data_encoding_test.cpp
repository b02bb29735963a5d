// SPDX-License-Identifier: MIT
// data + encoding: every step, chains, binary, encrypted and unknown steps, and failures.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/decode.hpp>

#include "codec_test_util.hpp"

using presenceagg::DecodedBatch;
using presenceagg::Decoder;
using presenceagg::Errc;
using presenceagg::test::contains;
using presenceagg::test::valid_output;

namespace {

// `data_json` is the JSON text of the data member as it appears in the body.
std::string envelope(const std::string& data_json, const std::string& encoding) {
    std::string elem = R"({"id":"x:1:0","clientId":"a","connectionId":"x","timestamp":1,)"
                       R"("action":2,"data":)" +
                       data_json;
    if (!encoding.empty()) elem += R"(,"encoding":")" + encoding + "\"";
    elem += "}";
    return R"({"source":"channel.presence","channel":"c","presence":[)" + elem + "]}";
}

}  // namespace

TEST_SUITE("codec data encodings") {
    TEST_CASE("encodings are undone right to left into one compact JSON value") {
        struct Case {
            const char* name;
            std::string data_json;
            std::string encoding;
            std::string data;
            std::string remaining;
        };
        const std::vector<Case> cases = {
            {"plain string", R"("hello")", "", R"("hello")", ""},
            {"string with escapes", R"("a\"b\\c\u0001\/")", "", R"("a\"b\\c\u0001/")", ""},
            {"json object", R"("{\"a\": 1, \"b\" : [true, null]}")", "json",
             R"({"a":1,"b":[true,null]})", ""},
            {"json array with whitespace", "\" [ 1 ,\\n 2 ] \"", "json", "[1,2]", ""},
            {"json string value", R"("\"str\"")", "json", R"("str")", ""},
            {"json number keeps its text", R"("1.50e+3")", "json", "1.50e+3", ""},
            {"json with unicode escapes", R"("{\"k\":\"\\u00e9\\ud83d\\ude00\"}")", "json",
             "{\"k\":\"\xC3\xA9\xF0\x9F\x98\x80\"}", ""},
            {"utf-8", R"("hello")", "utf-8", R"("hello")", ""},
            {"utf8 spelling", R"("hello")", "utf8", R"("hello")", ""},
            {"utf-8 over base64", R"("aGVsbG8=")", "utf-8/base64", R"("hello")", ""},
            {"utf-8 over unpadded base64", R"("aGVsbG8")", "utf-8/base64", R"("hello")", ""},
            {"two base64 layers over utf-8", R"("YUdWc2JHOD0=")", "utf-8/base64/utf-8/base64",
             R"("hello")", ""},
            {"json over base64", R"("eyJhIjoxfQ==")", "json/base64", R"({"a":1})", ""},
            {"json over utf-8 over base64", R"("eyJhIjoxfQ==")", "json/utf-8/base64", R"({"a":1})",
             ""},
            {"binary stays base64", R"("AAEC")", "base64", R"("AAEC")", "base64"},
            {"encrypted binary is flagged", R"("AAECAwQFBgcICQoLDA0ODw==")",
             "cipher+aes-128-cbc/base64", R"("AAECAwQFBgcICQoLDA0ODw==")",
             "cipher+aes-128-cbc/base64"},
            {"encrypted text is flagged", R"("AAEC")", "utf-8/cipher+aes-256-cbc/base64",
             R"("AAEC")", "utf-8/cipher+aes-256-cbc/base64"},
            {"vcdiff is flagged", R"("delta")", "vcdiff", R"("delta")", "vcdiff"},
            {"unknown step is flagged", R"("x")", "rot13", R"("x")", "rot13"},
            {"unknown step left of json is flagged after json", R"("{\"a\":1}")", "custom/json",
             R"({"a":1})", "custom"},
            {"unknown step left of utf-8", R"("t")", "custom/utf-8", R"("t")", "custom"},
            {"empty step is flagged", R"("x")", "utf-8//utf-8", R"("x")", "utf-8/"},
            {"base64 of base64 stays encoded", R"("QUFFQw==")", "base64/base64", R"("QUFFQw==")",
             "base64/base64"},
            {"null data ignores encoding", "null", "json", "null", ""},
            {"absent data", R"(null)", "", "null", ""},
            {"object data, no encoding", R"({"k":[1,{"z":null}]})", "", R"({"k":[1,{"z":null}]})",
             ""},
            {"array data", R"([ 1 , "two" ])", "", R"([1,"two"])", ""},
            {"number data", "-12.5e3", "", "-12.5e3", ""},
            {"boolean data", "false", "", "false", ""},
            {"object data with an unknown step is flagged", R"({"k":1})", "cipher+x", R"({"k":1})",
             "cipher+x"},
            {"empty string", R"("")", "", R"("")", ""},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            Decoder d;
            DecodedBatch batch;
            const auto r = d.decode_queue_message(envelope(c.data_json, c.encoding), {}, batch);
            REQUIRE_MESSAGE(r.ok(), r.message);
            REQUIRE(batch.messages().size() == 1);
            CHECK(batch.messages()[0].data == c.data);
            CHECK(batch.messages()[0].encoding == c.remaining);
            CHECK(valid_output(batch.messages()));
        }
    }

    TEST_CASE("data that does not match its encoding rejects the body, naming data") {
        struct Case {
            const char* name;
            std::string data_json;
            std::string encoding;
            Errc error;
            const char* detail;
        };
        const std::vector<Case> cases = {
            {"json that is not JSON", R"("{bad")", "json", Errc::InvalidEncoding, "not valid JSON"},
            {"json that is empty", R"("")", "json", Errc::InvalidEncoding, "not valid JSON"},
            {"json with trailing text", R"("{} x")", "json", Errc::InvalidEncoding,
             "not valid JSON"},
            {"json with an embedded NUL", R"("{}\u0000")", "json", Errc::InvalidEncoding,
             "NUL byte"},
            {"json with a raw control character", "\"[\\\"\\u0001\\\"]\"", "json",
             Errc::InvalidEncoding, "not valid JSON"},
            {"json with invalid UTF-8 after base64", R"("WyL/Il0=")", "json/base64",
             Errc::InvalidUtf8, "UTF-8"},
            {"utf-8 that is not UTF-8", R"("/w==")", "utf-8/base64", Errc::InvalidUtf8, "UTF-8"},
            {"base64 with bad characters", R"("not base64!")", "utf-8/base64",
             Errc::InvalidEncoding, "invalid base64"},
            {"base64 with bad padding", R"("AAE=C")", "base64", Errc::InvalidEncoding,
             "invalid base64"},
            {"base64 kept binary must still be base64", R"("A")", "base64", Errc::InvalidEncoding,
             "invalid base64"},
            {"json step on an object", R"({"a":1})", "json", Errc::InvalidEncoding,
             "needs a string"},
            {"base64 step on a number", "12", "base64", Errc::InvalidEncoding, "needs a string"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            Decoder d;
            DecodedBatch batch;
            const auto r = d.decode_queue_message(envelope(c.data_json, c.encoding), {}, batch);
            CHECK(r.error == c.error);
            CHECK_MESSAGE(contains(r.message, "presence[0].data: "), r.message);
            CHECK_MESSAGE(contains(r.message, c.detail), r.message);
            CHECK(batch.messages().empty());
        }
    }

    TEST_CASE("json-encoded data is not re-stringified: it is spliced as a value") {
        Decoder d;
        DecodedBatch batch;
        // What an Ably SDK sends for data {"status":"online","n":[1,2]}.
        const auto r = d.decode_queue_message(
            envelope(R"("{\"status\":\"online\",\"n\":[1,2]}")", "json"), {}, batch);
        REQUIRE(r.ok());
        CHECK(batch.messages()[0].data == R"({"status":"online","n":[1,2]})");
    }
}

// SPDX-License-Identifier: MIT
// The codec's building blocks: UTF-8 validation, base64, the compact emitter.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "codec/base64.hpp"
#include "codec/json_emitter.hpp"
#include "codec/json_parse.hpp"
#include "codec/utf8.hpp"
#include "wire/json_text.hpp"

using presenceagg::detail::base64_decode;
using presenceagg::detail::base64_encode_append;
using presenceagg::detail::is_valid_base64;
using presenceagg::detail::is_valid_utf8;

TEST_SUITE("codec primitives") {
    TEST_CASE("UTF-8 validation accepts well-formed text and nothing else") {
        for (std::string_view good :
             {std::string_view(""), std::string_view("plain ascii, long enough for words"),
              std::string_view("\xC3\xA9"), std::string_view("\xE2\x82\xAC"),
              std::string_view("\xF0\x9F\x98\x80"), std::string_view("\xF4\x8F\xBF\xBF"),
              std::string_view("\xED\x9F\xBF"), std::string_view("a\0b", 3)}) {
            CAPTURE(good);
            CHECK(is_valid_utf8(good));
        }
        for (std::string_view bad :
             {std::string_view("\x80"), std::string_view("\xC3"), std::string_view("\xC0\xAF"),
              std::string_view("\xC1\xBF"), std::string_view("\xE0\x80\xAF"),
              std::string_view("\xED\xA0\x80"), std::string_view("\xF0\x80\x80\xAF"),
              std::string_view("\xF4\x90\x80\x80"), std::string_view("\xF5\x80\x80\x80"),
              std::string_view("\xFF"), std::string_view("abcdefgh\xE2\x82"),
              std::string_view("12345678\x80"
                               "12345678")}) {
            CAPTURE(bad);
            CHECK_FALSE(is_valid_utf8(bad));
        }
    }

    TEST_CASE("base64 round-trips every length and rejects malformed text") {
        std::string bytes;
        for (int n = 0; n < 40; ++n) {
            std::string encoded;
            base64_encode_append(bytes, encoded);
            std::string decoded;
            CHECK(base64_decode(encoded, decoded));
            CHECK(decoded == bytes);
            CHECK(is_valid_base64(encoded));
            bytes.push_back(static_cast<char>(n * 37 + 200));
        }
        std::string out;
        CHECK(base64_decode("aGk", out));
        CHECK(out == "hi");
        for (std::string_view bad : {"A", "AAAAA", "AA=A", "A===", "AB==CD", "AB=", "a b=", "AB-_",
                                     "AQ==\n", "AB==", "AAB="}) {
            CAPTURE(bad);
            CHECK_FALSE(base64_decode(bad, out));
            CHECK_FALSE(is_valid_base64(bad));
        }
    }

    TEST_CASE("the compact emitter re-emits canonical JSON within its bounds") {
        auto emit = [](std::string_view text, std::size_t max_bytes, std::size_t max_depth,
                       std::string& out) {
            std::string buffer;
            char* start = presenceagg::detail::load_for_parse(buffer, text);
            rapidjson::Reader reader;
            presenceagg::detail::CompactJsonEmitter emitter;
            emitter.begin(out, max_bytes, max_depth);
            const auto outcome = presenceagg::detail::parse_json_insitu(reader, start, emitter);
            return outcome.result.IsError() ? emitter.error() : presenceagg::Errc{};
        };
        std::string out;
        CHECK(emit(" { \"a\" : [ 1 , -0.5e-7 , \"\\u001f\\t\" ] , \"b\" : { } } ", 1000, 10, out) ==
              presenceagg::Errc{});
        CHECK(out == R"({"a":[1,-0.5e-7,"\u001f\t"],"b":{}})");
        CHECK(emit("[[[1]]]", 1000, 2, out) == presenceagg::Errc::TooDeep);
        CHECK(emit("[\"0123456789\"]", 8, 10, out) == presenceagg::Errc::TooLarge);
        CHECK(emit("[\"\xC3\"]", 100, 10, out) == presenceagg::Errc::InvalidUtf8);
    }

    TEST_CASE(
        "emitted strings are byte-identical to the canonical escaper (property, fixed seed)") {
        constexpr std::uint32_t kSeed = 20240611;
        std::mt19937 rng(kSeed);
        // Bytes biased towards the ones that matter: controls, quote, backslash, ASCII, UTF-8.
        const std::string alphabet = std::string("\x00\x01\x1f \"\\/a~\x7f", 10) + "\xC3\xA9";
        for (int round = 0; round < 20000; ++round) {
            std::string s;
            const std::size_t length = rng() % 40;
            for (std::size_t i = 0; i < length; ++i) {
                const char c = alphabet[rng() % alphabet.size()];
                if (c == '\xC3') {
                    s += "\xC3\xA9";
                } else if (c != '\xA9') {
                    s.push_back(c);
                }
            }
            std::string expected;
            presenceagg::detail::append_json_string(expected, s);
            std::string out;
            presenceagg::detail::CompactJsonEmitter emitter;
            emitter.begin(out, 1 << 20, 8);
            REQUIRE(emitter.String(s.data(), static_cast<rapidjson::SizeType>(s.size()), true));
            if (out != expected) {
                std::printf("seed %u, round %d\n", kSeed, round);
                FAIL("emitter and append_json_string disagree");
            }
        }
    }
}

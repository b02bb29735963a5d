// SPDX-License-Identifier: MIT
#include "command/command_message.hpp"

#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>

namespace {

using presenceagg::Errc;
using presenceagg::detail::Command;
using presenceagg::detail::decode_ably_error;
using presenceagg::detail::decode_command_history;
using presenceagg::detail::decode_command_message;
using presenceagg::detail::strip_channel_qualifier;
using presenceagg::detail::command_text::decode_base64;
using presenceagg::detail::command_text::is_valid_utf8;
using namespace std::string_literals;

std::string message(const std::string& name,
                    const std::string& data_json,
                    const std::string& encoding = {}) {
    std::string out = R"({"id":"m1","name":")" + name + R"(","timestamp":1700000000123)";
    if (!data_json.empty()) out += R"(,"data":)" + data_json;
    if (!encoding.empty()) out += R"(,"encoding":")" + encoding + '"';
    return out + "}";
}

struct DataCase {
    std::string name;
    std::string json;
    Command expected;
};

}  // namespace

TEST_SUITE("CommandMessage") {
    TEST_CASE("fields are decoded") {
        const auto r = decode_command_message(
            R"({"id":"YqigX7VFsR:0:0","name":"update","timestamp":1556806691341,)"
            R"("channel":"[?rewind=1]cmds","data":"start","clientId":"x","extras":{}})");
        REQUIRE(r);
        CHECK(r.message.id == "YqigX7VFsR:0:0");
        CHECK(r.message.name == "update");
        CHECK(r.message.timestamp == 1556806691341);
        CHECK(r.message.channel == "[?rewind=1]cmds");
        CHECK(r.message.command == Command::Start);
    }

    TEST_CASE("data encodings and command words") {
        const std::vector<DataCase> cases = {
            {"plain start", message("update", R"("start")"), Command::Start},
            {"plain stop", message("update", R"("stop")"), Command::Stop},
            {"whitespace trimmed", message("update", R"(" \tstart\r\n")"), Command::Start},
            {"case-sensitive data", message("update", R"("Start")"), Command::Other},
            {"case-sensitive name", message("Update", R"("start")"), Command::Other},
            {"other name", message("command", R"("start")"), Command::Other},
            {"unknown word", message("update", R"("restart")"), Command::Other},
            {"empty data", message("update", R"("")"), Command::Other},
            {"inner space is not trimmed", message("update", R"("st art")"), Command::Other},
            {"json string", message("update", R"("\"start\"")", "json"), Command::Start},
            {"json string stop", message("update", R"("\"stop\"")", "json"), Command::Stop},
            {"json object", message("update", R"("{\"cmd\":\"start\"}")", "json"), Command::Other},
            {"json number", message("update", R"("5")", "json"), Command::Other},
            {"utf-8", message("update", R"("stop")", "utf-8"), Command::Stop},
            {"utf8 spelling", message("update", R"("stop")", "utf8"), Command::Stop},
            {"base64", message("update", R"("c3RhcnQ=")", "base64"), Command::Start},
            {"base64 unpadded", message("update", R"("c3RhcnQ")", "base64"), Command::Start},
            {"utf-8/base64", message("update", R"("c3RvcA==")", "utf-8/base64"), Command::Stop},
            {"json/utf-8/base64", message("update", R"("InN0YXJ0Ig==")", "json/utf-8/base64"),
             Command::Start},
            {"missing data", message("update", ""), Command::Other},
            {"null data", message("update", "null"), Command::Other},
            {"numeric data", message("update", "1"), Command::Other},
            {"object data", message("update", R"({"a":"start"})"), Command::Other},
            {"array data", message("update", R"(["start"])"), Command::Other},
            {"bool data", message("update", "true"), Command::Other},
        };
        for (const DataCase& c : cases) {
            CAPTURE(c.name);
            const auto r = decode_command_message(c.json);
            CHECK_MESSAGE(!r.error, r.error.message());
            CHECK(r.message.command == c.expected);
        }
    }

    TEST_CASE("undecodable data is an error value") {
        struct ErrCase {
            std::string name;
            std::string json;
            Errc expected;
        };
        const std::vector<ErrCase> cases = {
            {"json that is not json", message("update", R"("start")", "json"),
             Errc::InvalidEncoding},
            {"bad base64", message("update", R"("c3Rh*nQ=")", "base64"), Errc::InvalidEncoding},
            {"base64 bad padding", message("update", R"("c3RhcnQ==")", "base64"),
             Errc::InvalidEncoding},
            {"cipher", message("update", R"("AAEC")", "utf-8/cipher+aes-128-cbc/base64"),
             Errc::InvalidEncoding},
            {"vcdiff", message("update", R"("AAEC")", "vcdiff"), Errc::InvalidEncoding},
            {"utf-8 over invalid bytes", message("update", R"("/w==")", "utf-8/base64"),
             Errc::InvalidUtf8},
            {"encoding of a non-string", message("update", R"({"a":1})", "base64"),
             Errc::InvalidEncoding},
            {"encoding not a string", R"({"name":"update","data":"start","encoding":true})",
             Errc::WrongType},
            {"numeric encoding", R"({"name":"update","data":"start","encoding":5})",
             Errc::WrongType},
        };
        for (const ErrCase& c : cases) {
            CAPTURE(c.name);
            const auto r = decode_command_message(c.json);
            CHECK(r.error == presenceagg::make_error_code(c.expected));
            CHECK_FALSE(static_cast<bool>(r));
        }
    }

    TEST_CASE("junk never crashes and is reported") {
        CHECK(decode_command_message("").error == presenceagg::make_error_code(Errc::InvalidJson));
        CHECK(decode_command_message("not json").error ==
              presenceagg::make_error_code(Errc::InvalidJson));
        CHECK(decode_command_message("{").error == presenceagg::make_error_code(Errc::InvalidJson));
        CHECK(decode_command_message("{} {}").error ==
              presenceagg::make_error_code(Errc::InvalidJson));
        CHECK(decode_command_message("[]").error == presenceagg::make_error_code(Errc::WrongType));
        CHECK(decode_command_message("\"start\"").error ==
              presenceagg::make_error_code(Errc::WrongType));
        CHECK(decode_command_message("{\"name\":\"upd\xFF\"}").error ==
              presenceagg::make_error_code(Errc::InvalidUtf8));
        const std::string deep(200000, '[');
        CHECK(decode_command_message(deep).error == presenceagg::make_error_code(Errc::TooDeep));
        const std::string nested = std::string(100, '[') + std::string(100, ']');
        CHECK(decode_command_history(nested).error == presenceagg::make_error_code(Errc::TooDeep));
        CHECK(decode_command_message("{\"name\":\"update\",\"data\":\"start\"}\0junk"s).error ==
              presenceagg::make_error_code(Errc::InvalidJson));
        const std::string huge = "{\"data\":\"" + std::string((1U << 20) + 1, 'a') + "\"}";
        CHECK(decode_command_message(huge).error == presenceagg::make_error_code(Errc::TooLarge));
        // RapidJSON 1.1.0's exponent overflow input: parsed as text, no undefined behaviour.
        const auto r = decode_command_message(
            R"({"name":"update","data":"stop","timestamp":0.123456789e-2147483639})");
        REQUIRE(r);
        CHECK(r.message.timestamp == 0);
        CHECK(r.message.command == Command::Stop);
    }

    TEST_CASE("odd field types are tolerated") {
        const auto r = decode_command_message(
            R"({"id":7,"name":"update","data":"start","timestamp":"12","channel":null})");
        REQUIRE(r);
        CHECK(r.message.id.empty());
        CHECK(r.message.timestamp == 12);
        CHECK(r.message.channel.empty());
        CHECK(r.message.command == Command::Start);
        const auto f = decode_command_message(R"({"name":"update","data":"stop","timestamp":1.5})");
        REQUIRE(f);
        CHECK(f.message.timestamp == 0);
        const auto n = decode_command_message(R"({"name":null,"data":"stop"})");
        REQUIRE(n);
        CHECK(n.message.command == Command::Other);
    }

    TEST_CASE("the first of duplicate keys wins and nested values are skipped") {
        const auto r = decode_command_message(
            R"({"name":"update","extras":{"name":"x","data":"stop"},"data":"start","data":"stop"})");
        REQUIRE(r);
        CHECK(r.message.command == Command::Start);
    }

    TEST_CASE("history answers decode to the newest message") {
        const auto empty = decode_command_history("[]");
        REQUIRE(empty);
        CHECK_FALSE(empty.latest.has_value());

        const auto two =
            decode_command_history(R"([{"id":"new","name":"update","data":"stop","timestamp":2},)"
                                   R"({"id":"old","name":"update","data":"start","timestamp":1}])");
        REQUIRE(two);
        REQUIRE(two.latest.has_value());
        CHECK(two.latest->id == "new");
        CHECK(two.latest->command == Command::Stop);

        CHECK(decode_command_history("{}").error == presenceagg::make_error_code(Errc::WrongType));
        CHECK(decode_command_history("[1]").error == presenceagg::make_error_code(Errc::WrongType));
        CHECK(decode_command_history("[[]]").error ==
              presenceagg::make_error_code(Errc::WrongType));
        CHECK(decode_command_history("[{}]").latest.has_value());
        CHECK(decode_command_history("[").error == presenceagg::make_error_code(Errc::InvalidJson));
        CHECK(decode_command_history(R"([{"data":"x","encoding":"cipher"}])").error ==
              presenceagg::make_error_code(Errc::InvalidEncoding));
    }

    TEST_CASE("Ably errors decode from events and from HTTP bodies") {
        const auto ev = decode_ably_error(
            R"({"message":"Token expired","code":40142,"statusCode":401,"href":"x"})");
        CHECK(ev.code == 40142);
        CHECK(ev.status_code == 401);
        CHECK(ev.message == "Token expired");
        const auto body = decode_ably_error(R"({"error":{"code":40400,"statusCode":404}})");
        CHECK(body.code == 40400);
        CHECK(body.status_code == 404);
        const auto junk = decode_ably_error("<html>");
        CHECK(junk.code == 0);
        CHECK(junk.status_code == 0);
        CHECK(junk.message.empty());
        const auto wrong = decode_ably_error(R"({"code":"x","statusCode":1e99})");
        CHECK(wrong.code == 0);
        CHECK(wrong.status_code == 0);
        const auto long_message =
            decode_ably_error(R"({"message":")" + std::string(5000, 'm') + R"("})");
        CHECK(long_message.message.size() <= 512);
    }

    TEST_CASE("channel qualifiers are stripped") {
        CHECK(strip_channel_qualifier("[?rewind=1]cmds") == "cmds");
        CHECK(strip_channel_qualifier("[meta]log") == "log");
        CHECK(strip_channel_qualifier("cmds") == "cmds");
        CHECK(strip_channel_qualifier("[unterminated") == "[unterminated");
        CHECK(strip_channel_qualifier("") == "");
    }

    TEST_CASE("base64 decoding") {
        bool ok = false;
        CHECK(decode_base64("", ok).empty());
        CHECK(ok);
        CHECK(decode_base64("Zg==", ok) == "f");
        CHECK(ok);
        CHECK(decode_base64("Zm8=", ok) == "fo");
        CHECK(ok);
        CHECK(decode_base64("Zm9v", ok) == "foo");
        CHECK(ok);
        CHECK(decode_base64("Zm9vYg", ok) == "foob");
        CHECK(ok);
        CHECK(decode_base64("+/+/", ok) == "\xfb\xff\xbf");
        CHECK(ok);
        for (const char* bad : {"Z", "Zg=", "Zg===", "Z===", "Zm9v\n", "Zh==", "Zg==Zg==", "-_"}) {
            CAPTURE(bad);
            (void)decode_base64(bad, ok);
            CHECK_FALSE(ok);
        }
    }

    TEST_CASE("UTF-8 validation") {
        CHECK(is_valid_utf8(""));
        CHECK(is_valid_utf8("plain"));
        CHECK(is_valid_utf8("\xC3\xA9"));
        CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));
        CHECK(is_valid_utf8("\xEF\xBF\xBF"));
        CHECK_FALSE(is_valid_utf8("\xC0\x80"));
        CHECK_FALSE(is_valid_utf8("\xE0\x80\x80"));
        CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));
        CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));
        CHECK_FALSE(is_valid_utf8("\xC3"));
        CHECK_FALSE(is_valid_utf8("\x80"));
        CHECK_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));
    }
}

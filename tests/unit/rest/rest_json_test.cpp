// SPDX-License-Identifier: MIT
#include "rest/rest_json.hpp"

#include <ostream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>

using presenceagg::Errc;
using presenceagg::detail::ErrorBody;
using presenceagg::detail::parse_channel_list;
using presenceagg::detail::parse_error_body;

TEST_SUITE("rest JSON") {
    TEST_CASE("an Ably error body is read, nested details notwithstanding") {
        ErrorBody e;
        REQUIRE(parse_error_body(
            R"({"error":{"detail":{"code":1,"message":"inner"},"code":40140,"statusCode":401,)"
            R"("message":"Token expired \u00e9","href":"https://help.ably.io/error/40140"}})",
            e));
        CHECK(e.code == 40140);
        CHECK(e.message == "Token expired \xC3\xA9");
        CHECK(e.href == "https://help.ably.io/error/40140");
    }

    TEST_CASE("bodies without an error object are not errors bodies") {
        ErrorBody e;
        CHECK_FALSE(parse_error_body("", e));
        CHECK_FALSE(parse_error_body("[]", e));
        CHECK_FALSE(parse_error_body(R"({"code":40000})", e));
        CHECK_FALSE(parse_error_body(R"([{"error":{"code":1}}])", e));
        CHECK_FALSE(parse_error_body(R"({"error":{"code":1})", e));  // truncated
        CHECK_FALSE(parse_error_body(std::string("{\"error\":{}}\0x", 14), e));
        CHECK(e.code == 0);
        ErrorBody odd;
        REQUIRE(parse_error_body(R"({"error":{"code":1.5,"message":7}})", odd));
        CHECK(odd.code == 0);  // not an int: ignored
        CHECK(odd.message.empty());
        ErrorBody huge;
        CHECK_FALSE(parse_error_body(R"({"error":{"code":1e999999999999}})", huge));
    }

    TEST_CASE("channel lists accept names and ChannelDetails and count the rest") {
        std::vector<std::string> names;
        std::size_t skipped = 0;
        REQUIRE_FALSE(parse_channel_list(
            R"(["a",{"channelId":"b","status":{"isActive":true,"channelId":"no"}},)"
            R"({"status":{}},"",3,null,["c"],{"channelId":""},"d\"e"])",
            names, skipped));
        CHECK(names == std::vector<std::string>{"a", "b", "d\"e"});
        CHECK(skipped == 6);
    }

    TEST_CASE("a channel list that is not an array, not JSON, or too deep is an error") {
        std::vector<std::string> names;
        std::size_t skipped = 0;
        CHECK(parse_channel_list(R"({"channels":["a"]})", names, skipped) == Errc::WrongType);
        CHECK(parse_channel_list(R"("a")", names, skipped) == Errc::WrongType);
        CHECK(parse_channel_list("[\"a\",", names, skipped) == Errc::InvalidJson);
        CHECK(parse_channel_list("", names, skipped) == Errc::InvalidJson);
        CHECK(parse_channel_list(std::string(100'000, '['), names, skipped) == Errc::TooDeep);
        CHECK(parse_channel_list(std::string("[\"a\"]\0", 6), names, skipped) == Errc::InvalidJson);
        CHECK(names.empty());  // nothing appended on failure
    }
}

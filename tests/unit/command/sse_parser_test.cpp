// SPDX-License-Identifier: MIT
#include "command/sse_parser.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

namespace {

using presenceagg::detail::SseEvent;
using presenceagg::detail::SseParseError;
using presenceagg::detail::SseParser;
using namespace std::string_literals;

SseEvent ev(std::string type, std::string data, std::string id = {}) {
    return SseEvent{std::move(type), std::move(data), std::move(id)};
}

struct Case {
    std::string name;
    std::string input;
    std::vector<SseEvent> events;
    std::string last_id;
    std::optional<long> retry_ms;
};

const std::vector<Case>& cases() {
    static const std::vector<Case> kCases = {
        {"LF", "data: hello\n\n", {ev("message", "hello")}, "", {}},
        {"CRLF", "data: hello\r\n\r\n", {ev("message", "hello")}, "", {}},
        {"CR", "data: hello\r\r", {ev("message", "hello")}, "", {}},
        {"mixed line ends",
         "event: x\rdata: 1\r\ndata: 2\n\r\ndata: 3\r\n\n",
         {ev("x", "1\n2"), ev("message", "3")},
         "",
         {}},
        {"CR then LF is one line end, CR CR is two",
         "data: a\r\n\rdata: b\r\r",
         {ev("message", "a"), ev("message", "b")},
         "",
         {}},
        {"no space after colon", "data:a\n\n", {ev("message", "a")}, "", {}},
        {"only one leading space removed", "data:  a \n\n", {ev("message", " a ")}, "", {}},
        {"value may contain colons", "data: a:b: c\n\n", {ev("message", "a:b: c")}, "", {}},
        {"comments are ignored",
         ":keepalive\n\n:\ndata: x\n: between\ndata: y\n\n",
         {ev("message", "x\ny")},
         "",
         {}},
        {"multi-line data joined with LF",
         "data: {\"a\":\ndata: 1}\n\n",
         {ev("message", "{\"a\":\n1}")},
         "",
         {}},
        {"bare data field gives an empty line of data",
         "data\n\ndata\ndata\n\n",
         {ev("message", ""), ev("message", "\n")},
         "",
         {}},
        {"event type resets after dispatch",
         "event: error\ndata: {}\n\ndata: m\n\n",
         {ev("error", "{}"), ev("message", "m")},
         "",
         {}},
        {"id persists across events",
         "id: 1\ndata: a\n\ndata: b\n\n",
         {ev("message", "a", "1"), ev("message", "b", "1")},
         "1",
         {}},
        {"id without value clears it",
         "id: 1\ndata: a\n\nid\ndata: b\n\n",
         {ev("message", "a", "1"), ev("message", "b", "")},
         "",
         {}},
        {"id containing NUL is ignored",
         "id: 1\n\nid: a\0b\ndata: x\n\n"s,
         {ev("message", "x", "1")},
         "1",
         {}},
        {"no dispatch without data, but the id is kept", "id: 7\n\n", {}, "7", {}},
        {"event without data is not dispatched", "event: heartbeat\n\n", {}, "", {}},
        {"unknown fields are ignored",
         "foo: bar\ndata : no\nDATA: no\ndata: yes\n\n",
         {ev("message", "yes")},
         "",
         {}},
        {"retry with digits only", "retry: 1500\n\nretry: 15x\n\nretry:\n\n", {}, "", 1500},
        {"leading BOM is skipped",
         "\xEF\xBB\xBF"
         "data: x\n\n",
         {ev("message", "x")},
         "",
         {}},
        {"BOM-like bytes that are not a BOM are kept",
         "\xEF\xBB"
         "data: x\n\ndata: y\n\n",
         {ev("message", "y")},
         "",
         {}},
        {"repeated blank lines dispatch once", "data: x\n\n\n\n\r\n", {ev("message", "x")}, "", {}},
        {"unterminated event is not dispatched",
         "data: a\n\ndata: b\n",
         {ev("message", "a")},
         "",
         {}},
        {"Ably message event",
         "id: cbfKayrzgAXDWM:1556806691343-0\nevent: message\ndata: "
         "{\"id\":\"Yq:0:0\",\"name\":\"update\",\"data\":\"start\"}\n\n:keepalive\n\n",
         {ev("message", "{\"id\":\"Yq:0:0\",\"name\":\"update\",\"data\":\"start\"}",
             "cbfKayrzgAXDWM:1556806691343-0")},
         "cbfKayrzgAXDWM:1556806691343-0",
         {}},
    };
    return kCases;
}

void check_result(SseParser& parser, const Case& c) {
    CHECK(parser.take_events() == c.events);
    CHECK(parser.take_errors().empty());
    CHECK(parser.last_event_id() == c.last_id);
    if (c.retry_ms) {
        REQUIRE(parser.retry().has_value());
        CHECK(parser.retry()->count() == *c.retry_ms);
    } else {
        CHECK_FALSE(parser.retry().has_value());
    }
}

std::string repeat(char c, std::size_t n) {
    return std::string(n, c);
}

}  // namespace

TEST_SUITE("SseParser") {
    TEST_CASE("table: whole input, byte by byte, and split at every boundary") {
        for (const Case& c : cases()) {
            CAPTURE(c.name);
            SUBCASE("whole") {
                SseParser parser;
                parser.feed(c.input);
                check_result(parser, c);
            }
            SUBCASE("byte by byte") {
                SseParser parser;
                for (const char ch : c.input) parser.feed(std::string_view(&ch, 1));
                check_result(parser, c);
            }
            SUBCASE("two chunks split at every boundary") {
                for (std::size_t cut = 0; cut <= c.input.size(); ++cut) {
                    CAPTURE(cut);
                    SseParser parser;
                    const std::string_view in = c.input;
                    parser.feed(in.substr(0, cut));
                    parser.feed(in.substr(cut));
                    check_result(parser, c);
                }
            }
            SUBCASE("three chunks with empty feeds between") {
                for (std::size_t a = 0; a <= c.input.size(); ++a) {
                    const std::size_t b = (a + c.input.size()) / 2;
                    SseParser parser;
                    const std::string_view in = c.input;
                    parser.feed(in.substr(0, a));
                    parser.feed({});
                    parser.feed(in.substr(a, b > a ? b - a : 0));
                    parser.feed(in.substr(std::max(a, b)));
                    check_result(parser, c);
                }
            }
        }
    }

    TEST_CASE("a CR at the end of a chunk and LF at the start of the next are one line end") {
        SseParser parser;
        parser.feed("data: a\r");
        parser.feed("\n");
        CHECK(parser.take_events().empty());
        parser.feed("\r");
        parser.feed("\ndata: b\r");
        parser.feed("\r");
        const auto events = parser.take_events();
        REQUIRE(events.size() == 2);
        CHECK(events[0].data == "a");
        CHECK(events[1].data == "b");
    }

    TEST_CASE("events are taken once") {
        SseParser parser;
        parser.feed("data: a\n\n");
        CHECK(parser.has_events());
        CHECK(parser.take_events().size() == 1);
        CHECK_FALSE(parser.has_events());
        CHECK(parser.take_events().empty());
        CHECK(parser.events_dispatched() == 1);
    }

    TEST_CASE("end of stream drops a partial event and an undispatched id") {
        SseParser parser;
        parser.feed("id: 1\ndata: a\n\nid: 2\ndata: partial");
        CHECK(parser.take_events().size() == 1);
        parser.end_of_stream();
        CHECK(parser.last_event_id() == "1");
        // A new connection starts clean: the partial line does not leak into it.
        parser.feed(
            "\xEF\xBB\xBF"
            "data: b\n\n");
        const auto events = parser.take_events();
        REQUIRE(events.size() == 1);
        CHECK(events[0].data == "b");
        CHECK(events[0].last_event_id == "1");
    }

    TEST_CASE("a restored resume id is reported with later events") {
        SseParser parser;
        parser.set_last_event_id("abc");
        parser.feed("data: x\n\n");
        const auto events = parser.take_events();
        REQUIRE(events.size() == 1);
        CHECK(events[0].last_event_id == "abc");
    }

    TEST_CASE("bytes fed count every byte, comments included") {
        SseParser parser;
        parser.feed(":keepalive\n");
        parser.feed("\n");
        CHECK(parser.bytes_fed() == 12);
        CHECK(parser.take_events().empty());
    }

    TEST_CASE("an oversized line is reported and the parser resynchronises at a blank line") {
        const std::string long_line = "data: " + repeat('a', 100) + "\n";
        const std::string input =
            "data: before\n\n" + long_line + "data: same event\n\ndata: ok\n\n";
        SUBCASE("whole") {
            SseParser parser(64);
            parser.feed(input);
            const auto events = parser.take_events();
            REQUIRE(events.size() == 2);
            CHECK(events[0].data == "before");
            CHECK(events[1].data == "ok");
            const auto errors = parser.take_errors();
            REQUIRE(errors.size() == 1);
            CHECK(errors[0] == SseParseError::LineTooLong);
            CHECK(parser.error_count() == 1);
        }
        SUBCASE("byte by byte") {
            SseParser parser(64);
            for (const char ch : input) parser.feed(std::string_view(&ch, 1));
            const auto events = parser.take_events();
            REQUIRE(events.size() == 2);
            CHECK(events[1].data == "ok");
            CHECK(parser.take_errors().size() == 1);
        }
    }

    TEST_CASE("an oversized event is reported and skipped, its id kept") {
        std::string input = "id: big\n";
        for (int i = 0; i < 10; ++i) input += "data: " + repeat('b', 40) + "\n";
        input += "\ndata: next\n\n";
        SseParser parser(128);
        parser.feed(input);
        const auto events = parser.take_events();
        REQUIRE(events.size() == 1);
        CHECK(events[0].data == "next");
        CHECK(events[0].last_event_id == "big");
        const auto errors = parser.take_errors();
        REQUIRE(errors.size() == 1);
        CHECK(errors[0] == SseParseError::EventTooLarge);
    }

    TEST_CASE("an endless line is discarded without buffering and reported once") {
        SseParser parser(1024);
        const std::string chunk = repeat('x', 4096);
        for (int i = 0; i < 2560; ++i) parser.feed(chunk);  // 10 MiB, no line end
        CHECK(parser.take_errors().size() == 1);
        parser.feed("\n\ndata: ok\n\n");
        const auto events = parser.take_events();
        REQUIRE(events.size() == 1);
        CHECK(events[0].data == "ok");
        CHECK(parser.take_errors().empty());
    }

    TEST_CASE("the default bound is 1 MiB") {
        SseParser parser;
        const std::string big = repeat('y', (std::size_t{1} << 20) - 16);
        parser.feed("data: " + big + "\n\n");
        auto events = parser.take_events();
        REQUIRE(events.size() == 1);
        CHECK(events[0].data.size() == big.size());
        parser.feed("data: " + big + repeat('y', 64) + "\n\n");
        CHECK(parser.take_events().empty());
        CHECK(parser.take_errors().size() == 1);
    }
}

// SPDX-License-Identifier: MIT
#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/demo.hpp>

using namespace presenceagg;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\n', start);
        lines.push_back(text.substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return lines;
}

std::size_t columns(const std::string& line) {
    std::size_t n = 0;
    for (const char c : line) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    return n;
}

Stats busy_stats() {
    Stats s;
    s.counts = {1'234, 287, 402, 20};
    s.presence_events = 123'456;
    s.by_action = {0, 7, 40'000, 30'000, 53'449};
    s.queue_bodies = 126'000;
    s.decode_errors = 3;
    s.filtered_events = 9'876;
    s.occupancy_events = 245;
    s.store.applied = 110'000;
    s.store.duplicate = 2'468;
    s.store.stale = 17;
    s.store.tombstones = 1'900;
    s.queue.deliveries = 126'500;
    s.queue.acks = 126'497;
    s.queue.rejects = 3;
    for (std::size_t v = 0; v < s.publish.size(); ++v) {
        s.publish[v].publishes = 28 + v;
        s.publish[v].snapshots = 2;
        s.publish[v].diffs = 26 + v;
        s.publish[v].messages = 56 + v;
        s.publish[v].bytes = 1'300'000 + v;
    }
    s.publish[3].last_ok = false;
    s.publish[3].failures = 1;
    s.collecting = true;
    s.source_connected = true;
    s.ticks = 4'321;
    s.last_tick_duration = std::chrono::microseconds(420);
    s.max_tick_duration = std::chrono::microseconds(3'100);
    return s;
}

}  // namespace

TEST_SUITE("demo summary") {
    TEST_CASE("the summary shows the key figures") {
        SummaryExtras extras;
        extras.uptime = std::chrono::seconds(3'723);
        extras.events_per_second = 312.45;
        extras.native_fanout_messages = 9'876'543;
        extras.expected_members = 1'234;
        extras.footer = "recording to demo.ndjson";
        const std::string text = render_summary(busy_stats(), extras);
        CAPTURE(text);
        for (const char* figure : {"presence-agg demo",
                                   "1:02:03",
                                   "collecting",
                                   "1,234 members",
                                   "287 clients",
                                   "402 connections",
                                   "20 channels",
                                   "(in sync)",
                                   "123,456 presence",
                                   "312.4/s",
                                   "enter 40,000",
                                   "update 53,449",
                                   "leave 30,000",
                                   "decode errors 3",
                                   "filtered 9,876",
                                   "duplicates 2,468",
                                   "stale 17",
                                   "by-channel",
                                   "by-client",
                                   "by-connection",
                                   "counts",
                                   "1.2 MiB",
                                   "FAIL",
                                   "total",
                                   "230",
                                   "would have cost 9,876,543 messages",
                                   "vs 230 published",
                                   "42,941x fewer",
                                   "recording to demo.ndjson"}) {
            CHECK_MESSAGE(text.find(figure) != std::string::npos, std::string(figure));
        }
        CHECK(text.find('\x1b') == std::string::npos);
    }

    TEST_CASE("the summary fits an 80x24 terminal") {
        SummaryExtras extras;
        extras.native_fanout_messages = 18'446'744'073'709'551'615ULL;
        extras.expected_members = 3;
        extras.title = std::string(200, 'x');
        Stats s = busy_stats();
        s.counts = {999'999'999, 999'999'999, 999'999'999, 999'999'999};
        const auto lines = lines_of(render_summary(s, extras));
        CHECK(lines.size() <= 24);
        for (const auto& line : lines) {
            CAPTURE(line);
            CHECK(columns(line) <= 80);
        }
    }

    TEST_CASE("the in-place variant homes the cursor and clears what it does not overwrite") {
        SummaryExtras extras;
        extras.style = SummaryStyle::InPlace;
        const std::string text = render_summary(busy_stats(), extras);
        CHECK(text.starts_with("\x1b[H"));
        CHECK(text.ends_with("\x1b[J"));
        CHECK(text.find("\x1b[K\n") != std::string::npos);
    }

    TEST_CASE("a store behind the simulation shows the difference") {
        SummaryExtras extras;
        extras.expected_members = 1'240;
        const std::string text = render_summary(busy_stats(), extras);
        CHECK(text.find("converging, -6") != std::string::npos);
        CHECK(text.find("would have cost") == std::string::npos);
    }

    TEST_CASE("the rate tracker measures over its window") {
        using namespace std::chrono_literals;
        EventRateTracker rate(5s);
        const auto t0 = EventRateTracker::Clock::time_point{} + 100s;
        CHECK(rate.update(1'000, t0) == 0.0);
        CHECK(rate.update(1'300, t0 + 1s) == doctest::Approx(300.0));
        CHECK(rate.update(1'900, t0 + 2s) == doctest::Approx(450.0));
        for (int i = 3; i <= 10; ++i)
            (void)rate.update(1'900 + 100 * (i - 2), t0 + std::chrono::seconds(i));
        // The window now holds the last ~5 s at 100 events/s.
        CHECK(rate.rate() == doctest::Approx(100.0));
        SUBCASE("a lower total starts over") {
            CHECK(rate.update(5, t0 + 11s) == 0.0);
            CHECK(rate.update(55, t0 + 12s) == doctest::Approx(50.0));
        }
    }
}

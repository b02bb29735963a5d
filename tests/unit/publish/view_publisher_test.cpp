// SPDX-License-Identifier: MIT
#include "publish/view_publisher.hpp"

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>

#include "publish_test_support.hpp"

using namespace presenceagg;
using namespace std::chrono_literals;
using presenceagg::detail::ManualSleeper;
using presenceagg::detail::Sleeper;
using presenceagg::detail::ViewPublisher;
using presenceagg::detail::ViewPublisherConfig;
using presenceagg::test::FakeStore;
using presenceagg::test::RecordingSink;

namespace {

PresenceMessage event(std::string client,
                      PresenceAction action,
                      std::uint64_t serial,
                      std::string channel = "presence:a") {
    PresenceMessage m;
    m.channel = std::move(channel);
    m.client_id = std::move(client);
    m.connection_id = "conn-" + m.client_id;
    m.id = m.connection_id + ":" + std::to_string(serial) + ":0";
    m.action = action;
    m.timestamp = 1'700'000'000'000 + static_cast<std::int64_t>(serial);
    m.data = "{\"n\":" + std::to_string(serial) + "}";
    return m;
}

/// A publisher on manual time over a given store and sink.
struct Rig {
    explicit Rig(PublishConfig publish = {}, std::unique_ptr<PresenceStore> s = nullptr)
        : store(s ? std::move(s) : test::make_test_store()) {
        auto manual = std::make_unique<ManualSleeper>();
        sleeper = manual.get();
        ViewPublisherConfig config;
        config.publish = std::move(publish);
        config.epoch = 0xfeedULL;
        config.sleeper = std::move(manual);
        publisher = std::make_unique<ViewPublisher>(*store, sink, std::move(config));
    }

    /// One publish interval: moves time, then ticks.
    void tick(std::chrono::milliseconds step = 3s) {
        sleeper->advance(step);
        publisher->tick(sleeper->now());
    }

    std::vector<std::string> names(std::string_view channel) const {
        std::vector<std::string> out;
        for (const auto& m : sink.delivered(channel)) out.push_back(m.name);
        return out;
    }

    std::unique_ptr<PresenceStore> store;
    RecordingSink sink;
    ManualSleeper* sleeper = nullptr;
    std::unique_ptr<ViewPublisher> publisher;
};

PublishConfig only_by_channel() {
    PublishConfig c;
    for (View v : kAllViews) c[v].enabled = v == View::ByChannel;
    return c;
}

}  // namespace

TEST_SUITE("ViewPublisher") {
    TEST_CASE("the first tick publishes a snapshot of every enabled view, even an empty one") {
        Rig rig;
        rig.tick();
        const PublishConfig defaults;
        for (View v : kAllViews) {
            CAPTURE(to_string(v));
            const auto messages = rig.sink.delivered(defaults[v].channel);
            REQUIRE(messages.size() == 1);
            CHECK(messages[0].name == "snapshot");
            CHECK(messages[0].id == "000000000000feed." + std::string(to_string(v)) + ".1:0");
            const auto s = rig.publisher->stats(v);
            CHECK(s.publishes == 1);
            CHECK(s.snapshots == 1);
            CHECK(s.seq == 1);
            CHECK(s.requests == 1);
            CHECK(s.messages == 1);
            CHECK(s.bytes == messages[0].data.size());
        }
    }

    TEST_CASE("publishes only when changed and at most once per tick") {
        Rig rig(only_by_channel());
        rig.tick();
        CHECK(rig.sink.call_count() == 1);
        rig.tick();
        rig.tick();
        CHECK(rig.sink.call_count() == 1);  // nothing changed
        for (std::uint64_t i = 1; i <= 50; ++i)
            rig.store->apply(event("u" + std::to_string(i % 7), PresenceAction::Enter, i));
        rig.tick();
        CHECK(rig.sink.call_count() == 2);  // fifty events, one round
        CHECK(rig.names("presence-update") == std::vector<std::string>{"snapshot", "diff"});
        rig.tick();
        CHECK(rig.sink.call_count() == 2);
    }

    TEST_CASE("an unchanged view is re-published as a snapshot when the keepalive is due") {
        PublishConfig config = only_by_channel();
        config.keepalive = 10s;
        Rig rig(config);
        rig.tick(3s);  // t=3: first snapshot
        rig.store->apply(event("u", PresenceAction::Enter, 1));
        rig.tick(3s);  // t=6: diff
        rig.tick(3s);  // t=9
        rig.tick(3s);  // t=12
        rig.tick(3s);  // t=15: only 9 s since the diff
        CHECK(rig.names("presence-update") == std::vector<std::string>{"snapshot", "diff"});
        rig.tick(3s);  // t=18: 12 s since the diff
        CHECK(rig.names("presence-update") ==
              std::vector<std::string>{"snapshot", "diff", "snapshot"});
    }

    TEST_CASE("snapshot_every and diff_mode choose the kind of each round") {
        SUBCASE("every third publish is a snapshot") {
            PublishConfig config = only_by_channel();
            config.snapshot_every = 3;
            Rig rig(config);
            for (std::uint64_t i = 1; i <= 7; ++i) {
                rig.store->apply(event("u", PresenceAction::Update, i));
                rig.tick();
            }
            CHECK(rig.names("presence-update") ==
                  std::vector<std::string>{"snapshot", "diff", "diff", "snapshot", "diff", "diff",
                                           "snapshot"});
        }
        SUBCASE("without diff mode every round is a snapshot") {
            PublishConfig config = only_by_channel();
            config.diff_mode = false;
            Rig rig(config);
            for (std::uint64_t i = 1; i <= 3; ++i) {
                rig.store->apply(event("u", PresenceAction::Update, i));
                rig.tick();
            }
            CHECK(rig.names("presence-update") ==
                  std::vector<std::string>{"snapshot", "snapshot", "snapshot"});
            CHECK(rig.publisher->stats(View::ByChannel).diffs == 0);
        }
    }

    TEST_CASE("the per-channel request rate is honoured on manual time") {
        PublishConfig config;
        config.max_message_size = 600;  // many requests per round
        config.max_publishes_per_second = 5;
        Rig rig(config);
        std::vector<std::pair<std::string, Sleeper::Clock::time_point>> sends;
        rig.sink.decide([&](std::string_view channel, std::span<const OutboundMessage>) {
            sends.emplace_back(std::string(channel), rig.sleeper->now());
            return std::optional<RecordingSink::Outcome>{};
        });
        for (std::uint64_t i = 1; i <= 40; ++i)
            rig.store->apply(event("user" + std::to_string(i), PresenceAction::Enter, i));
        rig.tick();
        REQUIRE(rig.publisher->stats(View::ByChannel).requests > 10);
        std::map<std::string, std::vector<Sleeper::Clock::time_point>> by_channel;
        for (const auto& [ch, t] : sends) by_channel[ch].push_back(t);
        for (const auto& entry : by_channel) {
            CAPTURE(entry.first);
            const auto& times = entry.second;
            for (std::size_t i = 0; i < times.size(); ++i) {
                std::size_t in_window = 0;
                for (std::size_t j = i; j < times.size() && times[j] < times[i] + 1s; ++j)
                    ++in_window;
                CHECK(in_window <= 5);
            }
        }
        CHECK_FALSE(rig.sleeper->sleeps().empty());  // it had to wait
    }

    TEST_CASE("retryable failures are retried with exponential backoff and Retry-After") {
        PublishConfig config = only_by_channel();
        config.retry_backoff_min = 250ms;
        config.retry_backoff_max = 1s;
        Rig rig(config);
        rig.sink.fail_next(RecordingSink::retryable_failure());
        rig.sink.fail_next(RecordingSink::transport_failure());
        rig.sink.fail_next(RecordingSink::retryable_failure());
        rig.sink.fail_next(RecordingSink::http_failure(429, 42913, 3s));
        rig.tick();
        const auto s = rig.publisher->stats(View::ByChannel);
        CHECK(s.requests == 5);
        CHECK(s.failures == 4);
        CHECK(s.retries == 4);
        CHECK(s.publishes == 1);
        CHECK(s.last_ok);
        std::vector<std::chrono::milliseconds> waits;
        for (const auto& [from, until] : rig.sleeper->sleeps()) {
            waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(until - from));
        }
        CHECK(waits == std::vector<std::chrono::milliseconds>{250ms, 500ms, 1s, 3s});
    }

    TEST_CASE("a round that exhausts its retries keeps its changes and forces a snapshot") {
        PublishConfig config = only_by_channel();
        config.max_retries = 2;
        Rig rig(config);
        rig.tick();
        rig.store->apply(event("u", PresenceAction::Enter, 1));
        rig.sink.fail_next(RecordingSink::retryable_failure(), 3);
        rig.tick();
        auto s = rig.publisher->stats(View::ByChannel);
        CHECK(s.requests == 4);  // 1 + 3 attempts
        CHECK(s.failures == 3);
        CHECK(s.retries == 2);
        CHECK_FALSE(s.last_ok);
        CHECK(rig.publisher->pending(View::ByChannel) == 1);
        CHECK(rig.publisher->totals().failed_rounds == 1);
        rig.tick();  // no new change, but the failed round must be repaired
        s = rig.publisher->stats(View::ByChannel);
        CHECK(s.last_ok);
        CHECK(s.seq == 3);  // the failed round spent seq 2
        CHECK(rig.publisher->pending(View::ByChannel) == 0);
        const auto calls = rig.sink.calls();
        CHECK(calls.back().messages[0].name == "snapshot");
        CHECK(calls.back().messages[0].id.find(".3:0") != std::string::npos);
    }

    TEST_CASE(
        "a non-retryable failure is not retried, is counted, and the next round is a snapshot") {
        Rig rig(only_by_channel());
        rig.tick();
        rig.store->apply(event("u", PresenceAction::Enter, 1));
        rig.sink.fail_next(RecordingSink::fatal_failure());
        rig.tick();
        auto s = rig.publisher->stats(View::ByChannel);
        CHECK(s.failures == 1);
        CHECK(s.retries == 0);
        CHECK_FALSE(s.last_ok);
        rig.store->apply(event("v", PresenceAction::Enter, 2));
        rig.tick();
        CHECK(rig.sink.calls().back().messages[0].name == "snapshot");
        CHECK(rig.publisher->stats(View::ByChannel).last_ok);
    }

    TEST_CASE("changes coalesce: pending is bounded by distinct leaves, not by events") {
        PublishConfig config;
        Rig rig(config, std::make_unique<FakeStore>());
        rig.tick();
        std::uint64_t serial = 0;
        for (int round = 0; round < 10; ++round) {
            for (int i = 0; i < 10'000; ++i) {
                const auto who = "member" + std::to_string(i % 10);
                rig.store->apply(event(
                    who, i % 3 == 0 ? PresenceAction::Leave : PresenceAction::Update, ++serial));
            }
            // Merge without publishing: a failing sink keeps everything pending.
            rig.sink.fail_always(RecordingSink::fatal_failure());
            rig.tick();
            for (View v : {View::ByChannel, View::ByClient, View::ByConnection}) {
                CHECK(rig.publisher->pending(v) <= 10);
            }
            CHECK(rig.publisher->pending(View::Counts) <= 5);  // one channel + four totals
        }
        rig.sink.fail_always(std::nullopt);
        rig.tick();
        CHECK(rig.publisher->pending(View::ByChannel) == 0);
    }

    TEST_CASE("a diff holds only the coalesced latest value of each changed member") {
        Rig rig(only_by_channel(), std::make_unique<FakeStore>());
        rig.tick();
        for (std::uint64_t i = 1; i <= 1000; ++i)
            rig.store->apply(event("m" + std::to_string(i % 3), PresenceAction::Update, i));
        rig.tick();
        const auto calls = rig.sink.calls();
        REQUIRE(calls.size() == 2);
        REQUIRE(calls[1].messages.size() == 1);
        const auto& data = calls[1].messages[0].data;
        CHECK(data.find("\"n\":1000") != std::string::npos);
        CHECK(data.find("\"n\":999}") != std::string::npos);
        CHECK(data.find("\"n\":998}") != std::string::npos);
        CHECK(data.find("\"n\":997}") == std::string::npos);
    }

    TEST_CASE("cancel interrupts a backoff and fails the round; resume publishes again") {
        Rig rig(only_by_channel());
        rig.sink.fail_always(RecordingSink::retryable_failure());
        rig.publisher->cancel();
        rig.tick();
        CHECK(rig.sink.call_count() == 0);  // the rate-limit wait point saw the cancel
        CHECK_FALSE(rig.publisher->stats(View::ByChannel).last_ok);
        rig.publisher->resume();
        rig.sink.fail_always(std::nullopt);
        rig.tick();
        CHECK(rig.publisher->stats(View::ByChannel).last_ok);
        CHECK(rig.sink.delivered("presence-update").back().name == "snapshot");
    }

    TEST_CASE("flush publishes what is pending now and nothing else") {
        Rig rig(only_by_channel());
        rig.tick();
        rig.publisher->flush();
        CHECK(rig.sink.call_count() == 1);
        rig.store->apply(event("u", PresenceAction::Enter, 1));
        rig.publisher->flush();
        CHECK(rig.names("presence-update") == std::vector<std::string>{"snapshot", "diff"});
    }

    TEST_CASE("disabled views are neither merged nor published") {
        Rig rig(only_by_channel());
        rig.store->apply(event("u", PresenceAction::Enter, 1));
        rig.tick();
        CHECK(rig.publisher->pending(View::Counts) == 0);
        for (const auto& c : rig.sink.calls()) CHECK(c.channel == "presence-update");
    }

    TEST_CASE("unusable settings are configuration errors naming the setting") {
        auto store = test::make_test_store();
        RecordingSink sink;
        const auto make = [&](PublishConfig c) {
            ViewPublisherConfig config;
            config.publish = std::move(c);
            return ViewPublisher(*store, sink, std::move(config));
        };
        PublishConfig c;
        c.max_message_size = 10;
        CHECK_THROWS_WITH_AS(make(c), doctest::Contains("max_message_size"), Error);
        c = {};
        c.max_publishes_per_second = 0;
        CHECK_THROWS_WITH_AS(make(c), doctest::Contains("max_publishes_per_second"), Error);
        c = {};
        c[View::Counts].channel.clear();
        CHECK_THROWS_WITH_AS(make(c), doctest::Contains("channel"), Error);
    }

    TEST_CASE("each publisher picks a fresh random epoch") {
        auto store = test::make_test_store();
        RecordingSink sink;
        ViewPublisher a(*store, sink, ViewPublisherConfig{});
        ViewPublisher b(*store, sink, ViewPublisherConfig{});
        CHECK(a.epoch() != b.epoch());
    }
}

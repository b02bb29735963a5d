// SPDX-License-Identifier: MIT
// Store -> ViewPublisher -> RecordingSink -> ViewAssembler must give back the store's views.
#include <doctest/doctest.h>

#include <presenceagg/view_assembler.hpp>

#include "publish/view_publisher.hpp"
#include "publish_test_support.hpp"

using namespace presenceagg;
using namespace std::chrono_literals;
using presenceagg::detail::ManualSleeper;
using presenceagg::detail::Sleeper;
using presenceagg::detail::ViewPublisher;
using presenceagg::detail::ViewPublisherConfig;
using presenceagg::test::RecordingSink;

namespace {

struct Consumer {
    explicit Consumer(View v)
        : assembler(ViewAssemblerConfig{v}) {}
    ViewAssembler assembler;
    std::size_t fed = 0;  // messages of the channel already fed
};

class RoundTrip {
public:
    RoundTrip(PublishConfig config, std::uint32_t seed)
        : config_(std::move(config)),
          store_(test::make_test_store()),
          work_(seed, 8, 25, 15) {
        start_publisher(1);
        for (View v : kAllViews) consumers_.emplace_back(v);
    }

    void start_publisher(std::uint64_t epoch) {
        auto manual = std::make_unique<ManualSleeper>(now_);
        sleeper_ = manual.get();
        ViewPublisherConfig c;
        c.publish = config_;
        c.epoch = epoch;
        c.sleeper = std::move(manual);
        publisher_ = std::make_unique<ViewPublisher>(*store_, sink_, std::move(c));
    }

    void events(int n) {
        for (int i = 0; i < n; ++i) store_->apply(work_.next());
    }

    /// One tick; then every consumer whose view published successfully must equal the store.
    void tick_and_check() {
        sleeper_->advance(config_.interval);
        now_ = sleeper_->now();
        publisher_->tick(now_);
        for (View v : kAllViews) {
            CAPTURE(to_string(v));
            auto& c = consumers_[detail::view_index(v)];
            const auto messages = sink_.delivered(config_[v].channel);
            for (; c.fed < messages.size(); ++c.fed) {
                const auto status =
                    c.assembler.add(RecordingSink::as_history_json(messages[c.fed]));
                CHECK(status != AssembleStatus::Malformed);
                CHECK(status != AssembleStatus::HashMismatch);
            }
            if (!publisher_->stats(v).last_ok) continue;
            std::uint64_t hash = 0;
            const auto expected = test::render_view(*store_, v, &hash);
            REQUIRE(c.assembler.has_state());
            CHECK(c.assembler.seq() == publisher_->stats(v).seq);
            CHECK(c.assembler.hash() == hash);
            CHECK(c.assembler.state_json() == expected);
        }
    }

    RecordingSink& sink() { return sink_; }
    ViewPublisher& publisher() { return *publisher_; }
    ViewAssembler& assembler(View v) { return consumers_[detail::view_index(v)].assembler; }
    void advance(std::chrono::milliseconds by) {
        sleeper_->advance(by);
        now_ = sleeper_->now();
    }

private:
    PublishConfig config_;
    std::unique_ptr<PresenceStore> store_;
    test::Workload work_;
    RecordingSink sink_;
    ManualSleeper* sleeper_ = nullptr;
    Sleeper::Clock::time_point now_ = Sleeper::Clock::time_point{} + 1h;
    std::unique_ptr<ViewPublisher> publisher_;
    std::vector<Consumer> consumers_;
};

PublishConfig small_messages() {
    PublishConfig c;
    c.max_message_size = 2048;
    c.max_publishes_per_second = 1000;
    return c;
}

}  // namespace

TEST_SUITE("publish round trip") {
    TEST_CASE("random traffic published and assembled equals the store's views") {
        for (std::uint32_t seed : {11u, 12u}) {
            CAPTURE(seed);
            SUBCASE("diff mode") {
                RoundTrip rt(small_messages(), seed);
                for (int t = 0; t < 25; ++t) {
                    rt.events(t % 5 == 4 ? 0 : 40);
                    rt.tick_and_check();
                }
                CHECK(rt.publisher().stats(View::ByChannel).diffs > 10);
            }
            SUBCASE("snapshot mode") {
                auto c = small_messages();
                c.diff_mode = false;
                RoundTrip rt(c, seed);
                for (int t = 0; t < 10; ++t) {
                    rt.events(40);
                    rt.tick_and_check();
                }
                CHECK(rt.publisher().stats(View::ByClient).diffs == 0);
            }
            SUBCASE("snapshot_every") {
                auto c = small_messages();
                c.snapshot_every = 3;
                RoundTrip rt(c, seed);
                for (int t = 0; t < 12; ++t) {
                    rt.events(30);
                    rt.tick_and_check();
                }
                CHECK(rt.publisher().stats(View::ByConnection).snapshots >= 4);
            }
        }
    }

    TEST_CASE("consumers recover after injected failures, retryable or not, delivered or lost") {
        auto c = small_messages();
        c.max_retries = 1;
        RoundTrip rt(c, 21);
        std::uint32_t call = 0;
        // A deterministic mix: lost requests, requests that reached Ably but report a failure,
        // retryable and fatal errors.
        rt.sink().decide(
            [&](std::string_view,
                std::span<const OutboundMessage>) -> std::optional<RecordingSink::Outcome> {
                switch (++call % 11) {
                    case 2:
                        return RecordingSink::Outcome{RecordingSink::retryable_failure(), false};
                    case 5:
                        return RecordingSink::Outcome{RecordingSink::transport_failure(), true};
                    case 7:
                        return RecordingSink::Outcome{RecordingSink::fatal_failure(), false};
                    case 9:
                        return RecordingSink::Outcome{RecordingSink::retryable_failure(), true};
                    default:
                        return std::nullopt;
                }
            });
        std::uint64_t failures = 0;
        for (int t = 0; t < 40; ++t) {
            rt.events(35);
            rt.tick_and_check();
        }
        for (View v : kAllViews) failures += rt.publisher().stats(v).failures;
        CHECK(failures > 10);
        CHECK(rt.publisher().totals().failed_rounds > 0);
        // A final clean tick repairs everything.
        rt.sink().decide({});
        rt.tick_and_check();
        for (View v : kAllViews) CHECK(rt.assembler(v).has_state());
    }

    TEST_CASE("a keepalive snapshot of an unchanged view keeps consumers equal") {
        auto c = small_messages();
        c.keepalive = 5s;
        RoundTrip rt(c, 31);
        rt.events(50);
        rt.tick_and_check();
        rt.tick_and_check();
        rt.tick_and_check();  // 6 s later: a keepalive
        CHECK(rt.publisher().stats(View::ByChannel).snapshots == 2);
        CHECK(rt.assembler(View::ByChannel).seq() == 2);
    }

    TEST_CASE("a new publisher (a restart) starts a new epoch that consumers follow") {
        RoundTrip rt(small_messages(), 41);
        for (int t = 0; t < 5; ++t) {
            rt.events(30);
            rt.tick_and_check();
        }
        const auto old_epoch = rt.assembler(View::ByChannel).epoch();
        rt.start_publisher(2);
        rt.events(30);
        rt.tick_and_check();
        CHECK(rt.assembler(View::ByChannel).epoch() != old_epoch);
        CHECK(rt.assembler(View::ByChannel).seq() == 1);
        rt.events(30);
        rt.tick_and_check();
        CHECK(rt.assembler(View::ByChannel).seq() == 2);
    }
}

// SPDX-License-Identifier: MIT
// Publishing costs: full snapshot encoding at 100k members, one tick with 1,000 changes at 1M
// members (ChangeSet -> diff messages), and the bytes published per interval under 1% churn
// compared with the JSON size of the members that changed.
#include <cstdint>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/presence_store.hpp>

#include "publish/view_encoder.hpp"
#include "publish/view_publisher.hpp"

namespace {

using namespace presenceagg;

/// Accepts everything and counts what it was given.
class CountingSink final : public AblyRestSink {
public:
    PublishResult publish(std::string_view, std::span<const OutboundMessage> messages) override {
        ++requests;
        for (const auto& m : messages) bytes += m.data.size();
        PublishResult r;
        r.http_status = 201;
        return r;
    }
    std::uint64_t requests = 0;
    std::uint64_t bytes = 0;
};

/// Members spread over `channels`, one client per member, ten members per connection.
class Population {
public:
    Population(std::size_t members, std::size_t channels)
        : store_(make_memory_presence_store()),
          members_(members),
          channels_(channels) {
        for (std::size_t i = 0; i < members; ++i) apply(i, PresenceAction::Enter);
        (void)store_->take_changes();
    }

    /// A new version of member `i` (update or leave), or its return.
    PresenceMessage message(std::size_t i, PresenceAction action) {
        PresenceMessage m;
        m.channel = "presence:room-" + std::to_string(i % channels_);
        m.client_id = "user-" + std::to_string(i);
        m.connection_id = "conn-" + std::to_string(i / 10);
        m.id = m.connection_id + ":" + std::to_string(++serial_) + ":0";
        m.timestamp = 1'700'000'000'000 + static_cast<std::int64_t>(serial_);
        m.action = action;
        m.data =
            "{\"status\":\"online\",\"device\":\"web\",\"n\":" + std::to_string(serial_ % 1000) +
            "}";
        return m;
    }
    void apply(std::size_t i, PresenceAction action) { store_->apply(message(i, action)); }

    PresenceStore& store() { return *store_; }
    [[nodiscard]] std::size_t size() const { return members_; }

private:
    std::unique_ptr<PresenceStore> store_;
    std::size_t members_;
    std::size_t channels_;
    std::uint64_t serial_ = 0;
};

std::unique_ptr<detail::ViewPublisher> make_publisher(PresenceStore& store, AblyRestSink& sink) {
    detail::ViewPublisherConfig config;
    config.publish.snapshot_every = 0;  // diffs only after the first snapshot
    config.publish.keepalive = std::chrono::hours(24);
    config.publish.max_publishes_per_second = 1e9;  // measure encoding, not the rate limit
    config.epoch = 1;
    config.sleeper = std::make_unique<detail::ManualSleeper>();
    return std::make_unique<detail::ViewPublisher>(store, sink, std::move(config));
}

void BM_SnapshotEncode100k(benchmark::State& state) {
    Population pop(100'000, 2'000);
    const detail::ViewEncoder encoder(65'536);
    std::uint64_t seq = 0;
    std::size_t bytes = 0;
    std::size_t parts = 0;
    for (auto _ : state) {
        const auto round = encoder.snapshot(pop.store(), View::ByChannel, 1, ++seq);
        bytes += round.data_bytes;
        parts = round.parts;
        benchmark::DoNotOptimize(round.requests.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
    state.counters["parts"] = static_cast<double>(parts);
    state.counters["members/s"] = benchmark::Counter(
        static_cast<double>(pop.size()) * static_cast<double>(state.iterations()),
        benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SnapshotEncode100k)->Unit(benchmark::kMillisecond);

void BM_Tick1000ChangesAt1M(benchmark::State& state) {
    Population pop(1'000'000, 10'000);
    CountingSink sink;
    auto publisher = make_publisher(pop.store(), sink);
    auto now = publisher->sleeper().now();
    publisher->tick(now);  // the initial snapshots, outside the measurement
    std::size_t next = 0;
    std::uint64_t bytes_before = 0;
    std::uint64_t diff_bytes = 0;
    for (auto _ : state) {
        state.PauseTiming();
        for (int i = 0; i < 1'000; ++i) {
            pop.apply(next, PresenceAction::Update);
            next = (next + 7'919) % pop.size();
        }
        bytes_before = sink.bytes;
        state.ResumeTiming();
        now += std::chrono::seconds(3);
        publisher->tick(now);  // take_changes once, merge into four views, encode, "send"
        diff_bytes += sink.bytes - bytes_before;
    }
    state.counters["diff_bytes/tick"] =
        static_cast<double>(diff_bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Tick1000ChangesAt1M)->Unit(benchmark::kMillisecond)->Iterations(50);

void BM_ChurnBytesPerInterval(benchmark::State& state) {
    Population pop(100'000, 2'000);
    CountingSink sink;
    auto publisher = make_publisher(pop.store(), sink);
    auto now = publisher->sleeper().now();
    publisher->tick(now);
    std::size_t next = 0;
    double published = 0;
    double changed_json = 0;
    for (auto _ : state) {
        state.PauseTiming();
        // 1% churn: 1,000 members change; a quarter of them leave and come back next time.
        for (int i = 0; i < 1'000; ++i) {
            const auto action = i % 4 == 0 ? PresenceAction::Leave : PresenceAction::Update;
            auto m = pop.message(next, action);
            changed_json +=
                static_cast<double>(m.client_id.size() + m.connection_id.size() + m.channel.size() +
                                    m.data.size() + m.id.size() + 60);
            pop.store().apply(m);
            if (action == PresenceAction::Leave) pop.apply(next, PresenceAction::Enter);
            next = (next + 104'729) % pop.size();
        }
        const auto before = sink.bytes;
        state.ResumeTiming();
        now += std::chrono::seconds(3);
        publisher->tick(now);
        published += static_cast<double>(sink.bytes - before);
    }
    const auto n = static_cast<double>(state.iterations());
    state.counters["published_bytes/interval"] = published / n;
    state.counters["changed_json_bytes/interval"] = changed_json / n;
    state.counters["published/changed"] = published / changed_json;
}
BENCHMARK(BM_ChurnBytesPerInterval)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace

// SPDX-License-Identifier: MIT
// The simulator against the library's own decoder and store: what the pipeline does with each
// delivery, without the pipeline.
#include <chrono>
#include <regex>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/decode.hpp>
#include <presenceagg/demo.hpp>
#include <presenceagg/presence_store.hpp>

using namespace presenceagg;

namespace {

struct Outcome {
    std::set<MemberKey> members;
    StoreStats store;
    Counts counts;
    std::size_t decode_errors = 0;
    std::size_t filtered = 0;
    std::size_t occupancy = 0;
    std::size_t occupancy_mismatches = 0;
};

Outcome run_into_store(SimulatedQueueSource& source) {
    Outcome out;
    Decoder decoder;
    DecodedBatch batch;
    const std::regex in_namespace("^presence:.*");
    auto store = make_memory_presence_store();
    source.run(std::stop_token{}, [&](const Delivery& d) {
        batch.clear();
        const DecodeResult r = decoder.decode_queue_message(d.body, d.headers, batch);
        if (!r.ok()) {
            ++out.decode_errors;
            FAIL_CHECK(r.message << ": " << d.body);
            return Disposition::Reject;
        }
        for (const PresenceMessage& m : batch.messages()) {
            if (!std::regex_search(m.channel, in_namespace)) {
                ++out.filtered;
                continue;
            }
            CHECK(m.encoding.empty());  // json data fully decoded
            CHECK(m.data.starts_with("{"));
            (void)store->apply(m);
        }
        for (const OccupancyMessage& o : batch.occupancy) {
            ++out.occupancy;
            // Sent right after the change, so it is exact for channels in the namespace.
            if (std::regex_search(o.channel, in_namespace) &&
                static_cast<std::size_t>(o.metrics.presence_members) !=
                    store->channel_members(o.channel)) {
                ++out.occupancy_mismatches;
            }
        }
        return Disposition::Ack;
    });
    (void)store->visit(
        View::ByChannel, [&](std::span<const std::string_view> path, std::string_view) {
            out.members.insert(
                MemberKey{std::string(path[0]), std::string(path[2]), std::string(path[1])});
        });
    out.store = store->stats();
    out.counts = store->counts();
    return out;
}

}  // namespace

TEST_SUITE("demo against the store") {
    TEST_CASE("the memory store converges to the simulation's ground truth") {
        SimulationConfig config;
        config.events_per_second = 0;
        config.start_time_ms = 1'700'000'000'000;
        config.max_events = 30'000;
        SUBCASE("defaults") {
            config.seed = 1;
        }
        SUBCASE("heavy churn, many duplicates, quick synthesized leaves") {
            config.seed = 2;
            config.clients = 30;
            config.channels = 5;
            config.drop_probability = 0.15;
            config.duplicate_probability = 0.3;
            config.synthesized_leave_delay = std::chrono::milliseconds(1'000);
        }
        CAPTURE(config.seed);
        SimulatedQueueSource source(config);
        const Outcome out = run_into_store(source);
        const auto sim = source.simulation_stats();
        CHECK(sim.synthesized_leaves > 0);
        CHECK(sim.duplicates > 0);
        CHECK(out.decode_errors == 0);
        CHECK(out.filtered >= sim.outside_namespace_events);  // plus duplicates outside
        CHECK(out.occupancy == sim.occupancy_events);
        CHECK(out.occupancy_mismatches == 0);
        CHECK(out.store.duplicate + out.store.stale > 0);
        const auto expected = source.expected_member_keys();
        CHECK(out.members == std::set<MemberKey>(expected.begin(), expected.end()));
        CHECK(out.counts.members == source.expected_members());
        CHECK(out.counts.channels == sim.expected_channels);
    }
}

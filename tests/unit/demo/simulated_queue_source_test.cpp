// SPDX-License-Identifier: MIT
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <presenceagg/demo.hpp>
#include <presenceagg/error.hpp>

#include "unit/demo/envelope_reader.hpp"

using namespace presenceagg;
using demo_test::Envelope;
using demo_test::read_envelope;

namespace {

constexpr std::int64_t kStart = 1'700'000'000'000;

SimulationConfig fast_config(std::uint64_t seed, std::uint64_t max_events) {
    SimulationConfig c;
    c.seed = seed;
    c.events_per_second = 0;
    c.max_events = max_events;
    c.start_time_ms = kStart;
    return c;
}

struct Recorded {
    std::string body;
    bool redelivered;
    StreamKind stream;
    std::string content_type;

    friend bool operator==(const Recorded&, const Recorded&) = default;
};

std::vector<Recorded> record_run(SimulatedQueueSource& source) {
    std::vector<Recorded> out;
    source.run(std::stop_token{}, [&](const Delivery& d) {
        out.push_back({std::string(d.body), d.redelivered, d.stream, std::string(d.content_type)});
        return Disposition::Ack;
    });
    return out;
}

std::set<MemberKey> as_set(const std::vector<MemberKey>& keys) {
    return {keys.begin(), keys.end()};
}

}  // namespace

TEST_SUITE("simulated queue source") {
    TEST_CASE("every delivery is an Ably enveloped queue body") {
        SimulatedQueueSource source(fast_config(7, 20'000));
        const auto deliveries = record_run(source);
        REQUIRE(deliveries.size() >= 20'000);

        std::map<std::string, std::uint64_t> last_serial;  // per connection
        std::size_t presence = 0;
        std::size_t occupancy = 0;
        std::size_t synthesized = 0;
        std::int64_t previous_fresh_timestamp = 0;
        for (const auto& d : deliveries) {
            CHECK(d.content_type == "application/json");
            std::string why;
            const auto e = read_envelope(d.body, &why);
            if (!e) FAIL_CHECK(why << ": " << d.body);
            if (!e) continue;
            if (e->source == "channel.occupancy") {
                CHECK(d.stream == StreamKind::Occupancy);
                CHECK(e->presence_members >= 0);
                ++occupancy;
                continue;
            }
            CHECK(d.stream == StreamKind::Presence);
            ++presence;
            CHECK(e->encoding == "json");
            CHECK((e->action == 2 || e->action == 3 || e->action == 4));
            rapidjson::Document data;
            data.Parse(e->data.data(), e->data.size());
            REQUIRE_FALSE(data.HasParseError());
            REQUIRE(data.IsObject());
            for (const char* key : {"status", "name", "avatar", "device"}) {
                CHECK(data.HasMember(key));
            }
            CHECK(e->data.size() > 80);  // realistic member data, not a placeholder
            if (d.redelivered) continue;
            CHECK(e->timestamp >= previous_fresh_timestamp);
            previous_fresh_timestamp = e->timestamp;
            if (!e->id.starts_with(e->connection_id + ":")) {
                // Ably's synthesized leave: not prefixed by the member's connection.
                CHECK(e->action == 3);
                ++synthesized;
                continue;
            }
            const auto serial = demo_test::serial_of(e->id);
            REQUIRE(serial.has_value());
            CHECK(serial->second == 0);
            const auto it = last_serial.find(e->connection_id);
            if (it != last_serial.end()) CHECK(serial->first > it->second);
            last_serial[e->connection_id] = serial->first;
        }
        const SimulationStats s = source.simulation_stats();
        CHECK(s.presence_events == 20'000);
        CHECK(presence == s.presence_events + s.duplicates);
        CHECK(occupancy == s.occupancy_events);
        CHECK(synthesized == s.synthesized_leaves);
        CHECK(s.synthesized_leaves > 0);
        CHECK(s.duplicates > 0);
        CHECK(s.occupancy_events > 0);
        CHECK(s.outside_namespace_events > 0);
        CHECK(s.reconnections > 0);
        CHECK(s.connection_drops > 0);
        CHECK(s.by_action[static_cast<std::size_t>(PresenceAction::Update)] > 0);
        CHECK(s.expected_members > 0);
        CHECK(s.online_clients > 0);
        CHECK(s.last_timestamp_ms >= kStart);
        const auto queue = source.stats();
        CHECK(queue.deliveries == deliveries.size());
        CHECK(queue.acks == deliveries.size());
        CHECK_FALSE(queue.connected);
    }

    TEST_CASE("applying every delivery by Ably's rules converges to the ground truth") {
        SimulationConfig config = fast_config(11, 30'000);
        SUBCASE("defaults") {}
        SUBCASE("small population with heavy churn and many duplicates") {
            config.clients = 25;
            config.channels = 4;
            config.drop_probability = 0.15;
            config.duplicate_probability = 0.3;
            config.synthesized_leave_delay = std::chrono::milliseconds(2'000);
            config.max_connections_per_client = 2;
        }
        SUBCASE("leaves synthesized at once") {
            config.synthesized_leave_delay = std::chrono::milliseconds(0);
            config.reconnect_delay_max = std::chrono::milliseconds(0);
            config.drop_probability = 0.1;
        }
        CAPTURE(config.seed);
        SimulatedQueueSource source(config);
        demo_test::ReferencePresence inside;
        demo_test::ReferencePresence everywhere;
        std::size_t occupancy_checked = 0;
        source.run(std::stop_token{}, [&](const Delivery& d) {
            const auto e = read_envelope(d.body);
            REQUIRE(e.has_value());
            if (e->source == "channel.occupancy") {
                // Emitted right after the event that made it due: exact, not eventual.
                CHECK(static_cast<std::size_t>(e->presence_members) ==
                      everywhere.members_in(e->channel));
                ++occupancy_checked;
                return Disposition::Ack;
            }
            everywhere.apply(*e);
            if (e->channel.starts_with(config.channel_prefix)) inside.apply(*e);
            return Disposition::Ack;
        });
        CHECK(occupancy_checked > 0);
        CHECK(inside.present() == as_set(source.expected_member_keys()));
        CHECK(everywhere.present() == as_set(source.expected_member_keys(true)));
        CHECK(source.expected_members() == inside.present().size());
        CHECK(source.expected_member_keys().size() < source.expected_member_keys(true).size());
    }

    TEST_CASE("some clients are present on several connections at once") {
        SimulatedQueueSource source(fast_config(3, 10'000));
        (void)record_run(source);
        std::map<std::string, std::set<std::string>> connections_of;
        for (const auto& key : source.expected_member_keys(true)) {
            connections_of[key.client_id].insert(key.connection_id);
        }
        std::size_t multi = 0;
        for (const auto& [client, conns] : connections_of) multi += conns.size() > 1 ? 1 : 0;
        CHECK(multi > 0);
    }

    TEST_CASE("requeued and thrown deliveries come back and still converge") {
        SimulatedQueueSource source(fast_config(5, 5'000));
        demo_test::ReferencePresence inside;
        std::set<std::string> refused_once;
        std::size_t requeued = 0;
        std::size_t thrown = 0;
        std::size_t redelivered_seen = 0;
        std::size_t n = 0;
        source.run(std::stop_token{}, [&](const Delivery& d) -> Disposition {
            const std::string body(d.body);
            if (d.redelivered) ++redelivered_seen;
            if (++n % 7 == 0 && refused_once.insert(body).second) {
                if (n % 2 == 0) {
                    ++thrown;
                    throw std::runtime_error("handler failure");
                }
                ++requeued;
                return Disposition::Requeue;
            }
            const auto e = read_envelope(body);
            REQUIRE(e.has_value());
            if (e->source == "channel.presence" && e->channel.starts_with("presence:")) {
                inside.apply(*e);
            }
            return Disposition::Ack;
        });
        CHECK(requeued > 0);
        CHECK(thrown > 0);
        CHECK(redelivered_seen >= requeued + thrown);
        const auto q = source.stats();
        CHECK(q.requeues == requeued + thrown);
        CHECK(source.simulation_stats().requeue_redeliveries == requeued + thrown);
        CHECK(inside.present() == as_set(source.expected_member_keys()));
    }

    TEST_CASE("the same seed gives the same deliveries; another seed does not") {
        SimulatedQueueSource a(fast_config(42, 3'000));
        SimulatedQueueSource b(fast_config(42, 3'000));
        SimulatedQueueSource c(fast_config(43, 3'000));
        const auto ra = record_run(a);
        const auto rb = record_run(b);
        const auto rc = record_run(c);
        CHECK(ra == rb);
        CHECK(ra != rc);
        CHECK(a.native_fanout_messages() == b.native_fanout_messages());
        CHECK(a.expected_member_keys() == b.expected_member_keys());
    }

    TEST_CASE("a second run continues the same simulation") {
        SimulatedQueueSource once(fast_config(9, 4'000));
        const auto all = record_run(once);

        SimulatedQueueSource twice(fast_config(9, 4'000));
        std::stop_source stop;
        std::vector<Recorded> both;
        std::size_t fresh = 0;
        twice.run(stop.get_token(), [&](const Delivery& d) {
            both.push_back(
                {std::string(d.body), d.redelivered, d.stream, std::string(d.content_type)});
            if (d.stream == StreamKind::Presence && !d.redelivered && ++fresh == 1'500) {
                stop.request_stop();
            }
            return Disposition::Ack;
        });
        CHECK(twice.simulation_stats().presence_events == 1'500);
        auto rest = record_run(twice);
        both.insert(both.end(), rest.begin(), rest.end());
        CHECK(both == all);
    }

    TEST_CASE("native fan-out is the sum of members in the channel plus one per event") {
        SimulationConfig config = fast_config(21, 8'000);
        config.duplicate_probability = 0;
        SimulatedQueueSource source(config);
        demo_test::ReferencePresence reference;
        std::uint64_t fanout = 0;
        source.run(std::stop_token{}, [&](const Delivery& d) {
            const auto e = read_envelope(d.body);
            REQUIRE(e.has_value());
            if (e->source != "channel.presence" || !e->channel.starts_with("presence:")) {
                return Disposition::Ack;
            }
            const std::size_t before = reference.members_in(e->channel);
            reference.apply(*e);
            const std::size_t after = reference.members_in(e->channel);
            fanout += std::max(before, after) + 1;  // counts the event's own member
            return Disposition::Ack;
        });
        CHECK(fanout > 8'000);
        CHECK(source.native_fanout_messages() == fanout);
    }

    TEST_CASE("a stop request ends an unpaced run after the current delivery") {
        SimulatedQueueSource source(fast_config(1, 0));
        std::stop_source stop;
        std::size_t presence = 0;
        source.run(stop.get_token(), [&](const Delivery& d) {
            if (d.stream == StreamKind::Presence && !d.redelivered && ++presence == 500) {
                stop.request_stop();
            }
            return Disposition::Ack;
        });
        CHECK(presence == 500);
        CHECK(source.simulation_stats().presence_events == 500);
    }

    TEST_CASE("a stop request interrupts the pacing wait") {
        SimulationConfig config;
        config.events_per_second = 0.01;  // the second event is 100 s away
        SimulatedQueueSource source(config);
        std::promise<void> first;
        std::atomic<bool> fulfilled{false};
        std::jthread runner([&](std::stop_token stop) {
            source.run(stop, [&](const Delivery&) {
                if (!fulfilled.exchange(true)) first.set_value();
                return Disposition::Ack;
            });
        });
        REQUIRE(first.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
        CHECK(source.stats().connected);
        runner.request_stop();
        // Generous: a run that ignored the token would sleep for 100 s.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (source.stats().connected && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
        CHECK_FALSE(source.stats().connected);
        CHECK(source.simulation_stats().presence_events == 1);
    }

    TEST_CASE("paced timestamps follow the wall clock") {
        SimulationConfig config;
        config.events_per_second = 10'000;
        config.max_events = 50;
        SimulatedQueueSource source(config);
        const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        std::int64_t first = 0;
        source.run(std::stop_token{}, [&](const Delivery& d) {
            const auto e = read_envelope(d.body);
            if (e && e->source == "channel.presence" && first == 0) first = e->timestamp;
            return Disposition::Ack;
        });
        CHECK(first >= before);
        CHECK(first < before + 60'000);
    }

    TEST_CASE("unusable settings are refused, naming the field") {
        const auto refused = [](SimulationConfig c, std::string_view field) {
            try {
                SimulatedQueueSource source(std::move(c));
                FAIL_CHECK("accepted");
            } catch (const Error& e) {
                CHECK(e.code() == Errc::InvalidConfig);
                CHECK(std::string(e.what()).find(field) != std::string::npos);
            }
        };
        SimulationConfig c;
        c.clients = 0;
        refused(c, "SimulationConfig.clients");
        c = {};
        c.channels = 0;
        refused(c, "SimulationConfig.channels");
        c = {};
        c.duplicate_probability = 1.5;
        refused(c, "SimulationConfig.duplicate_probability");
        c = {};
        c.events_per_second = -1;
        refused(c, "SimulationConfig.events_per_second");
        c = {};
        c.outside_prefix = "presence:other:";
        refused(c, "SimulationConfig.outside_prefix");
        CHECK(make_simulated_queue_source() != nullptr);
    }
}

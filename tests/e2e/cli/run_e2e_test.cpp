// SPDX-License-Identifier: MIT
// End-to-end: the real `presence-agg run` against RabbitMQ and the Ably stand-in. Each case
// computes the expected final state with an in-process store fed the same events and compares
// the views assembled from what the CLI published, byte for byte.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "cli_process.hpp"
#include "e2e_support.hpp"
#include "support/amqp/test_broker.hpp"
#include "support/standin/standin_process.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::e2e {
namespace {

using namespace std::chrono_literals;
using standin::StandinProcess;
using test::ScopedQueue;
using test::TestBroker;

constexpr auto kDeadline = 60s;

// ---------------------------------------------------------------------------------------------
// Event streams

// A member: one clientId on one connection in one channel.
struct MemberId {
    std::string channel;
    std::string client_id;
    std::string connection_id;
};

// Generates a clean stream of presence events (enter, update, leave, synthesized leave) over a
// fixed population, and a delivery of it with duplicates and local reordering.
class StreamGenerator {
public:
    StreamGenerator(std::uint32_t seed, std::int64_t start_ms)
        : rng_(seed),
          clock_(start_ms) {}

    // Adds `count` members spread over `channels` channels named `prefix`NN.
    void add_population(const std::string& prefix, std::size_t channels, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            members_.push_back({prefix + std::to_string(i % channels),
                                "user-" + std::to_string(i % 170),
                                "conn-" + std::to_string(i % 97)});
            present_.push_back(false);
        }
    }

    // One event for a random member; returns its queue body.
    std::string next() {
        std::uniform_int_distribution<std::size_t> pick(0, members_.size() - 1);
        const std::size_t i = pick(rng_);
        const MemberId& m = members_[i];
        RawPresence p;
        p.client_id = m.client_id;
        p.connection_id = m.connection_id;
        clock_ += 7;
        p.timestamp = clock_;
        const std::uint64_t serial = ++serials_[m.connection_id];
        p.id = m.connection_id + ":" + std::to_string(serial) + ":0";
        const int roll = std::uniform_int_distribution<int>(0, 99)(rng_);
        if (!present_[i]) {
            p.action = 2;
            present_[i] = true;
        } else if (roll < 60) {
            p.action = 4;
        } else {
            p.action = 3;
            present_[i] = false;
            // Ably synthesizes a leave when a connection drops: its id is not the connection's.
            if (roll >= 94)
                p.id = "synth" + std::to_string(serial) + ":" + std::to_string(serial) + ":0";
        }
        if (p.action != 3) set_data(p, serial);
        return presence_envelope(m.channel, p);
    }

    // A delivery of `clean`: about 8% of bodies delivered again up to 30 positions later, and
    // about 5% of neighbours swapped.
    std::vector<std::string> deliver(const std::vector<std::string>& clean) {
        std::vector<std::string> out;
        std::multimap<std::size_t, std::string> later;
        std::uniform_int_distribution<int> roll(0, 99);
        std::uniform_int_distribution<std::size_t> delay(1, 30);
        for (std::size_t i = 0; i < clean.size(); ++i) {
            out.push_back(clean[i]);
            if (roll(rng_) < 8) later.emplace(i + delay(rng_), clean[i]);
            for (auto it = later.find(i); it != later.end() && it->first == i;
                 it = later.erase(it)) {
                out.push_back(it->second);
            }
        }
        for (auto& [pos, body] : later) out.push_back(body);
        for (std::size_t i = 1; i < out.size(); ++i) {
            if (roll(rng_) < 5) std::swap(out[i - 1], out[i]);
        }
        return out;
    }

private:
    void set_data(RawPresence& p, std::uint64_t serial) {
        std::string text;
        switch (serial % 3) {
            case 0: {  // JSON data, as Ably enqueues it: a string with encoding "json"
                std::string json =
                    "{\"n\":" + std::to_string(serial) + ",\"s\":\"é/" + p.client_id + "\"}";
                detail::append_json_string(text, json);
                p.encoding = "json";
                break;
            }
            case 1:
                detail::append_json_string(text, "status-" + std::to_string(serial));
                break;
            default:
                text = "null";
        }
        p.data_json = std::move(text);
    }

    std::mt19937 rng_;
    std::int64_t clock_;
    std::vector<MemberId> members_;
    std::vector<bool> present_;
    std::map<std::string, std::uint64_t> serials_;
};

// ---------------------------------------------------------------------------------------------
// A world: the stand-in, the broker, a queue, the view followers.

struct World {
    StandinProcess standin;
    TestBroker broker;
    ScopedQueue queue;
    std::string publish_channel;

    explicit World(std::vector<std::string> standin_args = {}, test::QueueArgs queue_args = {})
        : standin(std::move(standin_args)),
          broker(TestBroker::connect(test::amqp_test_url())),
          queue(broker, "e2e-cli", queue_args),
          publish_channel("views-" + queue.name()) {}

    std::map<std::string, std::string> env() const {
        return run_env(standin, queue.name(), publish_channel);
    }

    ViewFollower follower(View view) const {
        return ViewFollower(standin, view_channel(publish_channel, view), view);
    }
};

std::string view_summary(const ViewFollower& f) {
    const auto& a = f.assembler();
    std::string s = f.channel() + ": " + std::to_string(f.messages().size()) + " messages, " +
                    std::to_string(a.rounds_applied()) + " rounds, seq " + std::to_string(a.seq()) +
                    ", state " + (a.has_state() ? "valid" : "invalid") + ", " +
                    std::to_string(a.leaves()) + " leaves, " + std::to_string(a.gaps()) +
                    " gaps, " + std::to_string(a.mismatches()) + " mismatches";
    for (std::size_t i = 0; i < f.problems().size() && i < 5; ++i) s += "\n  " + f.problems()[i];
    return s;
}

// Waits until every view assembled from the stand-in equals the expected state.
bool wait_views(std::vector<ViewFollower>& followers,
                const ExpectedState& expected,
                std::chrono::milliseconds deadline = kDeadline) {
    std::vector<std::string> want;
    for (const auto& f : followers) want.push_back(expected.view_json(*f.assembler().view()));
    return wait_until(
        [&] {
            bool all = true;
            for (std::size_t i = 0; i < followers.size(); ++i)
                all = followers[i].matches(want[i]) && all;
            return all;
        },
        deadline, 100ms);
}

std::vector<ViewFollower> all_followers(const World& w) {
    std::vector<ViewFollower> out;
    for (View v : kAllViews) out.push_back(w.follower(v));
    return out;
}

void report(const std::vector<ViewFollower>& followers,
            const ExpectedState& expected,
            const CliProcess& cli) {
    for (const auto& f : followers) {
        const View v = *f.assembler().view();
        const std::string want = expected.view_json(v);
        INFO(view_summary(f));
        INFO("expected " << want.size() << " bytes: " << want.substr(0, 300));
        INFO("assembled " << f.assembler().state_json().size()
                          << " bytes: " << f.assembler().state_json().substr(0, 300));
        CHECK(f.assembler().state_json() == want);
    }
    MESSAGE("CLI stderr (tail):\n" << cli.stderr_tail());
}

// The data object of one published Ably message (the NDJSON line from the stand-in).
std::string wire_data(const std::string& line) {
    return json_field(line, "data").value_or("");
}

// With PRESENCEAGG_E2E_DUMP=DIR, keeps what a case published and logged there for diagnosis.
void dump(const std::vector<ViewFollower>& followers, const CliProcess& cli) {
    const char* dir = std::getenv("PRESENCEAGG_E2E_DUMP");
    if (dir == nullptr || *dir == '\0') return;
    for (const auto& f : followers) {
        std::string text;
        for (const auto& line : f.messages()) text += line + "\n";
        write_file(std::filesystem::path(dir) / (f.channel() + ".ndjson"), text);
    }
    write_file(std::filesystem::path(dir) / "stderr.log", cli.stderr_text());
}

// Checks common to every run: clean exit on SIGTERM and no secret in the output.
void finish(CliProcess& cli) {
    const auto begin = std::chrono::steady_clock::now();
    const int code = cli.terminate(20s);
    const auto took = std::chrono::steady_clock::now() - begin;
    INFO("stderr tail:\n" << cli.stderr_tail());
    CHECK(code == 0);
    CHECK_FALSE(cli.was_killed());
    CHECK(took < 15s);
    CHECK(cli.logged("stopped", "pipeline"));
    CHECK(cli.stderr_text().find("secret") == std::string::npos);
    CHECK(cli.stdout_text().find("secret") == std::string::npos);
}

std::vector<PresenceMessage> as_present(const std::string& channel,
                                        const std::vector<RawPresence>& set) {
    std::vector<PresenceMessage> out;
    for (const RawPresence& r : set) {
        Decoder decoder;
        DecodedBatch batch;
        RawPresence present = r;
        present.action = 1;
        REQUIRE(decoder.decode_queue_message(presence_envelope(channel, present), {}, batch).ok());
        for (const auto& m : batch.messages()) out.push_back(m);
    }
    return out;
}

// Sets presence sets on the stand-in: {channel: members} in one control request.
void set_presence_sets(StandinProcess& standin,
                       const std::map<std::string, std::vector<RawPresence>>& sets) {
    std::string body = "[";
    for (const auto& [channel, members] : sets) {
        if (body.size() > 1) body += ',';
        body += "{\"channel\":";
        detail::append_json_string(body, channel);
        body += ",\"members\":[";
        for (std::size_t i = 0; i < members.size(); ++i) {
            if (i != 0) body += ',';
            body += standin_member_json(members[i]);
        }
        body += "]}";
    }
    body += ']';
    const auto reply = standin.post("/_control/presence", body);
    REQUIRE_MESSAGE(reply.status / 100 == 2, reply.body);
}

// Every member of the by-channel view of `state` as a stand-in presence set (string data only).
std::map<std::string, std::vector<RawPresence>> presence_sets_of(const ExpectedState& state) {
    std::map<std::string, std::vector<RawPresence>> out;
    state.store().visit(View::ByChannel,
                        [&](std::span<const std::string_view> path, std::string_view leaf) {
                            rapidjson::Document doc;
                            doc.Parse(leaf.data(), leaf.size());
                            RawPresence p;
                            p.client_id = std::string(path[1]);
                            p.connection_id = std::string(path[2]);
                            p.id = doc["id"].GetString();
                            p.timestamp = doc["timestamp"].GetInt64();
                            p.data_json.clear();
                            if (doc["data"].IsString()) {
                                detail::append_json_string(p.data_json, doc["data"].GetString());
                            } else {
                                p.data_json = "null";
                            }
                            out[std::string(path[0])].push_back(std::move(p));
                        });
    return out;
}

RawPresence simple_member(const std::string& client,
                          const std::string& conn,
                          std::uint64_t serial,
                          std::int64_t ts,
                          int action,
                          const std::string& data) {
    RawPresence p;
    p.client_id = client;
    p.connection_id = conn;
    p.id = conn + ":" + std::to_string(serial) + ":0";
    p.timestamp = ts;
    p.action = action;
    p.data_json.clear();
    detail::append_json_string(p.data_json, data);
    return p;
}

}  // namespace

TEST_SUITE("e2e-cli") {
    TEST_CASE(
        "a stream of enters, updates and leaves over many channels ends in exactly the expected "
        "views") {
        World w;
        ExpectedState expected;
        ExpectedState clean_expected;
        StreamGenerator gen(20240601, now_ms() - 120'000);
        gen.add_population("presence:room-", 50, 500);
        gen.add_population("other:room-", 5, 40);         // outside the namespace
        gen.add_population("not-presence:room-", 2, 10);  // the regex is anchored
        std::vector<std::string> clean;
        for (int i = 0; i < 5000; ++i) clean.push_back(gen.next());
        const std::vector<std::string> delivered = gen.deliver(clean);
        for (const auto& b : clean) REQUIRE(clean_expected.apply_body(b));
        for (const auto& b : delivered) REQUIRE(expected.apply_body(b));
        // The store's own promise, which the scenario relies on: the delivery's state is the clean
        // one.
        for (View v : kAllViews) REQUIRE(expected.view_json(v) == clean_expected.view_json(v));
        REQUIRE(expected.store().counts().members > 100);

        CliProcess cli(w.env());
        auto followers = all_followers(w);
        // In five batches, so that diffs follow the first snapshot.
        const std::size_t batch = (delivered.size() + 4) / 5;
        for (std::size_t from = 0; from < delivered.size(); from += batch) {
            const std::size_t to = std::min(delivered.size(), from + batch);
            w.broker.publish_many(w.queue.name(),
                                  std::span<const std::string>(delivered.data() + from, to - from),
                                  "application/json");
            REQUIRE_MESSAGE(wait_until([&] { return w.broker.message_count(w.queue.name()) == 0; }),
                            cli.stderr_tail());
        }
        const bool ok = wait_views(followers, expected);
        if (!ok) report(followers, expected, cli);
        dump(followers, cli);
        REQUIRE(ok);
        for (const auto& f : followers) {
            INFO(view_summary(f));
            CHECK(f.assembler().gaps() == 0);
            CHECK(f.assembler().mismatches() == 0);
            CHECK(f.assembler().malformed() == 0);
        }
        // Diff mode: once a quiet snapshot is out, a few more changes go out as a diff against
        // the previous seq (under sustained ingest the publisher may choose snapshots). Two
        // publish intervals let a snapshot forced by the ingest go out first.
        (void)wait_until([] { return false; }, 500ms);
        for (int i = 0; i < 40; ++i) {
            const std::string body = gen.next();
            REQUIRE(expected.apply_body(body));
            w.broker.publish(w.queue.name(), body, {}, "application/json");
        }
        const bool tail_ok = wait_views(followers, expected);
        if (!tail_ok) report(followers, expected, cli);
        REQUIRE(tail_ok);
        std::size_t diffs = 0;
        for (const auto& line : followers[0].messages())
            diffs += json_field(wire_data(line), "kind") == "diff";
        CHECK(diffs > 0);
        for (const auto& f : followers) {
            INFO(view_summary(f));
            CHECK(f.assembler().gaps() == 0);
            CHECK(f.assembler().mismatches() == 0);
        }
        finish(cli);

        // presence-agg assemble rebuilds the view from the published NDJSON.
        TempDir dir;
        std::string ndjson;
        for (const auto& line : followers[0].messages()) ndjson += line + "\n";
        write_file(dir.path() / "by-channel.ndjson", ndjson);
        const CliRun ok_run = run_cli(
            {"assemble", "--view", "by-channel", (dir.path() / "by-channel.ndjson").string()},
            {{"LOG_FORMAT", "json"}});
        INFO(ok_run.err);
        CHECK(ok_run.exit_code == 0);
        CHECK(ok_run.out == expected.view_json(View::ByChannel) + "\n");

        // The first snapshot round, then a diff whose base is not the state's seq: a gap at the
        // end.
        std::string gap_stream;
        std::string epoch;
        for (const auto& line : followers[0].messages()) {
            const std::string data = wire_data(line);
            if (json_field(data, "seq") != "1") break;
            epoch = json_field(data, "epoch").value_or("");
            gap_stream += line + "\n";
        }
        REQUIRE_FALSE(epoch.empty());
        std::string diff_data =
            R"({"v":1,"view":"by-channel","epoch":")" + epoch +
            R"(","seq":9,"kind":"diff","base":8,"part":0,"parts":1,"hash":"0000000000000000","body":{}})";
        std::string diff_line =
            R"({"id":")" + epoch + R"(.by-channel.9:0","name":"diff","encoding":"json","data":)";
        detail::append_json_string(diff_line, diff_data);
        diff_line += "}";
        gap_stream += diff_line + "\n";
        write_file(dir.path() / "gap.ndjson", gap_stream);
        const CliRun gap_run =
            run_cli({"assemble", "--view", "by-channel", (dir.path() / "gap.ndjson").string()},
                    {{"LOG_FORMAT", "json"}});
        INFO(gap_run.err);
        CHECK(gap_run.exit_code != 0);
        CHECK(gap_run.err.find("gap") != std::string::npos);
        // Without the gap line the prefix is a complete, verified state.
        write_file(dir.path() / "prefix.ndjson",
                   gap_stream.substr(0, gap_stream.size() - diff_line.size() - 1));
        CHECK(run_cli({"assemble", (dir.path() / "prefix.ndjson").string()}).exit_code == 0);
    }

    TEST_CASE("start and stop commands on the command channel control consumption and publishing") {
        World w;
        const std::string command_channel = "cmd-" + w.queue.name();
        auto env = w.env();
        env["COMMAND_CHANNEL"] = command_channel;
        env["CONSUME_ON_START"] = "false";

        // Batch A waits in the queue before the CLI starts; string data only, so that a presence
        // set on the stand-in can reproduce its state exactly.
        const std::int64_t t0 = now_ms() - 60'000;
        std::vector<std::string> batch_a;
        ExpectedState expected_a;
        for (int i = 0; i < 300; ++i) {
            const int action = i >= 240 && i % 4 == 0 ? 3 : 2;
            const int who = action == 3 ? i - 200 : i;
            batch_a.push_back(presence_envelope(
                "presence:cmd-" + std::to_string(who % 10),
                simple_member("client-" + std::to_string(who), "conn-" + std::to_string(who % 7),
                              static_cast<std::uint64_t>(i + 1), t0 + i, action,
                              "a" + std::to_string(i))));
        }
        for (const auto& b : batch_a) REQUIRE(expected_a.apply_body(b));
        w.broker.publish_many(w.queue.name(), batch_a, "application/json");

        CliProcess cli(env);
        auto followers = all_followers(w);
        REQUIRE_MESSAGE(wait_until([&] {
                            return cli.logged("started", "pipeline") &&
                                   cli.logged("stream open", "command");
                        }),
                        cli.stderr_tail());
        // Nothing is consumed or published while no start command came (observed for a while).
        REQUIRE_FALSE(wait_until(
            [&] { return w.broker.message_count(w.queue.name()) != batch_a.size(); }, 1500ms));
        CHECK(w.broker.consumer_count(w.queue.name()) == 0);
        for (auto& f : followers) CHECK(f.poll() == 0);

        auto command = [&](const char* what) {
            const auto reply =
                w.standin.ably_post("/channels/" + command_channel + "/messages",
                                    std::string(R"({"name":"update","data":")") + what + "\"}");
            REQUIRE_MESSAGE(reply.status == 201, reply.body);
        };
        command("start");
        bool ok = wait_views(followers, expected_a);
        if (!ok) report(followers, expected_a, cli);
        REQUIRE(ok);
        CHECK(w.broker.consumer_count(w.queue.name()) == 1);
        const std::string epoch1 =
            json_field(wire_data(followers[0].messages().back()), "epoch").value_or("");

        command("stop");
        REQUIRE_MESSAGE(wait_until([&] {
                            return cli.logged("stop command received") &&
                                   w.broker.consumer_count(w.queue.name()) == 0;
                        }),
                        cli.stderr_tail());
        // Let a last publish of the stopped session land, then nothing more may come.
        (void)wait_until([] { return false; }, 1s);
        std::vector<std::size_t> published_after_stop;
        for (auto& f : followers) {
            f.poll();
            published_after_stop.push_back(f.messages().size());
        }
        // Batch B arrives while stopped: it stays in the queue.
        std::vector<std::string> batch_b;
        const std::int64_t t1 = now_ms() - 30'000;
        for (int i = 0; i < 100; ++i) {
            const int who = i * 3;
            batch_b.push_back(presence_envelope(
                "presence:cmd-" + std::to_string(who % 10),
                simple_member("client-" + std::to_string(who), "conn-" + std::to_string(who % 7),
                              static_cast<std::uint64_t>(1000 + i), t1 + i, i % 5 == 0 ? 3 : 4,
                              "b" + std::to_string(i))));
        }
        w.broker.publish_many(w.queue.name(), batch_b, "application/json");
        CHECK_FALSE(wait_until(
            [&] { return w.broker.message_count(w.queue.name()) != batch_b.size(); }, 1500ms));
        for (std::size_t i = 0; i < followers.size(); ++i) {
            followers[i].poll();
            CHECK(followers[i].messages().size() == published_after_stop[i]);
        }

        // Ably still has batch A's members; the restart bootstraps them and consumes batch B.
        set_presence_sets(w.standin, presence_sets_of(expected_a));
        ExpectedState expected_b;
        for (const auto& [channel, set] : presence_sets_of(expected_a)) {
            for (const auto& m : as_present(channel, set)) expected_b.apply(m);
        }
        for (const auto& b : batch_b) REQUIRE(expected_b.apply_body(b));
        REQUIRE(expected_b.view_json(View::ByChannel) != expected_a.view_json(View::ByChannel));

        command("start");
        std::uint32_t max_consumers = 0;
        ok = wait_until([&] {
            max_consumers = std::max(max_consumers, w.broker.consumer_count(w.queue.name()));
            bool all = true;
            for (auto& f : followers)
                all = f.matches(expected_b.view_json(*f.assembler().view())) && all;
            return all;
        });
        if (!ok) report(followers, expected_b, cli);
        REQUIRE(ok);
        CHECK(max_consumers == 1);
        CHECK(w.broker.consumer_count(w.queue.name()) == 1);
        CHECK(w.broker.message_count(w.queue.name()) == 0);
        const std::string epoch2 =
            json_field(wire_data(followers[0].messages().back()), "epoch").value_or("");
        CHECK_FALSE(epoch1.empty());
        CHECK(epoch2 != epoch1);
        CHECK(cli.count_logged("start command received") == 2);
        finish(cli);
    }

    TEST_CASE(
        "the bootstrap enumerates 2,000 channels over many pages within the REST rate limit") {
        World w({"--page-cap", "100"});
        w.standin.set_enumeration(
            R"({"empty_pages":true,"duplicate_rate":0.2,"invalidate_after_pages":7,"invalidate_times":1,"seed":11})");
        std::map<std::string, std::vector<RawPresence>> sets;
        ExpectedState expected;
        const std::int64_t t0 = now_ms() - 10'000;
        for (int c = 0; c < 2000; ++c) {
            char name[32];
            std::snprintf(name, sizeof name, "presence:boot-%04d", c);
            for (int k = 0; k <= c % 3; ++k) {
                sets[name].push_back(simple_member(
                    "u" + std::to_string((c * 7 + k) % 900), "bc" + std::to_string(k),
                    static_cast<std::uint64_t>(c + 1), t0 + c, 1, "d" + std::to_string(c)));
            }
        }
        for (int c = 0; c < 30; ++c) {
            sets["other:boot-" + std::to_string(c)].push_back(
                simple_member("outsider", "oc", 1, t0, 1, "x"));
        }
        for (const auto& [channel, set] : sets) {
            for (const auto& m : as_present(channel, set)) expected.apply(m);
        }
        REQUIRE(expected.store().counts().channels == 2000);
        set_presence_sets(w.standin, sets);

        auto env = w.env();
        env["REST_RATE_LIMIT"] = "20";
        env["PUBLISH_VIEWS"] = "by-channel,counts";
        CliProcess cli(env);
        std::vector<ViewFollower> followers;
        followers.push_back(w.follower(View::Counts));
        followers.push_back(w.follower(View::ByChannel));
        const bool ok = wait_views(followers, expected, 120s);
        if (!ok) report(followers, expected, cli);
        REQUIRE(ok);
        CHECK(cli.logged("bootstrap finished", "pipeline"));

        const std::string stats = w.standin.stats_json();
        INFO(stats);
        // The 40011 invalidation happened and was survived.
        CHECK(json_int_at(stats, "errors_by_code/40011").value_or(0) >= 1);
        // Each endpoint's busiest second stayed within the budget: a token bucket allows the rate
        // plus its burst (a quarter) in one calendar second; half the rate again is the tolerance.
        // Unlimited, the ~70 requests of this bootstrap would take well under a second.
        rapidjson::Document doc;
        doc.Parse(stats.c_str());
        REQUIRE(doc.IsObject());
        const auto& rates = doc["max_rate_per_second"];
        std::int64_t sum = 0;
        for (const char* endpoint :
             {"GET /channels", "GET /presence", "GET /channels/:id/presence"}) {
            if (!rates.HasMember(endpoint)) continue;
            const std::int64_t busiest = rates[endpoint].GetInt64();
            INFO(endpoint);
            CHECK(busiest <= 30);
            sum += busiest;
        }
        MESSAGE("busiest seconds: GET /channels "
                << rates["GET /channels"].GetInt64() << ", GET /presence "
                << rates["GET /presence"].GetInt64() << " (REST_RATE_LIMIT=20)");
        CHECK(sum > 0);
        CHECK(sum <= 45);
        // COMMAND_CHANNEL= (empty) disables the command channel: no SSE stream, no history reads.
        CHECK_FALSE(rates.HasMember("GET /sse"));
        CHECK_FALSE(rates.HasMember("GET /channels/:id/messages"));
        finish(cli);
    }

    TEST_CASE("occupancy-triggered drift repair removes a ghost from the published views") {
        World w;
        ScopedQueue occupancy(w.broker, "e2e-cli-occ");
        const std::int64_t t0 = now_ms() - 20'000;
        std::map<std::string, std::vector<RawPresence>> sets;
        sets["presence:ghost"] = {simple_member("alice", "ca", 1, t0, 1, "a"),
                                  simple_member("bob", "cb", 1, t0 + 1, 1, "b"),
                                  simple_member("carol", "cc", 1, t0 + 2, 1, "c")};
        sets["presence:calm"] = {simple_member("alice", "ca", 2, t0 + 3, 1, "a2"),
                                 simple_member("dave", "cd", 1, t0 + 4, 1, "d")};
        set_presence_sets(w.standin, sets);
        ExpectedState expected;
        ExpectedState haunted;
        for (const auto& [channel, set] : sets) {
            for (const auto& m : as_present(channel, set)) {
                expected.apply(m);
                haunted.apply(m);
            }
        }
        auto env = w.env();
        env["AMQP_OCCUPANCY_QUEUE"] = occupancy.name();
        env["OCCUPANCY_DEBOUNCE"] = "500ms";
        CliProcess cli(env);
        auto followers = all_followers(w);
        bool ok = wait_views(followers, expected);
        if (!ok) report(followers, expected, cli);
        REQUIRE(ok);

        // A ghost: entered through the queue, unknown to Ably's presence set.
        const std::string ghost =
            presence_envelope("presence:ghost", simple_member("ghost", "cg", 5, t0 + 10, 2, "boo"));
        REQUIRE(haunted.apply_body(ghost));
        w.broker.publish(w.queue.name(), ghost, {}, "application/json");
        ok = wait_views(followers, haunted);
        if (!ok) report(followers, haunted, cli);
        REQUIRE(ok);

        // Ably's occupancy says 3: after the debounce the channel is fetched and the ghost goes.
        w.broker.publish(occupancy.name(), occupancy_envelope("presence:ghost", 3, now_ms()), {},
                         "application/json");
        ok = wait_views(followers, expected);
        if (!ok) report(followers, expected, cli);
        REQUIRE(ok);
        CHECK(cli.logged("channel resynced", "rest"));
        CHECK(followers[3].assembler().state_json().find("suspect") == std::string::npos);
        finish(cli);
    }

    TEST_CASE("a view larger than the message size limit is split into parts that each fit") {
        World w;
        std::vector<std::string> bodies;
        ExpectedState expected;
        const std::int64_t t0 = now_ms() - 30'000;
        for (int i = 0; i < 2000; ++i) {
            std::string data = "member-" + std::to_string(i) + "-";
            data.resize(100, static_cast<char>('a' + i % 26));
            bodies.push_back(presence_envelope(
                "presence:big-" + std::to_string(i % 20),
                simple_member("client-" + std::to_string(i), "conn-" + std::to_string(i % 50),
                              static_cast<std::uint64_t>(i + 1), t0 + i, 2, data)));
            REQUIRE(expected.apply_body(bodies.back()));
        }
        REQUIRE(expected.view_json(View::ByChannel).size() > 4 * 65536);
        w.broker.publish_many(w.queue.name(), bodies, "application/json");
        CliProcess cli(w.env());
        auto followers = all_followers(w);
        const bool ok = wait_views(followers, expected);
        if (!ok) report(followers, expected, cli);
        REQUIRE(ok);

        std::size_t max_parts = 0;
        for (const auto& f : followers) {
            for (const auto& line : f.messages()) {
                const std::string data = wire_data(line);
                CHECK(data.size() <= 65536);
                max_parts = std::max<std::size_t>(
                    max_parts, std::stoul(json_field(data, "parts").value_or("0")));
            }
        }
        CHECK(max_parts > 4);
        const std::string stats = w.standin.stats_json();
        INFO(stats);
        CHECK_FALSE(json_int_at(stats, "errors_by_code/40009").has_value());
        for (View v : kAllViews) {
            const auto body = json_int_at(
                stats, "published/" + view_channel(w.publish_channel, v) + "/max_body_bytes");
            REQUIRE(body.has_value());
            CHECK(*body <= 65536);
        }
        finish(cli);
    }

    TEST_CASE(
        "publish failures (503s, a 429 with Retry-After, a dropped connection) are recovered") {
        World w;
        const std::string path = "^/channels/" + w.publish_channel + "[^/]*/messages$";
        auto fault = [&](const std::string& what) {
            w.standin.add_fault(R"({"method":"POST","path":")" + path + "\"," + what + "}");
        };
        StreamGenerator gen(7, now_ms() - 60'000);
        gen.add_population("presence:flaky-", 10, 120);
        ExpectedState expected;
        std::vector<std::string> first;
        std::vector<std::string> second;
        for (int i = 0; i < 600; ++i) first.push_back(gen.next());
        for (int i = 0; i < 600; ++i) second.push_back(gen.next());
        for (const auto& b : first) REQUIRE(expected.apply_body(b));

        fault(R"("status":503,"times":3)");
        fault(R"("status":429,"retry_after":1,"times":1)");
        fault(R"("drop":true,"times":1)");
        w.broker.publish_many(w.queue.name(), first, "application/json");
        CliProcess cli(w.env());
        auto followers = all_followers(w);
        bool ok = wait_views(followers, expected);
        if (!ok) report(followers, expected, cli);
        REQUIRE(ok);

        // Failures again while the state moves on.
        fault(R"("status":503,"times":2)");
        fault(R"("drop":true,"times":1)");
        fault(R"("status":429,"retry_after":1,"times":1)");
        for (const auto& b : second) REQUIRE(expected.apply_body(b));
        w.broker.publish_many(w.queue.name(), second, "application/json");
        ok = wait_views(followers, expected);
        if (!ok) report(followers, expected, cli);
        REQUIRE(ok);

        const std::string stats = w.standin.stats_json();
        INFO(stats);
        CHECK(json_int_at(stats, "responses_by_status/503").value_or(0) >= 5);
        CHECK(json_int_at(stats, "responses_by_status/429").value_or(0) >= 2);
        for (const auto& f : followers) CHECK(f.assembler().mismatches() == 0);
        finish(cli);
    }

    TEST_CASE("a broker restart mid-stream loses nothing and the CLI reconnects") {
        test::QueueArgs durable;
        durable.durable = true;
        World w({}, durable);
        w.broker.set_persistent(true);
        StreamGenerator gen(99, now_ms() - 90'000);
        gen.add_population("presence:restart-", 12, 150);
        std::vector<std::string> batches[3];
        ExpectedState expected;
        for (auto& batch : batches) {
            for (int i = 0; i < 1000; ++i) batch.push_back(gen.next());
            for (const auto& b : batch) REQUIRE(expected.apply_body(b));
        }
        w.broker.publish_many(w.queue.name(), batches[0], "application/json");
        CliProcess cli(w.env());
        auto followers = all_followers(w);
        REQUIRE(wait_until([&] { return w.broker.message_count(w.queue.name()) == 0; }));

        // Batch 2 waits in the queue while the broker restarts: the CLI is paused (SIGSTOP) so that
        // it cannot drain the queue first, and finds its connection gone when it resumes.
        cli.send_signal(SIGSTOP);
        w.broker.publish_many(w.queue.name(), batches[1], "application/json");
        // Up to AMQP_PREFETCH (200) deliveries sit unacknowledged in the paused CLI's socket.
        CHECK(w.broker.message_count(w.queue.name()) + 200 >= batches[1].size());
        REQUIRE(test::rabbitmqctl("stop_app") == 0);
        const int started = test::rabbitmqctl("start_app");
        REQUIRE(started == 0);
        REQUIRE(wait_until([&] {
            try {
                w.broker = TestBroker::connect(test::amqp_test_url());
                return true;
            } catch (const std::exception&) {
                return false;
            }
        }));
        // Durable queue, persistent messages: all of batch 2 survived the restart, including what
        // the CLI held unacknowledged.
        CHECK(w.broker.message_count(w.queue.name()) >= batches[1].size());
        cli.send_signal(SIGCONT);
        w.broker.set_persistent(true);
        REQUIRE(w.broker.queue_exists(w.queue.name()));
        w.broker.publish_many(w.queue.name(), batches[2], "application/json");
        const bool ok = wait_views(followers, expected, 90s);
        if (!ok) report(followers, expected, cli);
        REQUIRE(ok);
        CHECK(cli.logged("reconnecting", "amqp"));
        CHECK(cli.count_logged("consuming") >= 2);
        finish(cli);
    }

    TEST_CASE("SIGTERM publishes the last state once more and exits 0") {
        World w;
        auto env = w.env();
        env["PUBLISH_INTERVAL"] = "1h";  // only the final publish of the stop carries the state
        env["AMQP_PREFETCH"] = "1";      // deliveries are applied and acknowledged in queue order
        StreamGenerator gen(5, now_ms() - 60'000);
        gen.add_population("presence:term-", 8, 80);
        std::vector<std::string> bodies;
        for (int i = 0; i < 800; ++i) bodies.push_back(gen.next());
        w.broker.publish_many(w.queue.name(), bodies, "application/json");
        CliProcess cli(env);
        REQUIRE_MESSAGE(wait_until([&] {
                            return cli.logged("bootstrap finished") &&
                                   w.broker.message_count(w.queue.name()) == 0;
                        }),
                        cli.stderr_tail());
        auto followers = all_followers(w);
        for (auto& f : followers) CHECK(f.poll() == 0);
        finish(cli);
        // At most the one unacknowledged delivery went back to the queue; the rest is published.
        const std::size_t left = w.broker.message_count(w.queue.name());
        CHECK(left <= 1);
        ExpectedState expected;
        for (std::size_t i = 0; i + left < bodies.size(); ++i)
            REQUIRE(expected.apply_body(bodies[i]));
        for (auto& f : followers) {
            INFO(view_summary(f));
            CHECK(f.matches(expected.view_json(*f.assembler().view())));
        }
    }

    TEST_CASE("a bad setting exits 2 naming it, and the API key secret never reaches stderr") {
        StandinProcess standin({"--key", "appid.keyid:Zq7TopSecretKeyValue"});
        std::map<std::string, std::string> env = run_env(standin, "no-such-queue", "views");
        env["ABLY_API_KEY"] = "appid.keyid:Zq7TopSecretKeyValue";
        env["PUBLISH_INTERVAL"] = "banana";
        CliRun r = run_cli({"run"}, env);
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("PUBLISH_INTERVAL") != std::string::npos);
        CHECK(r.err.find("Zq7TopSecretKeyValue") == std::string::npos);

        SUBCASE("a malformed key is reported without its secret") {
            env["PUBLISH_INTERVAL"] = "200ms";
            env["ABLY_API_KEY"] = "not-a-key-Zq7TopSecretKeyValue";
            r = run_cli({"run"}, env);
            CHECK(r.exit_code == 2);
            CHECK(r.err.find("ABLY_API_KEY") != std::string::npos);
            CHECK(r.err.find("Zq7TopSecretKeyValue") == std::string::npos);
        }
        SUBCASE("--print-config redacts the secret") {
            env["PUBLISH_INTERVAL"] = "200ms";
            r = run_cli({"--print-config", "run"}, env);
            CHECK(r.exit_code == 0);
            CHECK(r.out.find("ABLY_API_KEY") != std::string::npos);
            CHECK(r.out.find("Zq7TopSecretKeyValue") == std::string::npos);
        }
        SUBCASE("a full run logs no secret") {
            TestBroker broker = TestBroker::connect(test::amqp_test_url());
            ScopedQueue queue(broker, "e2e-cli-secret");
            env = run_env(standin, queue.name(), "views-" + queue.name());
            env["ABLY_API_KEY"] = "appid.keyid:Zq7TopSecretKeyValue";
            env["LOG_LEVEL"] = "debug";
            broker.publish(
                queue.name(),
                presence_envelope("presence:s", simple_member("c", "k", 1, now_ms(), 2, "x")), {},
                "application/json");
            CliProcess cli(env);
            ViewFollower f(standin, "views-" + queue.name(), View::ByChannel);
            CHECK(wait_until([&] {
                return f.poll(), f.assembler().has_state() && f.assembler().leaves() == 1;
            }));
            CHECK(cli.terminate() == 0);
            CHECK(cli.stderr_text().find("Zq7TopSecretKeyValue") == std::string::npos);
            CHECK(cli.stderr_text().find("Zq7TopSecret") == std::string::npos);
        }
    }

}  // TEST_SUITE

}  // namespace presenceagg::e2e

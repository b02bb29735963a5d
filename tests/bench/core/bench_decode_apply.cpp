// SPDX-License-Identifier: MIT
// Decode + apply: the consumer's per-message cost from an AMQP body to the store, on realistic
// enveloped queue bodies generated here. 10,000 channels; clients with 1-3 connections, each
// connection present in 1-4 channels; ~100-byte json data; a stream of updates (75%), leaves
// (12%, a sixth of them synthesized by Ably) and re-enters against a store already holding every
// member (the steady state). BM_DecodeOnly and BM_ApplyDecoded split the cost.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <presenceagg/decode.hpp>
#include <presenceagg/presence_store.hpp>

namespace {

using presenceagg::DecodedBatch;
using presenceagg::Decoder;
using presenceagg::PresenceMessage;
using presenceagg::PresenceStore;

constexpr std::size_t kChannels = 10'000;
constexpr std::size_t kStreamBodies = 300'000;
constexpr std::int64_t kEpochMs = 1'700'000'000'000;

struct Member {
    std::string channel;
    std::string client;
    std::size_t connection;  // index into Workload::connections
    bool present = false;
};

struct Connection {
    std::string id;
    std::uint64_t serial = 0;
};

struct Workload {
    std::vector<std::string> warmup;  // one enter per member
    std::vector<std::string> stream;  // the timed messages
    std::size_t members = 0;
};

std::string random_id(std::mt19937_64& rng, std::size_t length) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out(length, ' ');
    for (char& c : out) c = kAlphabet[rng() % 64];
    return out;
}

std::string envelope(const Member& m,
                     const std::string& id,
                     const std::string& connection,
                     int action,
                     std::int64_t ts,
                     std::uint64_t n) {
    std::string body;
    body.reserve(420);
    body += R"({"source":"channel.presence","appId":"AppA1","channel":")";
    body += m.channel;
    body += R"(","site":"eu-west-1-A","ruleId":"Rk1x9a","presence":[{"id":")";
    body += id;
    body += R"(","clientId":")";
    body += m.client;
    body += R"(","connectionId":")";
    body += connection;
    body += R"(","timestamp":)";
    body += std::to_string(ts);
    body += R"(,"action":)";
    body += std::to_string(action);
    if (action != 3) {
        // ~100 bytes of json data, as the SDK sends it: a JSON string with encoding "json".
        body += R"(,"data":"{\"status\":\"online\",\"name\":\")";
        body += m.client;
        body += R"(\",\"device\":\"web-chrome-119\",\"seat\":)";
        body += std::to_string(n % 500);
        body += R"(,\"since\":1700000000}","encoding":"json")";
    }
    body += "}]}";
    return body;
}

Workload make_workload(std::size_t clients) {
    std::mt19937_64 rng(1234);
    Workload w;
    std::vector<Member> members;
    std::vector<Connection> connections;
    for (std::size_t c = 0; c < clients; ++c) {
        const std::string client = "user-" + std::to_string(100000 + c);
        const std::size_t conns = 1 + rng() % 3;
        for (std::size_t k = 0; k < conns; ++k) {
            connections.push_back({random_id(rng, 10), 0});
            const std::size_t in_channels = 1 + rng() % 4;
            for (std::size_t j = 0; j < in_channels; ++j) {
                members.push_back({"presence:room-" + std::to_string(rng() % kChannels), client,
                                   connections.size() - 1});
            }
        }
    }
    w.members = members.size();
    std::int64_t ts = kEpochMs;
    std::uint64_t n = 0;
    const auto next_id = [&](Member& m) {
        Connection& c = connections[m.connection];
        return c.id + ":" + std::to_string(++c.serial) + ":0";
    };
    for (Member& m : members) {
        m.present = true;
        w.warmup.push_back(envelope(m, next_id(m), connections[m.connection].id, 2, ts, ++n));
    }
    w.stream.reserve(kStreamBodies);
    for (std::size_t e = 0; e < kStreamBodies; ++e) {
        ts += static_cast<std::int64_t>(rng() % 3);
        Member& m = members[rng() % members.size()];
        const std::string& conn = connections[m.connection].id;
        if (!m.present) {
            m.present = true;
            w.stream.push_back(envelope(m, next_id(m), conn, 2, ts, ++n));
        } else if (rng() % 100 < 12) {
            m.present = false;
            // Ably synthesizes a leave (another id) when a connection drops abruptly.
            const std::string id = rng() % 6 == 0 ? random_id(rng, 10) + ":0:0" : next_id(m);
            w.stream.push_back(envelope(m, id, conn, 3, ts, ++n));
        } else {
            w.stream.push_back(envelope(m, next_id(m), conn, 4, ts, ++n));
        }
    }
    return w;
}

const Workload& workload(std::size_t clients) {
    static std::vector<std::pair<std::size_t, Workload>> cache;
    for (const auto& [k, w] : cache) {
        if (k == clients) return w;
    }
    cache.emplace_back(clients, make_workload(clients));
    return cache.back().second;
}

std::unique_ptr<PresenceStore> warm_store(const Workload& w,
                                          Decoder& decoder,
                                          DecodedBatch& batch) {
    auto store = presenceagg::make_memory_presence_store();
    for (const std::string& body : w.warmup) {
        batch.clear();
        (void)decoder.decode_queue_message(body, {}, batch);
        for (const PresenceMessage& m : batch.messages()) (void)store->apply(m);
    }
    (void)store->take_changes();
    return store;
}

void report(benchmark::State& state, const Workload& w) {
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(w.stream.size()));
    std::size_t bytes = 0;
    for (const std::string& b : w.stream) bytes += b.size();
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
    state.counters["members"] = static_cast<double>(w.members);
    state.counters["avg_body_bytes"] =
        static_cast<double>(bytes) / static_cast<double>(w.stream.size());
}

/// Decode + apply of every stream body, one body (one presence message) at a time.
void BM_DecodeApply(benchmark::State& state) {
    const Workload& w = workload(static_cast<std::size_t>(state.range(0)));
    Decoder decoder;
    DecodedBatch batch;
    for (auto _ : state) {
        state.PauseTiming();
        auto store = warm_store(w, decoder, batch);
        state.ResumeTiming();
        for (const std::string& body : w.stream) {
            batch.clear();
            const auto r = decoder.decode_queue_message(body, {}, batch);
            if (!r.ok()) state.SkipWithError("decode failed");
            for (const PresenceMessage& m : batch.messages()) {
                benchmark::DoNotOptimize(store->apply(m));
            }
        }
        state.PauseTiming();
        store.reset();
        state.ResumeTiming();
    }
    report(state, w);
}
BENCHMARK(BM_DecodeApply)
    ->ArgName("clients")
    ->Arg(10'000)
    ->Arg(100'000)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

/// The decode share alone.
void BM_DecodeOnly(benchmark::State& state) {
    const Workload& w = workload(static_cast<std::size_t>(state.range(0)));
    Decoder decoder;
    DecodedBatch batch;
    for (auto _ : state) {
        for (const std::string& body : w.stream) {
            batch.clear();
            benchmark::DoNotOptimize(decoder.decode_queue_message(body, {}, batch));
        }
    }
    report(state, w);
}
BENCHMARK(BM_DecodeOnly)
    ->ArgName("clients")
    ->Arg(10'000)
    ->Arg(100'000)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

/// The apply share alone, on the same messages decoded beforehand.
void BM_ApplyDecoded(benchmark::State& state) {
    const Workload& w = workload(static_cast<std::size_t>(state.range(0)));
    Decoder decoder;
    DecodedBatch batch;
    std::vector<PresenceMessage> messages;
    messages.reserve(w.stream.size());
    for (const std::string& body : w.stream) {
        batch.clear();
        (void)decoder.decode_queue_message(body, {}, batch);
        for (const PresenceMessage& m : batch.messages()) messages.push_back(m);
    }
    for (auto _ : state) {
        state.PauseTiming();
        auto store = warm_store(w, decoder, batch);
        state.ResumeTiming();
        for (const PresenceMessage& m : messages) benchmark::DoNotOptimize(store->apply(m));
        state.PauseTiming();
        store.reset();
        state.ResumeTiming();
    }
    report(state, w);
}
BENCHMARK(BM_ApplyDecoded)
    ->ArgName("clients")
    ->Arg(10'000)
    ->Arg(100'000)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace

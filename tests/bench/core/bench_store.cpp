// SPDX-License-Identifier: MIT
// MemoryPresenceStore benchmarks: apply throughput, take_changes at 1M members, memory per
// member, and full-view serialisation speed.
//
// The population: 10,000 channels x 100 members = 1,000,000 members. "shared" clients are each
// present in 4 channels on one connection (250,000 clients and connections); "unique" gives every
// member its own clientId and connectionId (the worst case for interning).

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <malloc.h>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <presenceagg/presence_store.hpp>

#include "wire/json_text.hpp"

// Counts heap allocations made by the code under test (the whole process, really). The default
// operator delete calls free(), which matches the malloc() below.
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}

namespace {

using presenceagg::PresenceAction;
using presenceagg::PresenceMessage;
using presenceagg::PresenceStore;

constexpr std::size_t kChannels = 10'000;
constexpr std::size_t kMembersPerChannel = 100;
constexpr std::size_t kMembers = kChannels * kMembersPerChannel;
constexpr std::int64_t kEpochMs = 1'700'000'000'000;

std::string channel_name(std::size_t i) {
    return "room:" + std::to_string(i);
}
std::string client_name(std::size_t i) {
    return "user-" + std::to_string(100000 + i);
}
std::string connection_name(std::size_t i) {
    return "Xk9" + std::to_string(1000000 + i) + "qZ";
}

std::size_t heap_in_use() {
    const struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/// Member `m` of the population: its channel, client and connection numbers.
struct Slot {
    std::size_t channel, client, connection;
};
Slot slot(std::size_t m, bool unique) {
    const std::size_t channel = m % kChannels;
    if (unique) return {channel, m, m};
    // Client c is in channels c, c + 2500, c + 5000, c + 7500 (mod 10,000).
    const std::size_t client = (m / kChannels) * (kChannels / 4) + channel % (kChannels / 4);
    return {channel, client, client};
}

void fill(PresenceMessage& msg,
          const Slot& s,
          std::uint64_t serial,
          PresenceAction action,
          std::int64_t ts) {
    msg.channel = channel_name(s.channel);
    msg.client_id = client_name(s.client);
    msg.connection_id = connection_name(s.connection);
    msg.id = msg.connection_id + ":" + std::to_string(serial) + ":0";
    msg.action = action;
    msg.timestamp = ts;
    msg.data = "{\"status\":\"online\",\"n\":" + std::to_string(serial % 1000) + "}";
}

/// Enters all 1M members; returns the next free msgSerial.
std::uint64_t populate(PresenceStore& store, bool unique) {
    PresenceMessage msg;
    for (std::size_t m = 0; m < kMembers; ++m) {
        fill(msg, slot(m, unique), 1 + m, PresenceAction::Enter, kEpochMs);
        (void)store.apply(msg);
    }
    return kMembers + 1;
}

/// 1,000,000 events over 10,000 channels and `keys` member keys: enters, updates, leaves and
/// re-enters, msgSerials increasing per connection, timestamps advancing.
std::vector<PresenceMessage> apply_workload(std::size_t keys) {
    constexpr std::size_t kEvents = 1'000'000;
    const std::size_t kKeys = keys;
    std::mt19937_64 rng(42);
    std::vector<bool> present(kKeys, false);
    std::vector<std::uint64_t> serial(kKeys, 0);
    std::vector<PresenceMessage> events(kEvents);
    for (std::size_t e = 0; e < kEvents; ++e) {
        const std::size_t k = rng() % kKeys;
        PresenceAction action = PresenceAction::Enter;
        if (present[k]) action = rng() % 10 < 8 ? PresenceAction::Update : PresenceAction::Leave;
        present[k] = action != PresenceAction::Leave;
        // Key k: channel k % 10,000, client/connection k (one connection per member key).
        fill(events[e], {k % kChannels, k, k}, ++serial[k], action,
             kEpochMs + static_cast<std::int64_t>(e / 10));
    }
    return events;
}

void BM_Apply(benchmark::State& state) {
    const std::vector<PresenceMessage> events =
        apply_workload(static_cast<std::size_t>(state.range(0)));
    std::uint64_t allocations = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto store = presenceagg::make_memory_presence_store();
        state.ResumeTiming();
        const std::uint64_t before = g_allocations.load();
        for (const PresenceMessage& m : events) benchmark::DoNotOptimize(store->apply(m));
        allocations += g_allocations.load() - before;
        state.PauseTiming();
        store.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
    state.counters["allocs_per_event"] =
        static_cast<double>(allocations) / static_cast<double>(state.iterations() * events.size());
}
BENCHMARK(BM_Apply)
    ->ArgName("member_keys")
    ->Arg(100'000)
    ->Arg(10'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

/// Updates to members that already exist (random members, 1M present): the steady state of a
/// busy deployment.
void BM_ApplyUpdatesToExistingMembers(benchmark::State& state) {
    auto store = presenceagg::make_memory_presence_store();
    std::uint64_t serial = populate(*store, false);
    // One untimed update per member first: a member's text block grows (reallocates) at most
    // once when its id gains a digit or its data grows; the loop measures the steady state.
    {
        PresenceMessage warm;
        for (std::size_t m = 0; m < kMembers; ++m) {
            fill(warm, slot(m, false), serial++, PresenceAction::Update, kEpochMs + 1);
            (void)store->apply(warm);
        }
        (void)store->take_changes();
    }
    constexpr std::size_t kBatch = 100'000;
    std::vector<PresenceMessage> batch(kBatch);
    std::mt19937_64 rng(7);
    std::uint64_t allocations = 0;
    for (auto _ : state) {
        state.PauseTiming();
        for (auto& m : batch) {
            fill(m, slot(rng() % kMembers, false), serial++, PresenceAction::Update, kEpochMs + 1);
        }
        state.ResumeTiming();
        const std::uint64_t before = g_allocations.load();
        for (const PresenceMessage& m : batch) benchmark::DoNotOptimize(store->apply(m));
        allocations += g_allocations.load() - before;
        state.PauseTiming();
        (void)store->take_changes();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
    state.counters["allocs_per_event"] =
        static_cast<double>(allocations) / static_cast<double>(state.iterations() * kBatch);
}
BENCHMARK(BM_ApplyUpdatesToExistingMembers)->Unit(benchmark::kMillisecond)->Iterations(20);

/// take_changes() with 1,000 changed members out of 1,000,000.
void BM_TakeChanges1000Of1M(benchmark::State& state) {
    auto store = presenceagg::make_memory_presence_store();
    std::uint64_t serial = populate(*store, false);
    (void)store->take_changes();
    std::mt19937_64 rng(11);
    PresenceMessage msg;
    std::size_t changes = 0;
    for (auto _ : state) {
        state.PauseTiming();
        for (int i = 0; i < 1000; ++i) {
            const std::size_t m = rng() % kMembers;
            // Mostly updates; some leaves and re-enters so channel counts change too.
            const auto action = i % 10 == 0 ? PresenceAction::Leave : PresenceAction::Present;
            fill(msg, slot(m, false), serial++, action, kEpochMs + 2);
            (void)store->apply(msg);
        }
        state.ResumeTiming();
        const presenceagg::ChangeSet cs = store->take_changes();
        changes += cs.members.size();
        benchmark::DoNotOptimize(cs.member_hash);
    }
    state.counters["member_changes"] =
        static_cast<double>(changes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_TakeChanges1000Of1M)->Unit(benchmark::kMicrosecond)->Iterations(200);

/// Heap bytes per member at 1,000,000 members, in total and beyond each member's own bytes: its
/// leaf JSON, its message id, and its channel, clientId and connectionId strings.
void BM_MemoryPerMember(benchmark::State& state) {
    const bool unique = state.range(0) != 0;
    for (auto _ : state) {
        const std::size_t before = heap_in_use();
        auto store = presenceagg::make_memory_presence_store();
        (void)populate(*store, unique);
        const std::size_t used = heap_in_use() - before;
        std::size_t own = 0;
        store->visit(presenceagg::View::ByChannel,
                     [&](std::span<const std::string_view> path, std::string_view leaf) {
                         const auto id = leaf.find("\"id\":\"") + 6;
                         own += leaf.size() + (leaf.find('"', id) - id) + path[0].size() +
                                path[1].size() + path[2].size();
                     });
        state.counters["heap_bytes_per_member"] =
            static_cast<double>(used) / static_cast<double>(kMembers);
        state.counters["overhead_bytes_per_member"] =
            (static_cast<double>(used) - static_cast<double>(own)) / static_cast<double>(kMembers);
    }
}
BENCHMARK(BM_MemoryPerMember)
    ->ArgName("unique_ids")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

/// A full view serialised through TreeWriter from visit(). Arg 0: the canonical order is cached
/// (no membership change since the last visit); 1: a membership change before each visit, so the
/// order is rebuilt (sort at visit time).
void BM_SerializeView(benchmark::State& state) {
    const auto view = static_cast<presenceagg::View>(state.range(0));
    const bool cold = state.range(1) != 0;
    static std::unique_ptr<PresenceStore> store = [] {
        auto s = presenceagg::make_memory_presence_store();
        (void)populate(*s, false);
        return s;
    }();
    std::string out;
    out.reserve(256 << 20);
    std::size_t bytes = 0;
    PresenceMessage msg;
    std::uint64_t serial = 10'000'000;
    for (auto _ : state) {
        if (cold) {
            state.PauseTiming();
            fill(msg, slot(5, false), serial++, PresenceAction::Leave, kEpochMs + 3);
            (void)store->apply(msg);
            fill(msg, slot(5, false), serial++, PresenceAction::Enter, kEpochMs + 3);
            (void)store->apply(msg);
            state.ResumeTiming();
        }
        out.clear();
        presenceagg::detail::TreeWriter writer(out, presenceagg::view_depth(view));
        store->visit(view, [&](std::span<const std::string_view> path, std::string_view leaf) {
            writer.leaf(path, leaf);
        });
        writer.finish();
        bytes += out.size();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
    state.counters["view_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_SerializeView)
    ->ArgNames({"view", "cold"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({2, 0})
    ->Args({2, 1})
    ->Args({3, 0})
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

}  // namespace

// SPDX-License-Identifier: MIT
// Property: a stream delivered with duplicates, late redeliveries and local reordering yields
// exactly the state of the clean stream (all four views and both hashes).
//
// Each generated member history is totally ordered under RTP2b: ordered ids grow by
// (msgSerial, index) with timestamps that never decrease (and may be equal, so only the id
// orders them); a synthesized leave (an id not prefixed by the connectionId) gets a timestamp
// strictly between its neighbours'. Under that order the newest message wins wherever it lands.

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/presence_store.hpp>

#include "store_test_support.hpp"

namespace {

using presenceagg::PresenceAction;
using presenceagg::PresenceMessage;

struct StreamGenerator {
    std::mt19937_64 rng;

    std::uint64_t below(std::uint64_t n) { return rng() % n; }

    std::vector<PresenceMessage> clean_stream() {
        const std::vector<std::string> channels = {"lobby", "room:1", "room/2"};
        const std::vector<std::string> clients = {"ann", "bob", "c:d", "e/f"};
        const std::vector<std::string> connections = {"k1", "k2", "k3", "k4", "k5"};
        struct Key {
            std::string channel, client, connection;
        };
        std::vector<Key> keys;
        // Several connections per client and several clients per connection.
        for (std::size_t n = 3 + below(6); n > 0; --n) {
            Key key{channels[below(channels.size())], clients[below(clients.size())],
                    connections[below(connections.size())]};
            const bool seen = std::any_of(keys.begin(), keys.end(), [&](const Key& k) {
                return k.channel == key.channel && k.client == key.client &&
                       k.connection == key.connection;
            });
            if (!seen) keys.push_back(std::move(key));  // one history per member
        }
        std::vector<std::uint64_t> serial(connections.size(), 1);
        std::vector<std::vector<PresenceMessage>> histories(keys.size());
        std::uint64_t synth = 0;
        for (std::size_t k = 0; k < keys.size(); ++k) {
            const Key& key = keys[k];
            const auto conn = static_cast<std::size_t>(
                std::find(connections.begin(), connections.end(), key.connection) -
                connections.begin());
            std::int64_t ts = 1'700'000'000'000 + static_cast<std::int64_t>(below(50));
            bool strict_next = false;  // after a synthesized message, time must move on
            for (std::size_t n = 1 + below(12); n > 0; --n) {
                PresenceMessage m;
                m.channel = key.channel;
                m.client_id = key.client;
                m.connection_id = key.connection;
                const auto r = below(100);
                const bool synthesized = r >= 90;
                ts += static_cast<std::int64_t>(below(3)) + (synthesized || strict_next ? 1 : 0);
                strict_next = synthesized;
                m.timestamp = ts;
                if (synthesized) {
                    m.action = PresenceAction::Leave;
                    m.id = "synthetic" + std::to_string(synth++) + ":0:0";
                } else {
                    m.action = r < 30   ? PresenceAction::Enter
                               : r < 60 ? PresenceAction::Update
                               : r < 70 ? PresenceAction::Present
                               : r < 85 ? PresenceAction::Leave
                                        : PresenceAction::Absent;
                    // Sometimes two messages of one protocol message: same serial, next index.
                    const std::uint64_t index = below(4) == 0 ? 1 : 0;
                    if (index == 0) ++serial[conn];
                    m.id = key.connection + ":" + std::to_string(serial[conn]) + ":" +
                           std::to_string(index);
                    if (index == 1) ++serial[conn];
                }
                m.data = "{\"n\":" + std::to_string(below(1000)) + "}";
                if (below(5) == 0) m.extras = "{\"x\":true}";
                histories[k].push_back(std::move(m));
            }
        }
        // Interleave the histories, keeping each one's order.
        std::vector<PresenceMessage> stream;
        std::vector<std::size_t> next(histories.size(), 0);
        for (;;) {
            std::vector<std::size_t> open;
            for (std::size_t k = 0; k < histories.size(); ++k) {
                if (next[k] < histories[k].size()) open.push_back(k);
            }
            if (open.empty()) break;
            const std::size_t k = open[below(open.size())];
            stream.push_back(histories[k][next[k]++]);
        }
        return stream;
    }

    std::vector<PresenceMessage> messy(const std::vector<PresenceMessage>& clean) {
        std::vector<PresenceMessage> out = clean;
        // Local reordering: swaps within a small window.
        for (std::size_t n = out.size() / 3; n > 0 && out.size() > 1; --n) {
            const std::size_t i = below(out.size() - 1);
            const std::size_t j = std::min(out.size() - 1, i + 1 + below(4));
            std::swap(out[i], out[j]);
        }
        // Duplicates right after and late redeliveries far later.
        for (std::size_t n = 1 + out.size() / 4; n > 0; --n) {
            const std::size_t i = below(out.size());
            const std::size_t at = below(3) == 0 ? i + 1 : i + below(out.size() - i + 1);
            const PresenceMessage copy = out[i];
            out.insert(out.begin() + static_cast<std::ptrdiff_t>(std::min(at, out.size())), copy);
        }
        return out;
    }
};

std::string final_state(const std::vector<PresenceMessage>& stream) {
    auto store = presenceagg::make_memory_presence_store();
    for (const PresenceMessage& m : stream) {
        REQUIRE(store->apply(m) != presenceagg::ApplyOutcome::Rejected);
    }
    return presenceagg::test::observable_state(*store);
}

}  // namespace

TEST_SUITE("MemoryPresenceStore idempotence") {
    TEST_CASE("duplicated, redelivered and reordered streams give the clean stream's state") {
        constexpr std::uint64_t kSeed = 0x5eed'0001;
        constexpr int kStreams = 400;
        StreamGenerator gen{std::mt19937_64(kSeed)};
        std::size_t non_empty = 0;
        for (int s = 0; s < kStreams; ++s) {
            INFO("seed ", kSeed, ", stream ", s);
            const auto clean = gen.clean_stream();
            const std::string expected = final_state(clean);
            if (expected.find("\"by-channel\":{}") == std::string::npos) ++non_empty;
            for (int variant = 0; variant < 3; ++variant) {
                CAPTURE(variant);
                const auto messy = gen.messy(clean);
                REQUIRE(final_state(messy) == expected);
            }
            // Fully reversed delivery is the extreme of reordering.
            std::vector<PresenceMessage> reversed(clean.rbegin(), clean.rend());
            REQUIRE(final_state(reversed) == expected);
        }
        // The generator must exercise non-trivial states, or the property says little.
        CHECK(non_empty > kStreams / 2);
    }

    TEST_CASE("applying the same stream twice changes nothing the second time") {
        constexpr std::uint64_t kSeed = 0x5eed'0002;
        StreamGenerator gen{std::mt19937_64(kSeed)};
        for (int s = 0; s < 100; ++s) {
            INFO("seed ", kSeed, ", stream ", s);
            const auto clean = gen.clean_stream();
            auto store = presenceagg::make_memory_presence_store();
            for (const auto& m : clean) (void)store->apply(m);
            const std::string once = presenceagg::test::observable_state(*store);
            const auto seq = store->sequence();
            for (const auto& m : clean) {
                const auto outcome = store->apply(m);
                CHECK((outcome == presenceagg::ApplyOutcome::Duplicate ||
                       outcome == presenceagg::ApplyOutcome::Stale));
            }
            CHECK(store->sequence() == seq);
            CHECK(presenceagg::test::observable_state(*store) == once);
        }
    }
}

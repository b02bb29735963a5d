// SPDX-License-Identifier: MIT
#pragma once

// Shared pieces of the publish tests: the store under test (the real memory store when lib/core
// is linked, FakeStore until then), a random presence workload, and helpers to render a view
// and to feed recorded messages to a ViewAssembler.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <presenceagg/presence_store.hpp>
#include <presenceagg/view_assembler.hpp>

#include "fake_store.hpp"
#include "support/recording_sink.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::test {

inline std::unique_ptr<PresenceStore> make_test_store() {
    return make_memory_presence_store();
}

/// The canonical JSON of a view: TreeWriter over visit().
inline std::string render_view(const PresenceStore& store,
                               View view,
                               std::uint64_t* hash = nullptr) {
    std::string out;
    detail::TreeWriter writer(out, view == View::Counts ? 2 : 3);
    const auto h = store.visit(view, [&](std::span<const std::string_view> path,
                                         std::string_view leaf) { writer.leaf(path, leaf); });
    writer.finish();
    if (hash) *hash = h;
    return out;
}

/// Feeds every message delivered to `channel` into `assembler`; returns the last status.
inline AssembleStatus feed(ViewAssembler& assembler,
                           const RecordingSink& sink,
                           std::string_view channel,
                           std::size_t from = 0) {
    AssembleStatus last = AssembleStatus::Stale;
    const auto messages = sink.delivered(channel);
    for (std::size_t i = from; i < messages.size(); ++i) {
        last = assembler.add(RecordingSink::as_history_json(messages[i]));
    }
    return last;
}

/// Random, valid presence traffic: ids "connection:serial:0" with a per-connection serial and
/// rising timestamps, so every event is newer than the last one for its member under RTP2b.
class Workload {
public:
    Workload(std::uint32_t seed, std::size_t channels, std::size_t clients, std::size_t connections)
        : rng_(seed),
          channels_(channels),
          clients_(clients),
          connections_(connections),
          serials_(connections, 0) {}

    PresenceMessage next() {
        PresenceMessage m;
        m.channel = "presence:room-" + std::to_string(pick(channels_));
        m.client_id = client_name(pick(clients_));
        const std::size_t conn = pick(connections_);
        m.connection_id = "conn" + std::to_string(conn);
        m.id = m.connection_id + ":" + std::to_string(++serials_[conn]) + ":0";
        m.timestamp = 1'700'000'000'000 + static_cast<std::int64_t>(++clock_);
        const auto roll = pick(10);
        m.action = roll < 3   ? PresenceAction::Leave
                   : roll < 6 ? PresenceAction::Enter
                   : roll < 8 ? PresenceAction::Update
                              : PresenceAction::Present;
        m.data = random_data();
        if (pick(8) == 0) m.encoding = "cipher+aes-128-cbc/base64";
        if (pick(8) == 0) m.extras = "{\"headers\":{\"k\":\"v\"}}";
        return m;
    }

    /// A data value of roughly `bytes` bytes.
    std::string sized_data(std::size_t bytes) {
        std::string s;
        detail::append_json_string(s, std::string(bytes, 'x'));
        return s;
    }

    /// 0..n-1; plain modulo of mt19937 output so that every standard library gives the same
    /// sequence (the JS fixtures depend on it).
    std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

private:
    static std::string client_name(std::size_t i) {
        // Awkward names on purpose: separators, quotes, non-ASCII.
        static const char* const kStyles[] = {"user-", "a:b/", "q\"uote", "\xc3\xa9l\xc3\xa8ve",
                                              "tab\t"};
        return std::string(kStyles[i % 5]) + std::to_string(i);
    }

    std::string random_data() {
        switch (pick(5)) {
            case 0:
                return "null";
            case 1:
                return "{\"status\":\"online\",\"n\":" + std::to_string(pick(1000)) + "}";
            case 2: {
                std::string s;
                detail::append_json_string(
                    s, "line\nbreak \"quoted\" \\ \x01 \xe2\x82\xac " + std::to_string(pick(100)));
                return s;
            }
            case 3:
                return "[1,2.50,-3e2,true,false,null,{\"nested\":[{}]}]";
            default:
                return sized_data(pick(300));
        }
    }

    std::mt19937 rng_;
    std::size_t channels_;
    std::size_t clients_;
    std::size_t connections_;
    std::vector<std::uint64_t> serials_;
    std::uint64_t clock_ = 0;
};

}  // namespace presenceagg::test

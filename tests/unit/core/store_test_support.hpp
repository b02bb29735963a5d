// SPDX-License-Identifier: MIT
#pragma once

// Helpers shared by the core tests: message builders and independent recomputation of view
// hashes from what visit() shows.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/presence_store.hpp>

#include "core/view_json.hpp"
#include "json_value.hpp"
#include "wire/content_hash.hpp"

namespace presenceagg::test {

inline PresenceMessage msg(std::string_view channel,
                           std::string_view client,
                           std::string_view connection,
                           std::string_view id,
                           PresenceAction action,
                           std::int64_t timestamp,
                           std::string_view data = "null") {
    PresenceMessage m;
    m.channel = channel;
    m.client_id = client;
    m.connection_id = connection;
    m.id = id;
    m.action = action;
    m.timestamp = timestamp;
    m.data = data;
    return m;
}

struct Leaf {
    std::vector<std::string> path;
    std::string json;
};

inline std::vector<Leaf> leaves(const PresenceStore& store, View view) {
    std::vector<Leaf> out;
    store.visit(view, [&](std::span<const std::string_view> path, std::string_view leaf) {
        out.push_back({std::vector<std::string>(path.begin(), path.end()), std::string(leaf)});
    });
    return out;
}

/// The member hash recomputed from the ByChannel view's leaves (parsed as JSON), or 0 with
/// `ok` false when a leaf is malformed.
inline std::uint64_t recompute_member_hash(const PresenceStore& store, bool& ok) {
    ok = true;
    std::uint64_t sum = 0;
    for (const Leaf& l : leaves(store, View::ByChannel)) {
        const auto d = JsonReader::parse(l.json);
        const JsonValue* id = d ? d->find("id") : nullptr;
        const JsonValue* ts = d ? d->find("timestamp") : nullptr;
        if (!d || d->kind != JsonValue::Kind::Object || d->find("data") == nullptr ||
            id == nullptr || id->kind != JsonValue::Kind::String || ts == nullptr ||
            !ts->integer()) {
            ok = false;
            return 0;
        }
        sum += detail::member_leaf_hash(l.path[0], l.path[1], l.path[2], id->text, *ts->integer());
    }
    return sum;
}

/// The counts hash recomputed from the Counts view's leaves.
inline std::uint64_t recompute_counts_hash(const PresenceStore& store, bool& ok) {
    ok = true;
    std::uint64_t sum = 0;
    for (const Leaf& l : leaves(store, View::Counts)) {
        const auto d = JsonReader::parse(l.json);
        if (!d) {
            ok = false;
            return 0;
        }
        if (l.path[0] == "channels") {
            const JsonValue* members = d->find("members");
            const JsonValue* suspect = d->find("suspect");
            if (members == nullptr || !members->integer()) {
                ok = false;
                return 0;
            }
            sum += detail::channel_count_leaf_hash(l.path[1], *members->integer(),
                                                   suspect != nullptr && suspect->boolean);
        } else if (l.path[0] == "totals" && d->integer()) {
            sum += detail::total_leaf_hash(l.path[1], *d->integer());
        } else {
            ok = false;
            return 0;
        }
    }
    return sum;
}

/// All four views as one JSON text plus both hashes: equal iff the observable states are.
inline std::string observable_state(const PresenceStore& store) {
    return detail::all_views_json(store) +
           " member_hash=" + detail::hash_hex(store.hash(View::ByChannel)) +
           " counts_hash=" + detail::hash_hex(store.hash(View::Counts));
}

}  // namespace presenceagg::test

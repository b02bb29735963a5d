// SPDX-License-Identifier: MIT
#pragma once

// Test-only helpers: read the simulator's envelopes with RapidJSON and keep a small, independent
// presence set by Ably's rules (RTP2), to check the simulator without the library's own codec
// and store.

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <rapidjson/document.h>

#include <presenceagg/presence.hpp>

namespace demo_test {

struct Envelope {
    std::string source;
    std::string channel;
    // channel.presence
    std::string id;
    std::string client_id;
    std::string connection_id;
    std::int64_t timestamp = 0;
    int action = -1;
    std::string data;  // the JSON text inside the data string
    std::string encoding;
    // channel.occupancy
    std::int64_t presence_members = -1;
};

/// Parses one envelope; nullopt (with `why`) when it is not the shape Ably delivers.
inline std::optional<Envelope> read_envelope(std::string_view body, std::string* why = nullptr) {
    const auto fail = [&](const char* reason) -> std::optional<Envelope> {
        if (why) *why = reason;
        return std::nullopt;
    };
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject()) return fail("not a JSON object");
    Envelope e;
    for (const char* key : {"source", "appId", "channel", "site", "ruleId"}) {
        if (!doc.HasMember(key) || !doc[key].IsString()) return fail("envelope string field");
    }
    e.source = doc["source"].GetString();
    e.channel = doc["channel"].GetString();
    if (e.source == "channel.presence") {
        if (!doc.HasMember("presence") || !doc["presence"].IsArray() ||
            doc["presence"].Size() != 1) {
            return fail("presence array of one");
        }
        const auto& p = doc["presence"][0];
        for (const char* key : {"id", "clientId", "connectionId", "data", "encoding"}) {
            if (!p.HasMember(key) || !p[key].IsString()) return fail("presence string field");
        }
        if (!p.HasMember("timestamp") || !p["timestamp"].IsInt64()) return fail("timestamp");
        if (!p.HasMember("action") || !p["action"].IsInt()) return fail("integer action");
        e.id = p["id"].GetString();
        e.client_id = p["clientId"].GetString();
        e.connection_id = p["connectionId"].GetString();
        e.timestamp = p["timestamp"].GetInt64();
        e.action = p["action"].GetInt();
        e.data = p["data"].GetString();
        e.encoding = p["encoding"].GetString();
        return e;
    }
    if (e.source == "channel.occupancy") {
        if (!doc.HasMember("occupancy") || !doc["occupancy"].IsArray() ||
            doc["occupancy"].Size() != 1 || !doc["occupancy"][0].IsObject() ||
            !doc["occupancy"][0].HasMember("metrics")) {
            return fail("occupancy array of one with metrics");
        }
        const auto& m = doc["occupancy"][0]["metrics"];
        if (!m.IsObject() || !m.HasMember("presenceMembers") || !m["presenceMembers"].IsInt64()) {
            return fail("presenceMembers");
        }
        e.presence_members = m["presenceMembers"].GetInt64();
        return e;
    }
    return fail("unknown source");
}

/// (msgSerial, index) of "connId:msgSerial:index"; nullopt when the id is not of that form.
inline std::optional<std::pair<std::uint64_t, std::uint64_t>> serial_of(std::string_view id) {
    const auto last = id.rfind(':');
    if (last == std::string_view::npos || last == 0) return std::nullopt;
    const auto mid = id.rfind(':', last - 1);
    if (mid == std::string_view::npos) return std::nullopt;
    std::uint64_t serial = 0;
    std::uint64_t index = 0;
    const auto s = id.substr(mid + 1, last - mid - 1);
    const auto i = id.substr(last + 1);
    if (std::from_chars(s.data(), s.data() + s.size(), serial).ec != std::errc{}) {
        return std::nullopt;
    }
    if (std::from_chars(i.data(), i.data() + i.size(), index).ec != std::errc{}) {
        return std::nullopt;
    }
    return std::pair{serial, index};
}

/// A minimal presence set by RTP2: leaves are kept as tombstones, newness by (msgSerial, index)
/// unless either id is not prefixed by its connectionId, then by timestamp (ties: incoming).
class ReferencePresence {
public:
    void apply(const Envelope& e) {
        presenceagg::MemberKey key{e.channel, e.connection_id, e.client_id};
        const bool present = e.action == 1 || e.action == 2 || e.action == 4;
        auto it = entries_.find(key);
        if (it == entries_.end()) {
            entries_.emplace(std::move(key), Entry{e.id, e.connection_id, e.timestamp, present});
            return;
        }
        if (!newer(e, it->second)) return;
        it->second = Entry{e.id, e.connection_id, e.timestamp, present};
    }

    [[nodiscard]] std::set<presenceagg::MemberKey> present() const {
        std::set<presenceagg::MemberKey> out;
        for (const auto& [key, entry] : entries_) {
            if (entry.present) out.insert(key);
        }
        return out;
    }

    [[nodiscard]] std::size_t members_in(std::string_view channel) const {
        std::size_t n = 0;
        for (const auto& [key, entry] : entries_) {
            if (entry.present && key.channel == channel) ++n;
        }
        return n;
    }

private:
    struct Entry {
        std::string id;
        std::string connection_id;
        std::int64_t timestamp = 0;
        bool present = false;
    };

    static bool newer(const Envelope& in, const Entry& old) {
        const bool synthesized = !std::string_view(in.id).starts_with(in.connection_id) ||
                                 !std::string_view(old.id).starts_with(old.connection_id);
        if (synthesized) return in.timestamp >= old.timestamp;
        const auto a = serial_of(in.id);
        const auto b = serial_of(old.id);
        if (!a || !b) return in.timestamp >= old.timestamp;
        return *a > *b;
    }

    std::map<presenceagg::MemberKey, Entry> entries_;
};

}  // namespace demo_test

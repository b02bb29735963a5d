// SPDX-License-Identifier: MIT
// Renders MemberExplanation as text for people and as JSON for tools.
#include <string>

#include <presenceagg/presence_store.hpp>

#include "wire/json_text.hpp"

namespace presenceagg {
namespace {

using detail::append_json_int;
using detail::append_json_string;

void append_uint(std::string& out, std::uint64_t v) {
    out += std::to_string(v);
}

void append_optional_int(std::string& out, const std::optional<std::int64_t>& v) {
    if (v) {
        append_json_int(out, *v);
    } else {
        out += "null";
    }
}

void append_key(std::string& out, std::string_view key, bool first = false) {
    if (!first) out.push_back(',');
    append_json_string(out, key);
    out.push_back(':');
}

}  // namespace

std::string_view to_string(MemberEvent event) noexcept {
    switch (event) {
        case MemberEvent::Message:
            return "message";
        case MemberEvent::ResyncMessage:
            return "resync message";
        case MemberEvent::ResyncRemoved:
            return "resync removed";
        case MemberEvent::TombstoneExpired:
            return "tombstone expired";
        case MemberEvent::TombstoneEvicted:
            return "tombstone evicted";
        case MemberEvent::Cleared:
            return "cleared";
    }
    return "unknown";
}

std::string to_text(const MemberExplanation& e) {
    std::string out = "member channel=";
    append_json_string(out, e.key.channel);
    out += " clientId=";
    append_json_string(out, e.key.client_id);
    out += " connectionId=";
    append_json_string(out, e.key.connection_id);
    out += '\n';
    if (!e.supported) {
        out += "this store keeps no explanations\n";
        return out;
    }
    if (e.present) {
        out += "shown: yes, present since message id=";
        append_json_string(out, e.id);
        out += " timestamp=";
        append_json_int(out, e.timestamp);
        out += "\n  leaf: ";
        out += e.leaf.value_or("");
        out += '\n';
    } else if (e.tombstone) {
        out += "shown: no, left with message id=";
        append_json_string(out, e.id);
        out += " timestamp=";
        append_json_int(out, e.timestamp);
        out += "\n  tombstone kept until event time ";
        append_optional_int(out, e.tombstone_until);
        out += " (older messages for this member are dropped as stale until then)\n";
    } else {
        out += "shown: no, nothing is known about this member now\n";
    }
    out += "store event time: ";
    if (e.event_time) {
        append_json_int(out, *e.event_time);
    } else {
        out += "none (nothing applied yet)";
    }
    out += "\nchannel: ";
    out += e.channel_suspect ? "suspect (state unverified)" : "not suspect";
    if (e.channel_suspect_since) {
        out += ", last marked suspect at event time ";
        append_json_int(out, *e.channel_suspect_since);
    }
    if (e.channel_verified) {
        out += "; last verified by resync at event time ";
        append_optional_int(out, e.channel_verified_at);
        out += " (sequence ";
        append_uint(out, e.channel_verified_sequence);
        out += ')';
    } else {
        out += "; never verified by resync";
    }
    out += '\n';
    if (e.history_limit == 0) {
        out += "history: not kept (explain history disabled)\n";
        return out;
    }
    out += "history (" + std::to_string(e.history.size()) + " entries, at most " +
           std::to_string(e.history_limit) + " kept, oldest first):\n";
    if (e.history.empty()) out += "  (none)\n";
    for (const MemberHistoryEntry& h : e.history) {
        out += "  seq ";
        append_uint(out, h.sequence);
        out += ": ";
        out += to_string(h.event);
        if (h.event == MemberEvent::Message || h.event == MemberEvent::ResyncMessage) {
            out += ' ';
            out += to_string(h.action);
            out += " id=";
            append_json_string(out, h.id);
            out += " timestamp=";
            append_json_int(out, h.timestamp);
            out += " -> ";
            out += to_string(h.outcome);
        } else {
            out += " (state id=";
            append_json_string(out, h.id);
            out += ") at event time ";
            append_json_int(out, h.timestamp);
        }
        out += ": ";
        out += h.rule;
        out += '\n';
    }
    return out;
}

std::string to_json(const MemberExplanation& e) {
    std::string out = "{";
    append_key(out, "channel", true);
    append_json_string(out, e.key.channel);
    append_key(out, "channelSuspect");
    out += e.channel_suspect ? "true" : "false";
    append_key(out, "channelSuspectSince");
    append_optional_int(out, e.channel_suspect_since);
    append_key(out, "channelVerified");
    out += e.channel_verified ? "true" : "false";
    append_key(out, "channelVerifiedAt");
    append_optional_int(out, e.channel_verified_at);
    append_key(out, "channelVerifiedSequence");
    append_uint(out, e.channel_verified_sequence);
    append_key(out, "clientId");
    append_json_string(out, e.key.client_id);
    append_key(out, "connectionId");
    append_json_string(out, e.key.connection_id);
    append_key(out, "eventTime");
    append_optional_int(out, e.event_time);
    append_key(out, "history");
    out.push_back('[');
    bool first = true;
    for (const MemberHistoryEntry& h : e.history) {
        if (!first) out.push_back(',');
        first = false;
        out.push_back('{');
        append_key(out, "action", true);
        append_json_string(out, to_string(h.action));
        append_key(out, "event");
        append_json_string(out, to_string(h.event));
        append_key(out, "id");
        append_json_string(out, h.id);
        append_key(out, "outcome");
        append_json_string(out, to_string(h.outcome));
        append_key(out, "rule");
        append_json_string(out, h.rule);
        append_key(out, "sequence");
        append_uint(out, h.sequence);
        append_key(out, "timestamp");
        append_json_int(out, h.timestamp);
        out.push_back('}');
    }
    out.push_back(']');
    append_key(out, "historyLimit");
    append_uint(out, e.history_limit);
    append_key(out, "id");
    append_json_string(out, e.id);
    append_key(out, "leaf");
    out += e.leaf ? *e.leaf : std::string("null");
    append_key(out, "present");
    out += e.present ? "true" : "false";
    append_key(out, "supported");
    out += e.supported ? "true" : "false";
    append_key(out, "timestamp");
    append_json_int(out, e.timestamp);
    append_key(out, "tombstone");
    out += e.tombstone ? "true" : "false";
    append_key(out, "tombstoneUntil");
    append_optional_int(out, e.tombstone_until);
    out.push_back('}');
    return out;
}

}  // namespace presenceagg

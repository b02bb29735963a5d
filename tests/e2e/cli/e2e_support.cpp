// SPDX-License-Identifier: MIT
#include "e2e_support.hpp"

#include <sstream>
#include <stdexcept>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/view_json.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::e2e {
namespace {

using presenceagg::detail::append_json_int;
using presenceagg::detail::append_json_string;

void append_raw(std::string& out, const RawPresence& m, bool with_action) {
    out += "{\"id\":";
    append_json_string(out, m.id);
    out += ",\"clientId\":";
    append_json_string(out, m.client_id);
    out += ",\"connectionId\":";
    append_json_string(out, m.connection_id);
    out += ",\"timestamp\":";
    append_json_int(out, m.timestamp);
    if (with_action) {
        out += ",\"action\":";
        append_json_int(out, m.action);
    }
    out += ",\"data\":";
    out += m.data_json;
    if (!m.encoding.empty()) {
        out += ",\"encoding\":";
        append_json_string(out, m.encoding);
    }
    out += '}';
}

}  // namespace

std::string presence_envelope(std::string_view channel, const RawPresence& message) {
    std::string out = R"({"source":"channel.presence","appId":"appid","channel":)";
    append_json_string(out, channel);
    out += R"(,"site":"e2e-test-1","ruleId":"e2eRule","presence":[)";
    append_raw(out, message, true);
    out += "]}";
    return out;
}

std::string occupancy_envelope(std::string_view channel,
                               std::int64_t presence_members,
                               std::int64_t timestamp) {
    std::string out = R"({"source":"channel.occupancy","appId":"appid","channel":)";
    append_json_string(out, channel);
    out += R"(,"site":"e2e-test-1","ruleId":"e2eOcc","timestamp":)";
    append_json_int(out, timestamp);
    out += R"(,"occupancy":[{"metrics":{"connections":)";
    append_json_int(out, presence_members);
    out += R"(,"publishers":0,"subscribers":0,"presenceConnections":)";
    append_json_int(out, presence_members);
    out += R"(,"presenceMembers":)";
    append_json_int(out, presence_members);
    out += R"(,"presenceSubscribers":0}}]})";
    return out;
}

std::string standin_member_json(const RawPresence& message) {
    RawPresence present = message;
    present.action = 1;
    std::string out;
    append_raw(out, present, true);
    return out;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

ExpectedState::ExpectedState(std::string namespace_regex)
    : store_(make_memory_presence_store()),
      namespace_(namespace_regex, std::regex::ECMAScript) {}

bool ExpectedState::apply_body(std::string_view body) {
    batch_.clear();
    if (!decoder_.decode_queue_message(body, {}, batch_).ok()) return false;
    for (const PresenceMessage& m : batch_.messages()) {
        if (std::regex_search(m.channel, namespace_)) store_->apply(m);
    }
    return true;
}

void ExpectedState::apply(const PresenceMessage& message) {
    if (std::regex_search(message.channel, namespace_)) store_->apply(message);
}

void ExpectedState::replace_channel(std::string_view channel,
                                    const std::vector<PresenceMessage>& members) {
    (void)store_->replace_channel(channel, members, store_->sequence());
}

std::string ExpectedState::view_json(View view) const {
    return detail::view_json(*store_, view);
}

std::string view_channel(std::string_view base, View view) {
    std::string out(base);
    if (view != View::ByChannel) {
        out += ':';
        out += to_string(view);
    }
    return out;
}

ViewFollower::ViewFollower(const standin::StandinProcess& standin, std::string channel, View view)
    : standin_(standin),
      channel_(std::move(channel)),
      assembler_(ViewAssemblerConfig{.view = view}) {}

std::size_t ViewFollower::poll() {
    const std::vector<std::string> all = standin_.published(channel_);
    std::size_t added = 0;
    for (std::size_t i = messages_.size(); i < all.size(); ++i) {
        messages_.push_back(all[i]);
        const AssembleStatus s = assembler_.add(all[i]);
        if (s != AssembleStatus::Applied && s != AssembleStatus::PartStored) {
            problems_.push_back(
                std::string(to_string(s)) + ": " +
                (s == AssembleStatus::Malformed ? assembler_.last_error() : all[i].substr(0, 200)));
        }
        ++added;
    }
    return added;
}

bool ViewFollower::matches(const std::string& expected) {
    poll();
    return assembler_.has_state() && assembler_.state_json() == expected;
}

std::map<std::string, std::string> run_env(const standin::StandinProcess& standin,
                                           const std::string& queue,
                                           const std::string& publish_channel) {
    return {
        {"ABLY_API_KEY", std::string(standin::StandinProcess::kDefaultKey)},
        {"ABLY_ENDPOINT", standin.endpoint()},
        {"ABLY_TLS", "false"},
        {"AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"},
        {"AMQP_QUEUE", queue},
        {"NAMESPACE_REGEX", "^presence:.*"},
        {"CONSUME_ON_START", "true"},
        {"COMMAND_CHANNEL", ""},
        {"PUBLISH_CHANNEL", publish_channel},
        {"PUBLISH_INTERVAL", "200ms"},
        {"KEEPALIVE_INTERVAL", "10s"},
        {"OCCUPANCY_DEBOUNCE", "500ms"},
        {"VERIFY_INTERVAL", "0"},
        {"REST_RATE_LIMIT", "50"},
        {"LOG_FORMAT", "json"},
        {"LOG_LEVEL", "info"},
    };
}

std::optional<std::int64_t> json_int_at(const std::string& json, std::string_view path) {
    rapidjson::Document doc;
    doc.Parse(json.c_str(), json.size());
    if (doc.HasParseError()) return std::nullopt;
    const rapidjson::Value* v = &doc;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const auto slash = path.find('/', pos);
        const std::string key(path.substr(
            pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
        if (!v->IsObject()) return std::nullopt;
        // HasMember and operator[]: comparing RapidJSON 1.1 member iterators is ambiguous in C++20.
        if (!v->HasMember(key.c_str())) return std::nullopt;
        v = &(*v)[key.c_str()];
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
    if (!v->IsInt64()) return std::nullopt;
    return v->GetInt64();
}

std::optional<std::string> json_field(const std::string& json, std::string_view key) {
    rapidjson::Document doc;
    doc.Parse(json.c_str(), json.size());
    if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
    const std::string k(key);
    if (!doc.HasMember(k.c_str())) return std::nullopt;
    const rapidjson::Value& value = doc[k.c_str()];
    if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    value.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace presenceagg::e2e

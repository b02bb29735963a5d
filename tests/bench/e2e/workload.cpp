// SPDX-License-Identifier: MIT
#include "workload.hpp"

#include <array>
#include <cstdio>

namespace presenceagg::bench {
namespace {

constexpr std::array<const char*, 4> kStatus = {"online", "away", "busy", "in-call"};
constexpr std::array<const char*, 3> kDevice = {"mobile", "desktop", "tablet"};

// The data travels as a JSON string with encoding "json": escape it for the envelope.
std::string quoted(const std::string& text) {
    std::string out;
    out.reserve(text.size() + text.size() / 4 + 2);
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace

Workload::Workload(std::uint32_t channels, std::uint32_t clients, std::uint64_t seed)
    : channels_(channels),
      clients_(clients),
      rng_(seed),
      per_channel_(channels, 0) {}

std::string Workload::channel_name(std::uint32_t channel) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "presence:room-%05u", channel);
    return buf;
}

std::string Workload::client_name(std::uint32_t client) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "user-%06u", client);
    return buf;
}

std::string Workload::connection_name(std::uint32_t client, std::uint32_t connection) {
    // Ably connection ids look like short base64 strings.
    char buf[32];
    std::snprintf(buf, sizeof buf, "Cx%06X_q%u", client * 2654435761U % 0xFFFFFFU, connection);
    return buf;
}

std::string Workload::data_json(const Slot& slot, std::uint64_t version) {
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        R"({"status":"%s","name":"User %06u","avatar":"https://cdn.example.com/u/%06u.png",)"
        R"("device":"%s","typing":%s,"lastActive":%llu,"rev":%llu})",
        kStatus[version % kStatus.size()], slot.client, slot.client,
        kDevice[(slot.client + slot.connection) % kDevice.size()],
        version % 5 == 0 ? "true" : "false",
        static_cast<unsigned long long>(1'700'000'000'000ULL + version * 997),
        static_cast<unsigned long long>(version));
    return buf;
}

std::uint64_t Workload::key(const Slot& slot) const noexcept {
    return (static_cast<std::uint64_t>(slot.channel) * clients_ + slot.client) *
               kConnectionsPerClient +
           slot.connection;
}

std::uint64_t Workload::count(int action) const noexcept {
    return action >= 0 && action < 5 ? counts_[action] : 0;
}

Change Workload::emit(const Slot& slot, int action) {
    const std::uint64_t k = key(slot);
    const std::uint64_t connection_key =
        static_cast<std::uint64_t>(slot.client) * kConnectionsPerClient + slot.connection;
    const std::uint64_t serial = serial_[connection_key]++;
    const std::string channel = channel_name(slot.channel);
    const std::string client = client_name(slot.client);
    const std::string connection = connection_name(slot.client, slot.connection);
    const std::string id = connection + ":" + std::to_string(serial) + ":0";
    const std::uint64_t ts = timestamp_++;
    const std::string data = data_json(slot, serial);

    Change change;
    change.action = action;
    change.channel_members = per_channel_[slot.channel];
    if (action == 3) {
        const auto it = index_.find(k);
        if (it != index_.end()) {
            const std::size_t at = it->second;
            present_[at] = present_.back();
            index_[key(present_[at])] = at;
            present_.pop_back();
            index_.erase(k);
            --per_channel_[slot.channel];
        }
    } else if (index_.emplace(k, present_.size()).second) {
        present_.push_back(slot);
        ++per_channel_[slot.channel];
    }
    ++counts_[action];

    // The by-channel view writes "channel":{"client":{"connection":leaf}}; leaf is null on leave.
    const std::string leaf = action == 3 ? std::string("null")
                                         : R"({"data":)" + data + R"(,"id":")" + id +
                                               R"(","timestamp":)" + std::to_string(ts) + "}";
    change.leaf_json_bytes =
        channel.size() + client.size() + connection.size() + 6 + 3 + 4 + leaf.size();

    std::string& b = change.body;
    b.reserve(420);
    b += R"({"source":"channel.presence","appId":"appid","channel":")";
    b += channel;
    b += R"(","site":"eu-west-1-A","ruleId":"Rk1x9a","presence":[)";
    const std::size_t presence_at = b.size();
    b += R"({"id":")";
    b += id;
    b += R"(","clientId":")";
    b += client;
    b += R"(","connectionId":")";
    b += connection;
    b += R"(","timestamp":)";
    b += std::to_string(ts);
    b += R"(,"action":)";
    b += std::to_string(action);
    b += R"(,"data":)";
    b += quoted(data);
    b += R"(,"encoding":"json"})";
    change.presence_json_bytes = b.size() - presence_at;
    b += "]}";
    return change;
}

Change Workload::enter() {
    for (int attempt = 0; attempt < 8; ++attempt) {
        const Slot slot{static_cast<std::uint32_t>(random(channels_)),
                        static_cast<std::uint32_t>(random(clients_)),
                        static_cast<std::uint32_t>(random(kConnectionsPerClient))};
        if (!index_.contains(key(slot))) return emit(slot, 2);
    }
    return update();
}

Change Workload::update() {
    if (present_.empty()) return enter();
    return emit(present_[random(present_.size())], 4);
}

Change Workload::leave() {
    if (present_.empty()) return enter();
    return emit(present_[random(present_.size())], 3);
}

Change Workload::mixed(std::size_t target_members) {
    if (present_.size() < target_members) return enter();
    const auto roll = random(100);
    if (roll < 35) return enter();
    if (roll < 75) return update();
    return leave();
}

}  // namespace presenceagg::bench

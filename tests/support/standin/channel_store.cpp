// SPDX-License-Identifier: MIT
#include "channel_store.hpp"

#include <algorithm>
#include <cstdio>

namespace presenceagg::standin {

namespace {

// Ably's idempotent-publish window.
constexpr std::int64_t kDedupeWindowMs = 120'000;

void write_optional(JsonWriter& w, const char* key, const std::optional<std::string>& v) {
    if (!v) return;
    w.Key(key);
    write_string(w, *v);
}

void write_raw(JsonWriter& w, const char* key, const std::string& json) {
    if (json.empty()) return;
    w.Key(key);
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

std::string make_serial(std::int64_t timestamp, std::uint64_t seq, std::size_t index) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%013lld-%06llu@standin:%zu", static_cast<long long>(timestamp),
                  static_cast<unsigned long long>(seq), index);
    return buf;
}

auto seq_less = [](const MessagePtr& m, std::uint64_t seq) { return m->seq < seq; };

}  // namespace

void write_message(JsonWriter& w, const StoredMessage& m, const std::string* channel) {
    w.StartObject();
    w.Key("id");
    write_string(w, m.id);
    write_optional(w, "name", m.name);
    write_optional(w, "clientId", m.client_id);
    write_optional(w, "connectionId", m.connection_id);
    w.Key("timestamp");
    w.Int64(m.timestamp);
    write_optional(w, "encoding", m.encoding);
    if (channel != nullptr) {
        w.Key("channel");
        write_string(w, *channel);
    }
    write_raw(w, "data", m.data_json);
    write_raw(w, "extras", m.extras_json);
    w.Key("serial");
    write_string(w, m.serial);
    w.EndObject();
}

void write_member(JsonWriter& w, const PresenceMember& m) {
    w.StartObject();
    w.Key("id");
    write_string(w, m.id);
    w.Key("action");
    w.Int(1);
    w.Key("clientId");
    write_string(w, m.client_id);
    w.Key("connectionId");
    write_string(w, m.connection_id);
    w.Key("timestamp");
    w.Int64(m.timestamp);
    write_optional(w, "encoding", m.encoding);
    write_raw(w, "data", m.data_json);
    write_raw(w, "extras", m.extras_json);
    w.EndObject();
}

ChannelStore::ChannelStore(std::size_t max_stored_messages)
    : max_stored_(std::max<std::size_t>(max_stored_messages, 1)) {}

PublishOutcome ChannelStore::publish(const std::string& channel,
                                     std::vector<StoredMessage> messages) {
    PublishOutcome out;
    {
        const std::lock_guard lock(mutex_);
        Channel& c = channels_[channel];
        const std::int64_t now = now_ms();
        while (!c.recent_order.empty() && c.recent_order.front().first < now - kDedupeWindowMs) {
            const auto it = c.recent_ids.find(c.recent_order.front().second);
            if (it != c.recent_ids.end() && it->second.first == c.recent_order.front().first) {
                c.recent_ids.erase(it);
            }
            c.recent_order.pop_front();
        }
        ++c.publishes;
        const std::string base = random_token(12);
        for (std::size_t i = 0; i < messages.size(); ++i) {
            StoredMessage& m = messages[i];
            if (m.id.empty()) m.id = base + ":" + std::to_string(i);
            if (const auto seen = c.recent_ids.find(m.id); seen != c.recent_ids.end()) {
                out.ids.push_back(m.id);
                out.serials.push_back(seen->second.second);
                ++out.duplicates;
                continue;
            }
            m.channel = channel;
            m.timestamp = now;
            m.seq = next_seq_++;
            m.serial = make_serial(now, m.seq, i);
            c.recent_ids[m.id] = {now, m.serial};
            c.recent_order.emplace_back(now, m.id);
            out.ids.push_back(m.id);
            out.serials.push_back(m.serial);
            auto stored = std::make_shared<const StoredMessage>(std::move(m));
            c.messages.push_back(stored);
            log_.push_back(std::move(stored));
            ++out.recorded;
        }
        evict_locked();
    }
    if (out.recorded > 0) news_.notify_all();
    return out;
}

void ChannelStore::evict_locked() {
    while (log_.size() > max_stored_) {
        const MessagePtr oldest = log_.front();
        log_.pop_front();
        const auto it = channels_.find(oldest->channel);
        if (it != channels_.end() && !it->second.messages.empty() &&
            it->second.messages.front()->seq == oldest->seq) {
            it->second.messages.pop_front();
        }
    }
}

std::vector<MessagePtr> ChannelStore::channel_messages(const std::string& channel) const {
    const std::lock_guard lock(mutex_);
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return {};
    return {it->second.messages.begin(), it->second.messages.end()};
}

std::vector<MessagePtr> ChannelStore::history(const std::string& channel,
                                              bool backwards,
                                              std::optional<std::uint64_t> cursor_seq,
                                              std::int64_t start,
                                              std::int64_t end,
                                              std::size_t max) const {
    std::vector<MessagePtr> out;
    const std::lock_guard lock(mutex_);
    const auto it = channels_.find(channel);
    if (it == channels_.end() || max == 0) return out;
    const auto& msgs = it->second.messages;
    const auto in_range = [&](const MessagePtr& m) {
        return m->timestamp >= start && m->timestamp <= end;
    };
    if (backwards) {
        auto pos = cursor_seq ? std::lower_bound(msgs.begin(), msgs.end(), *cursor_seq, seq_less)
                              : msgs.end();
        while (pos != msgs.begin() && out.size() < max) {
            --pos;
            if (in_range(*pos)) out.push_back(*pos);
        }
    } else {
        auto pos = cursor_seq
                       ? std::lower_bound(msgs.begin(), msgs.end(), *cursor_seq + 1, seq_less)
                       : msgs.begin();
        for (; pos != msgs.end() && out.size() < max; ++pos) {
            if (in_range(*pos)) out.push_back(*pos);
        }
    }
    return out;
}

std::uint64_t ChannelStore::last_seq() const {
    const std::lock_guard lock(mutex_);
    return next_seq_ - 1;
}

std::vector<MessagePtr> ChannelStore::messages_after(std::uint64_t after,
                                                     const std::set<std::string>& channels,
                                                     std::size_t max,
                                                     std::uint64_t& scanned) const {
    std::vector<MessagePtr> out;
    const std::lock_guard lock(mutex_);
    scanned = std::max(after, next_seq_ - 1);
    auto pos = std::lower_bound(log_.begin(), log_.end(), after + 1, seq_less);
    for (; pos != log_.end(); ++pos) {
        if (channels.count((*pos)->channel) == 0) continue;
        if (out.size() == max) {
            scanned = out.back()->seq;
            break;
        }
        out.push_back(*pos);
    }
    return out;
}

std::vector<MessagePtr> ChannelStore::latest(const std::string& channel,
                                             std::size_t count,
                                             std::int64_t since_ms) const {
    std::vector<MessagePtr> out;
    const std::lock_guard lock(mutex_);
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return out;
    const auto& msgs = it->second.messages;
    for (auto pos = msgs.rbegin(); pos != msgs.rend() && out.size() < count; ++pos) {
        if ((*pos)->timestamp < since_ms) break;
        out.push_back(*pos);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

void ChannelStore::wait_for_news(std::uint64_t after,
                                 std::uint64_t wake_generation,
                                 std::chrono::steady_clock::time_point deadline) const {
    std::unique_lock lock(mutex_);
    news_.wait_until(lock, deadline,
                     [&] { return next_seq_ - 1 > after || wake_generation_ != wake_generation; });
}

std::uint64_t ChannelStore::wake_generation() const {
    const std::lock_guard lock(mutex_);
    return wake_generation_;
}

void ChannelStore::wake_all() {
    {
        const std::lock_guard lock(mutex_);
        ++wake_generation_;
    }
    news_.notify_all();
}

void ChannelStore::set_presence(const std::string& channel,
                                std::vector<PresenceMember> members,
                                bool replace) {
    const std::lock_guard lock(mutex_);
    Channel& c = channels_[channel];
    if (replace) c.members.clear();
    for (PresenceMember& m : members) {
        auto key = std::make_pair(m.connection_id, m.client_id);
        if (m.leave) {
            c.members.erase(key);
        } else {
            c.members.insert_or_assign(std::move(key), std::move(m));
        }
    }
}

void ChannelStore::clear_presence(const std::string* channel) {
    const std::lock_guard lock(mutex_);
    if (channel == nullptr) {
        for (auto& [name, c] : channels_) c.members.clear();
        return;
    }
    if (const auto it = channels_.find(*channel); it != channels_.end()) it->second.members.clear();
}

std::vector<PresenceMember> ChannelStore::presence(const std::string& channel) const {
    std::vector<PresenceMember> out;
    const std::lock_guard lock(mutex_);
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return out;
    out.reserve(it->second.members.size());
    for (const auto& [key, m] : it->second.members) out.push_back(m);
    return out;
}

void ChannelStore::set_forced_active(const std::vector<std::string>& names,
                                     std::optional<bool> active) {
    const std::lock_guard lock(mutex_);
    for (const std::string& n : names) channels_[n].forced_active = active;
}

bool ChannelStore::is_active(const Channel& c) {
    if (c.forced_active) return *c.forced_active;
    return !c.members.empty() || !c.messages.empty();
}

std::vector<std::string> ChannelStore::active_channels(std::string_view prefix) const {
    std::vector<std::string> out;
    const std::lock_guard lock(mutex_);
    for (auto it = channels_.lower_bound(prefix); it != channels_.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        if (is_active(it->second)) out.push_back(it->first);
    }
    return out;
}

ChannelSummary ChannelStore::summary(const std::string& channel) const {
    ChannelSummary s;
    const std::lock_guard lock(mutex_);
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return s;
    s.active = is_active(it->second);
    s.members = it->second.members.size();
    std::set<std::string_view> connections;
    for (const auto& [key, m] : it->second.members) connections.insert(key.first);
    s.connections = connections.size();
    return s;
}

void ChannelStore::set_channel_error(const std::string& channel, ChannelError error) {
    const std::lock_guard lock(mutex_);
    errors_.insert_or_assign(channel, std::move(error));
}

void ChannelStore::clear_channel_errors() {
    const std::lock_guard lock(mutex_);
    errors_.clear();
}

std::optional<ChannelError> ChannelStore::channel_error(const std::string& channel) const {
    const std::lock_guard lock(mutex_);
    const auto it = errors_.find(channel);
    if (it == errors_.end()) return std::nullopt;
    return it->second;
}

void ChannelStore::reset() {
    {
        const std::lock_guard lock(mutex_);
        channels_.clear();
        log_.clear();
        errors_.clear();
        ++wake_generation_;
    }
    news_.notify_all();
}

}  // namespace presenceagg::standin

// SPDX-License-Identifier: MIT
#pragma once

// FakeStore: a small, honest PresenceStore over std::map for the publish tests. It keeps no
// newness rules (the last message wins) and recomputes hashes from scratch, but its views,
// leaves, change sets and hashes follow presence_store.hpp and wire/content_hash.hpp exactly.

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <presenceagg/presence_store.hpp>

#include "publish/leaf_path.hpp"
#include "wire/content_hash.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::test {

class FakeStore final : public PresenceStore {
public:
    ApplyOutcome apply(const PresenceMessage& m) override {
        std::lock_guard lock(mutex_);
        if (m.channel.empty() || m.client_id.empty() || m.connection_id.empty()) {
            ++stats_.rejected;
            return ApplyOutcome::Rejected;
        }
        const Key key{m.channel, m.client_id, m.connection_id};
        if (means_present(m.action)) {
            members_[key] = m;
        } else {
            members_.erase(key);
        }
        dirty_.insert(key);
        dirty_channels_.insert(m.channel);
        ++sequence_;
        ++stats_.applied;
        return ApplyOutcome::Applied;
    }

    std::size_t replace_channel(std::string_view,
                                std::span<const PresenceMessage>,
                                std::uint64_t) override {
        return 0;
    }
    [[nodiscard]] std::uint64_t sequence() const override {
        std::lock_guard lock(mutex_);
        return sequence_;
    }
    [[nodiscard]] std::size_t channel_members(std::string_view channel) const override {
        std::lock_guard lock(mutex_);
        return count_in(channel);
    }
    [[nodiscard]] std::vector<std::string> channels() const override {
        std::lock_guard lock(mutex_);
        std::set<std::string> out;
        for (const auto& [k, m] : members_) out.insert(std::get<0>(k));
        return {out.begin(), out.end()};
    }
    void clear() override {
        std::lock_guard lock(mutex_);
        for (const auto& [k, m] : members_) {
            dirty_.insert(k);
            dirty_channels_.insert(std::get<0>(k));
        }
        members_.clear();
    }
    void set_suspect(std::string_view channel, bool suspect) override {
        std::lock_guard lock(mutex_);
        if (suspect) {
            suspect_.insert(std::string(channel));
        } else {
            suspect_.erase(std::string(channel));
        }
        dirty_channels_.insert(std::string(channel));
    }
    [[nodiscard]] Counts counts() const override {
        std::lock_guard lock(mutex_);
        return counts_locked();
    }
    [[nodiscard]] StoreStats stats() const override {
        std::lock_guard lock(mutex_);
        StoreStats s = stats_;
        s.pending_changes = dirty_.size();
        return s;
    }

    [[nodiscard]] ChangeSet take_changes() override {
        std::lock_guard lock(mutex_);
        ChangeSet cs;
        for (const auto& key : dirty_) {
            const auto it = members_.find(key);
            MemberChange c{std::get<0>(key), std::get<1>(key), std::get<2>(key), std::nullopt};
            if (it != members_.end()) c.leaf = leaf_json(it->second);
            cs.members.push_back(std::move(c));
        }
        for (const auto& ch : dirty_channels_) {
            cs.channels.push_back({ch, count_in(ch), suspect_.count(ch) != 0});
        }
        cs.totals = counts_locked();
        cs.totals_changed = !(cs.totals == last_totals_) || !took_;
        took_ = true;
        last_totals_ = cs.totals;
        cs.member_hash = member_hash_locked();
        cs.counts_hash = counts_hash_locked();
        dirty_.clear();
        dirty_channels_.clear();
        return cs;
    }

    std::uint64_t visit(View view, const LeafVisitor& visitor) const override {
        std::lock_guard lock(mutex_);
        std::vector<std::pair<detail::LeafPath, std::string>> leaves;
        if (view == View::Counts) {
            std::set<std::string> chans(suspect_.begin(), suspect_.end());
            for (const auto& [k, m] : members_) chans.insert(std::get<0>(k));
            for (const auto& ch : chans) {
                leaves.push_back(
                    {{"channels", ch, ""}, count_leaf(count_in(ch), suspect_.count(ch) != 0)});
            }
            const Counts c = counts_locked();
            leaves.push_back({{"totals", "channels", ""}, std::to_string(c.channels)});
            leaves.push_back({{"totals", "clients", ""}, std::to_string(c.clients)});
            leaves.push_back({{"totals", "connections", ""}, std::to_string(c.connections)});
            leaves.push_back({{"totals", "members", ""}, std::to_string(c.members)});
        } else {
            for (const auto& [k, m] : members_) {
                leaves.push_back(
                    {detail::member_path(view, std::get<0>(k), std::get<1>(k), std::get<2>(k)),
                     leaf_json(m)});
            }
        }
        std::sort(leaves.begin(), leaves.end());
        const std::size_t depth = view_depth(view);
        for (const auto& [path, leaf] : leaves) {
            visitor(detail::path_views(path, depth).span(), leaf);
        }
        return view == View::Counts ? counts_hash_locked() : member_hash_locked();
    }

    [[nodiscard]] std::uint64_t hash(View view) const override {
        std::lock_guard lock(mutex_);
        return view == View::Counts ? counts_hash_locked() : member_hash_locked();
    }

    static std::string leaf_json(const PresenceMessage& m) {
        std::string out = "{\"data\":";
        out += m.data;
        if (!m.encoding.empty()) {
            out += ",\"encoding\":";
            detail::append_json_string(out, m.encoding);
        }
        if (!m.extras.empty()) {
            out += ",\"extras\":";
            out += m.extras;
        }
        out += ",\"id\":";
        detail::append_json_string(out, m.id);
        out += ",\"timestamp\":";
        detail::append_json_int(out, m.timestamp);
        out.push_back('}');
        return out;
    }

    static std::string count_leaf(std::size_t members, bool suspect) {
        return "{\"members\":" + std::to_string(members) + (suspect ? ",\"suspect\":true}" : "}");
    }

private:
    using Key = std::tuple<std::string, std::string, std::string>;  // channel, client, connection

    std::size_t count_in(std::string_view channel) const {
        std::size_t n = 0;
        for (const auto& [k, m] : members_) n += std::get<0>(k) == channel ? 1 : 0;
        return n;
    }
    Counts counts_locked() const {
        std::set<std::string> chans, clients, conns;
        for (const auto& [k, m] : members_) {
            chans.insert(std::get<0>(k));
            clients.insert(std::get<1>(k));
            conns.insert(std::get<2>(k));
        }
        return {members_.size(), clients.size(), conns.size(), chans.size()};
    }
    std::uint64_t member_hash_locked() const {
        std::uint64_t h = 0;
        for (const auto& [k, m] : members_) {
            h += detail::member_leaf_hash(std::get<0>(k), std::get<1>(k), std::get<2>(k), m.id,
                                          m.timestamp);
        }
        return h;
    }
    std::uint64_t counts_hash_locked() const {
        std::set<std::string> chans(suspect_.begin(), suspect_.end());
        for (const auto& [k, m] : members_) chans.insert(std::get<0>(k));
        std::uint64_t h = 0;
        for (const auto& ch : chans) {
            h += detail::channel_count_leaf_hash(ch, static_cast<std::int64_t>(count_in(ch)),
                                                 suspect_.count(ch) != 0);
        }
        const Counts c = counts_locked();
        h += detail::total_leaf_hash("channels", static_cast<std::int64_t>(c.channels));
        h += detail::total_leaf_hash("clients", static_cast<std::int64_t>(c.clients));
        h += detail::total_leaf_hash("connections", static_cast<std::int64_t>(c.connections));
        h += detail::total_leaf_hash("members", static_cast<std::int64_t>(c.members));
        return h;
    }

    mutable std::mutex mutex_;
    std::map<Key, PresenceMessage> members_;
    std::set<std::string> suspect_;
    std::set<Key> dirty_;
    std::set<std::string> dirty_channels_;
    Counts last_totals_;
    bool took_ = false;
    std::uint64_t sequence_ = 0;
    StoreStats stats_;
};

}  // namespace presenceagg::test

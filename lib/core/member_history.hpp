// SPDX-License-Identifier: MIT
#pragma once

// MemberHistory: the bounded per-member history behind PresenceStore::explain(). Kept out of the
// member records (which stay 80 bytes) in a side table of history slots: a record index maps to
// its slot through one 32-bit entry, so noting an apply to a known member is one indexed read and
// a ring write (strings reuse their capacity). A member whose record goes away (tombstone purged,
// store cleared) keeps its slot, detached and found again by key when the member comes back.
// Slots are bounded (max_entries / per_member) and recycled by the CLOCK algorithm, which
// approximates least-recently-used. Not thread-safe.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <presenceagg/presence_store.hpp>

#include "core/index_table.hpp"

namespace presenceagg::detail {

/// The rule that decided an entry; rule_text() gives its public wording.
enum class HistoryRule : std::uint8_t {
    NoPrevious,
    SameId,
    SerialNewer,
    SerialOlder,
    SerialEqual,
    SynthesizedNewer,
    SynthesizedOlder,
    SynthesizedEqual,
    UnparsableNewer,
    UnparsableOlder,
    UnparsableEqual,
    ResyncRemoved,
    TombstoneExpired,
    TombstoneEvicted,
    Cleared,
};

[[nodiscard]] constexpr std::string_view rule_text(HistoryRule rule) noexcept {
    switch (rule) {
        case HistoryRule::NoPrevious:
            return "no previous state";
        case HistoryRule::SameId:
            return "same id";
        case HistoryRule::SerialNewer:
            return "msgSerial/index newer";
        case HistoryRule::SerialOlder:
            return "msgSerial/index older";
        case HistoryRule::SerialEqual:
            return "msgSerial/index equal (not newer)";
        case HistoryRule::SynthesizedNewer:
            return "synthesized: timestamp newer";
        case HistoryRule::SynthesizedOlder:
            return "synthesized: timestamp older";
        case HistoryRule::SynthesizedEqual:
            return "synthesized: timestamp equal (incoming wins)";
        case HistoryRule::UnparsableNewer:
            return "unparsable id: timestamp newer";
        case HistoryRule::UnparsableOlder:
            return "unparsable id: timestamp older";
        case HistoryRule::UnparsableEqual:
            return "unparsable id: timestamp equal (incoming wins)";
        case HistoryRule::ResyncRemoved:
            return "removed by resync";
        case HistoryRule::TombstoneExpired:
            return "tombstone expired";
        case HistoryRule::TombstoneEvicted:
            return "tombstone evicted (cap reached)";
        case HistoryRule::Cleared:
            return "store cleared";
    }
    return "unknown";
}

/// What an entry records besides the message id.
struct HistoryFacts {
    std::int64_t timestamp = 0;
    std::uint64_t sequence = 0;
    MemberEvent event = MemberEvent::Message;
    PresenceAction action = PresenceAction::Present;
    ApplyOutcome outcome = ApplyOutcome::Applied;
    HistoryRule rule = HistoryRule::NoPrevious;
};

/// One remembered entry, compact: the rule is an enum, rendered only by explain().
struct HistoryRecord {
    std::string id;
    HistoryFacts facts;
};

/// A member key as one string (length-prefixed fields, so any bytes are allowed).
[[nodiscard]] inline std::string encode_member_key(std::string_view channel,
                                                   std::string_view client,
                                                   std::string_view connection) {
    std::string out;
    out.reserve(12 + channel.size() + client.size() + connection.size());
    for (const std::string_view part : {channel, client, connection}) {
        const auto n = static_cast<std::uint32_t>(part.size());
        char len[sizeof n];
        std::memcpy(len, &n, sizeof n);
        out.append(len, sizeof n);
        out.append(part);
    }
    return out;
}

class MemberHistory {
public:
    MemberHistory(std::size_t per_member, std::size_t max_entries)
        : per_member_(per_member),
          max_slots_(per_member == 0 ? 0 : std::max<std::size_t>(1, max_entries / per_member)) {}

    [[nodiscard]] bool enabled() const noexcept { return per_member_ != 0; }
    [[nodiscard]] std::size_t per_member() const noexcept { return per_member_; }

    /// Called when the store hands out record indexes up to `limit`.
    void reserve_records(std::size_t limit) {
        if (enabled() && slot_of_.size() < limit) slot_of_.resize(limit, kNoIndex);
    }

    /// Appends an entry to the history of `record`, whose key is given by `key()` (called only
    /// when the record has no slot yet). Once a ring is full, no allocation happens here.
    template <class KeyFn>
    void note(std::uint32_t record, KeyFn&& key, std::string_view id, const HistoryFacts& facts) {
        if (!enabled()) return;
        std::uint32_t s = slot_of_[record];
        if (s == kNoIndex) s = attach(record, key());
        Slot& slot = slots_[s];
        slot.touched = true;
        if (slot.ring.size() < per_member_) {
            slot.ring.push_back({std::string(id), facts});
            return;
        }
        HistoryRecord& dst = slot.ring[slot.next];
        dst.id.assign(id);  // reuses the overwritten entry's capacity
        dst.facts = facts;
        slot.next = (slot.next + 1) % static_cast<std::uint32_t>(per_member_);
    }

    /// The record leaves the store: its history stays, found by key from now on.
    void detach(std::uint32_t record) {
        if (!enabled() || slot_of_[record] == kNoIndex) return;
        const std::uint32_t s = slot_of_[record];
        slot_of_[record] = kNoIndex;
        slots_[s].record = kNoIndex;
        detached_[slots_[s].key] = s;
    }

    /// The entries of `record` (kNoIndex: look up the detached history of `key`), oldest first.
    [[nodiscard]] std::vector<const HistoryRecord*> entries(std::uint32_t record,
                                                            const std::string& key) const {
        std::vector<const HistoryRecord*> out;
        if (!enabled()) return out;
        std::uint32_t s = record == kNoIndex ? kNoIndex : slot_of_[record];
        if (s == kNoIndex) {
            const auto it = detached_.find(key);
            if (it == detached_.end()) return out;
            s = it->second;
        }
        const Slot& slot = slots_[s];
        const std::size_t n = slot.ring.size();
        const std::size_t start = n < per_member_ ? 0 : slot.next;
        for (std::size_t k = 0; k < n; ++k) out.push_back(&slot.ring[(start + k) % n]);
        return out;
    }

    [[nodiscard]] std::size_t slots() const noexcept { return slots_.size(); }

private:
    struct Slot {
        std::string key;
        std::vector<HistoryRecord> ring;
        std::uint32_t next = 0;  // oldest entry once the ring is full
        std::uint32_t record = kNoIndex;
        bool touched = false;
    };

    std::uint32_t attach(std::uint32_t record, std::string key) {
        std::uint32_t s = kNoIndex;
        if (!detached_.empty()) {
            if (const auto it = detached_.find(key); it != detached_.end()) {
                s = it->second;
                detached_.erase(it);
            }
        }
        if (s == kNoIndex) {
            s = take_slot();
            Slot& fresh = slots_[s];
            fresh.key = std::move(key);
            fresh.ring.clear();
            fresh.next = 0;
        }
        slots_[s].record = record;
        slot_of_[record] = s;
        return s;
    }

    std::uint32_t take_slot() {
        if (slots_.size() < max_slots_) {
            slots_.emplace_back();
            return static_cast<std::uint32_t>(slots_.size() - 1);
        }
        // CLOCK: a slot touched since the hand last passed gets a second chance.
        for (;;) {
            Slot& slot = slots_[hand_];
            const auto s = static_cast<std::uint32_t>(hand_);
            hand_ = (hand_ + 1) % slots_.size();
            if (slot.touched) {
                slot.touched = false;
                continue;
            }
            if (slot.record != kNoIndex) {
                slot_of_[slot.record] = kNoIndex;
            } else {
                detached_.erase(slot.key);
            }
            return s;
        }
    }

    std::size_t per_member_;
    std::size_t max_slots_;
    std::vector<std::uint32_t> slot_of_;  // by record index
    std::vector<Slot> slots_;
    std::unordered_map<std::string, std::uint32_t> detached_;
    std::size_t hand_ = 0;
};

}  // namespace presenceagg::detail

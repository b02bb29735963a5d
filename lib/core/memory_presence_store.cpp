// SPDX-License-Identifier: MIT
// MemoryPresenceStore: the default PresenceStore.
//
// Layout, chosen for apply() throughput and a small per-member footprint:
//  - channel, clientId and connectionId strings are interned (InternPool), refcounted by the
//    records that use them; a member record holds their three 32-bit ids, which carry the
//    per-channel, per-client and per-connection counts and the canonical sort order;
//  - member records live in fixed-size chunks (stable addresses, no reallocation spikes) and are
//    found through an open-addressing IndexTable keyed by a hash of the three strings;
//  - each record owns one buffer (MemberText) holding its key strings, message id and rendered
//    leaf JSON: a lookup is confirmed exactly from that one block, so applying to an existing
//    member touches three cache lines (table slot, record, buffer) and no intern pool; visit()
//    and take_changes() splice the leaf bytes; an update reuses the buffer;
//  - present members of a channel form an intrusive list (for replace_channel());
//  - content hashes are kept incrementally, each record caching the FNV state of its identity;
//    an apply only flags what changed (member, channel leaf, totals) and the FNV work is folded
//    in at the next take_changes(), visit() or hash(), once per changed member;
//  - an apply hashes the key triple once, prefetches the table slot, and renders the leaf while
//    that cache line arrives;
//  - explain() history lives in a side table (MemberHistory), only when enabled;
//  - tombstones sit in a FIFO keyed by the highest event time when they were made (which never
//    decreases), so expiry and the cap pop from the front: amortised O(1) per apply. Event time
//    is the highest timestamp of any applied message;
//  - changed members and channels are queued once each (a dirty flag) for take_changes().
// Canonical order for visit() is computed at visit time (string ranks, then an integer sort) and
// cached until the set of present members changes.

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>

#include <presenceagg/error.hpp>
#include <presenceagg/presence_store.hpp>

#include "core/index_table.hpp"
#include "core/intern_pool.hpp"
#include "core/member_history.hpp"
#include "core/member_text.hpp"
#include "core/message_version.hpp"
#include "wire/content_hash.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::detail {
namespace {

// FNV-1a steps identical to content_hash.hpp's Fnv1a64, but resumable from a saved state so a
// member's identity is hashed once, not on every apply.
constexpr std::uint64_t fnv_bytes(std::uint64_t h, std::string_view s) noexcept {
    for (const char ch : s) {
        h ^= static_cast<unsigned char>(ch);
        h *= kFnvPrime;
    }
    return h;
}
constexpr std::uint64_t fnv_field(std::uint64_t h, std::string_view s) noexcept {
    return fnv_bytes(h, s) * kFnvPrime;  // the NUL separator: h ^= 0 is a no-op
}
std::uint64_t fnv_field(std::uint64_t h, std::int64_t v) noexcept {
    char buf[24];
    char* end = buf + sizeof buf;
    char* p = end;
    const bool neg = v < 0;
    std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    do {
        *--p = static_cast<char>('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (neg) *--p = '-';
    return fnv_field(h, std::string_view(p, static_cast<std::size_t>(end - p)));
}

/// Whether JSON needs no escape in `s` (no control byte, '"' or '\\'), 8 bytes per step.
bool json_plain(std::string_view s) noexcept {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    // A high bit per byte that is below 0x20 or equal to '"' or '\\' (exact as a whole).
    const auto special = [](std::uint64_t w) {
        const std::uint64_t quote = w ^ (kOnes * '"');
        const std::uint64_t slash = w ^ (kOnes * '\\');
        return (((w - kOnes * 0x20) | (quote - kOnes) | (slash - kOnes)) & ~w & kHigh);
    };
    const char* p = s.data();
    std::size_t n = s.size();
    std::uint64_t found = 0;
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        found |= special(w);
    }
    for (; n > 0; ++p, --n) {
        const auto c = static_cast<unsigned char>(*p);
        if (c < 0x20 || c == '"' || c == '\\') return false;
    }
    return found == 0;
}

/// append_json_string() with a fast path for the usual case: nothing to escape.
void append_string_fast(std::string& out, std::string_view s) {
    if (!json_plain(s)) {
        append_json_string(out, s);
        return;
    }
    out.push_back('"');
    out.append(s);
    out.push_back('"');
}

/// Writes append_json_int()'s text at `out` (room for 20 characters); returns its end.
char* write_int(char* out, std::int64_t v) noexcept {
    static constexpr char kPairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char buf[24];
    char* const end = buf + sizeof buf;
    char* p = end;
    const bool neg = v < 0;
    std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    while (u >= 100) {
        const std::uint64_t r = u % 100;
        u /= 100;
        p -= 2;
        std::memcpy(p, kPairs + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        std::memcpy(p, kPairs + 2 * u, 2);
    } else {
        *--p = static_cast<char>('0' + u);
    }
    if (neg) *--p = '-';
    const auto n = static_cast<std::size_t>(end - p);
    std::memcpy(out, p, n);
    return out + n;
}

void append_int_fast(std::string& out, std::int64_t v) {
    char buf[24];
    out.append(buf, static_cast<std::size_t>(write_int(buf, v) - buf));
}

/// Per-channel bookkeeping, kept in the channel pool entry.
struct ChannelInfo {
    std::uint32_t head = kNoIndex;  // first present member (intrusive list)
    std::uint32_t members = 0;
    std::uint32_t reported_members = 0;  // as of the last take_changes()
    bool suspect = false;
    bool reported_suspect = false;
    bool dirty = false;  // queued in dirty_channels_ (holding a reference)
    bool prefix_ready = false;
    bool hash_stale = false;         // leaf_hash not yet folded for members/suspect now
    std::uint64_t count_prefix = 0;  // FNV state after "channels" NUL name NUL
    std::uint64_t leaf_hash = 0;     // this channel's share of the counts hash (0: no leaf)
};

/// Per-clientId / per-connectionId bookkeeping.
struct Tally {
    std::uint32_t present = 0;  // present members using this string
};

enum MemberFlag : std::uint16_t {
    kPresent = 1U << 0,
    kTombstone = 1U << 1,
    kDirty = 1U << 2,      // queued in dirty_ since the last take
    kReported = 1U << 3,   // present as of the last take_changes()
    kDetached = 1U << 4,   // purged or cleared, kept only to report its removal
    kOrdered = 1U << 5,    // serial/index are valid (MessageVersion::ordered)
    kMark = 1U << 6,       // scratch bit for de-duplicating dirty_
    kHashStale = 1U << 7,  // present, hash_or_key not yet updated for the current version
    // Present at some moment since the last take. A snapshot taken between two takes may show
    // such a member, so the next take reports it even when it is gone again (as a removal).
    kSeenPresent = 1U << 8,
};

/// One member or tombstone: 80 bytes plus its MemberText block.
struct Member {
    // What an apply to a known member reads and writes comes first (bytes 0..41), so that with
    // the 80-byte stride half of the records keep it within one cache line.
    MemberText text;  // key strings, message id, leaf JSON (no leaf for tombstones)
    std::int64_t timestamp = 0;
    std::uint64_t serial = 0;
    std::uint64_t index = 0;
    std::uint64_t last_seq = 0;  // sequence() of the last change applied to it
    std::uint16_t flags = 0;
    std::uint32_t channel = kNoIndex;
    std::uint32_t connection = kNoIndex;
    std::uint32_t client = kNoIndex;
    std::uint32_t prev = kNoIndex;  // channel list
    std::uint32_t next = kNoIndex;
    // Present: this member's share of the member hash. Tombstone: the FIFO key it was queued
    // with (event time), to tell its newest FIFO entry from outdated ones.
    std::uint64_t hash_or_key = 0;
    std::uint64_t identity_hash = 0;  // FNV state after channel NUL clientId NUL connectionId NUL

    [[nodiscard]] bool in_use() const noexcept { return channel != kNoIndex; }
    [[nodiscard]] bool has(MemberFlag f) const noexcept { return (flags & f) != 0; }
    void set(MemberFlag f) noexcept { flags = static_cast<std::uint16_t>(flags | f); }
    void unset(MemberFlag f) noexcept { flags = static_cast<std::uint16_t>(flags & ~f); }
    [[nodiscard]] std::string_view id() const noexcept { return text.id(); }
    [[nodiscard]] std::string_view leaf() const noexcept { return text.leaf(); }
    [[nodiscard]] MessageVersion version() const noexcept {
        return {serial, index, timestamp, has(kOrdered)};
    }
};

static_assert(sizeof(Member) <= 80, "member records are kept compact on purpose");

/// What explain() reports about a channel's verification; kept apart from ChannelInfo because a
/// channel's pool entry goes when its last member does.
struct ChannelAudit {
    bool verified = false;
    std::optional<std::int64_t> verified_at;
    std::uint64_t verified_sequence = 0;
    std::optional<std::int64_t> suspect_since;
};

struct TombstoneEntry {
    std::uint32_t record;
    std::int64_t key;
};

// Larger inputs are refused rather than risk 32-bit length overflow; decoders bound far lower.
constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 28;
constexpr unsigned kChunkBits = 12;
constexpr std::uint32_t kChunkSize = 1U << kChunkBits;

constexpr std::array<std::string_view, 4> kTotalNames = {"channels", "clients", "connections",
                                                         "members"};

/// Table placement of a member (exactness comes from comparing the strings themselves).
[[nodiscard]] inline std::uint64_t member_key_hash(std::string_view channel,
                                                   std::string_view client,
                                                   std::string_view connection) noexcept {
    return hash_key3(channel, client, connection);
}

class MemoryPresenceStore final : public PresenceStore {
public:
    explicit MemoryPresenceStore(MemoryPresenceStoreConfig config)
        : config_(std::move(config)),
          retention_ms_(static_cast<std::uint64_t>(config_.tombstone_retention.count())),
          history_(config_.explain_history, config_.explain_max_entries) {
        for (std::size_t i = 0; i < kTotalNames.size(); ++i) {
            total_prefix_[i] = fnv_field(fnv_field(kFnvOffset, "totals"), kTotalNames[i]);
            total_hash_[i] = fnv_field(total_prefix_[i], std::int64_t{0});
            counts_hash_ += total_hash_[i];
        }
    }

    ApplyOutcome apply(const PresenceMessage& message) override {
        const std::lock_guard lock(mutex_);
        std::uint32_t record = kNoIndex;
        const ApplyOutcome outcome = apply_locked(message, message.channel, record, false);
        purge_tombstones();
        return outcome;
    }

    std::size_t replace_channel(std::string_view channel,
                                std::span<const PresenceMessage> members,
                                std::uint64_t since) override {
        const std::lock_guard lock(mutex_);
        ++resyncs_;
        std::vector<std::uint32_t> listed;
        listed.reserve(members.size());
        for (const PresenceMessage& m : members) {
            std::uint32_t record = kNoIndex;
            if (apply_locked(m, channel, record, true) != ApplyOutcome::Rejected) {
                listed.push_back(record);
            }
        }
        std::sort(listed.begin(), listed.end());
        std::vector<std::uint32_t> removed;
        if (const std::uint32_t ch = channels_.find(channel); ch != kNoIndex) {
            for (std::uint32_t i = channels_[ch].extra.head; i != kNoIndex; i = rec(i).next) {
                if (rec(i).last_seq <= since &&
                    !std::binary_search(listed.begin(), listed.end(), i)) {
                    removed.push_back(i);
                }
            }
        }
        for (const std::uint32_t i : removed) {
            make_tombstone(i);
            note_event(i, MemberEvent::ResyncRemoved, HistoryRule::ResyncRemoved);
        }
        resync_removed_ += removed.size();
        purge_tombstones();
        ChannelAudit& audit = audit_for(channel);
        audit.verified = true;
        audit.verified_at = event_time();
        audit.verified_sequence = sequence_;
        if (!removed.empty() && config_.log.enabled(LogLevel::Debug)) {
            config_.log.log(
                LogLevel::Debug, "store", "resync removed unlisted members",
                {{"channel", std::string(channel)}, {"removed", std::to_string(removed.size())}});
        }
        return removed.size();
    }

    [[nodiscard]] std::uint64_t sequence() const override {
        const std::lock_guard lock(mutex_);
        return sequence_;
    }

    [[nodiscard]] std::size_t channel_members(std::string_view channel) const override {
        const std::lock_guard lock(mutex_);
        const std::uint32_t ch = channels_.find(channel);
        return ch == kNoIndex ? 0 : channels_[ch].extra.members;
    }

    [[nodiscard]] std::vector<std::string> channels() const override {
        const std::lock_guard lock(mutex_);
        std::vector<std::string> names;
        names.reserve(total_channels_);
        for (std::uint32_t id = 0; id < channels_.id_limit(); ++id) {
            if (channels_.is_live(id) && channels_[id].extra.members > 0) {
                names.emplace_back(channels_.name(id));
            }
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    void clear() override {
        const std::lock_guard lock(mutex_);
        const std::size_t had = total_members_;
        for (std::uint32_t i = 0; i < record_limit_; ++i) {
            Member& m = rec(i);
            if (!m.in_use() || m.has(kDetached)) continue;
            note_event(i, MemberEvent::Cleared, HistoryRule::Cleared);
            history_.detach(i);
            if (m.has(kReported) || m.has(kSeenPresent)) {
                // Present at the last take or since: kept (detached) until the next take
                // reports it gone.
                mark_dirty(i);
                m.flags = static_cast<std::uint16_t>(
                    (m.flags & (kDirty | kReported | kSeenPresent)) | kDetached);
                m.prev = m.next = kNoIndex;
                m.text.release();
            } else {
                free_record(i);
            }
        }
        members_index_.clear();
        tombstone_fifo_.clear();
        tombstones_ = 0;
        member_hash_ = 0;
        stale_hashes_ = 0;
        for (std::uint32_t id = 0; id < channels_.id_limit(); ++id) {
            if (!channels_.is_live(id)) continue;
            ChannelInfo& c = channels_[id].extra;
            const bool was_suspect = c.suspect;
            c.head = kNoIndex;
            c.members = 0;
            c.suspect = false;
            update_channel_leaf(id);  // queued with its own reference; take reports real changes
            if (was_suspect) channels_.release(id);
        }
        for (auto* pool : {&clients_, &connections_}) {
            for (std::uint32_t id = 0; id < pool->id_limit(); ++id) {
                if (pool->is_live(id)) (*pool)[id].extra.present = 0;
            }
        }
        total_members_ = total_clients_ = total_connections_ = total_channels_ = 0;
        update_totals();
        ++structure_version_;
        if (config_.log.enabled(LogLevel::Info)) {
            config_.log.log(LogLevel::Info, "store", "cleared", {{"members", std::to_string(had)}});
        }
    }

    void set_suspect(std::string_view channel, bool suspect) override {
        if (channel.empty()) return;
        const std::lock_guard lock(mutex_);
        if (suspect) {
            const std::uint32_t ch = channels_.acquire(channel);  // the suspect flag's reference
            if (channels_[ch].extra.suspect) {
                channels_.release(ch);
                return;
            }
            channels_[ch].extra.suspect = true;
            audit_for(channel).suspect_since = event_time();
            update_channel_leaf(ch);
        } else {
            const std::uint32_t ch = channels_.find(channel);
            if (ch == kNoIndex || !channels_[ch].extra.suspect) return;
            channels_[ch].extra.suspect = false;
            update_channel_leaf(ch);
            channels_.release(ch);
        }
    }

    [[nodiscard]] Counts counts() const override {
        const std::lock_guard lock(mutex_);
        return counts_locked();
    }

    [[nodiscard]] StoreStats stats() const override {
        const std::lock_guard lock(mutex_);
        StoreStats s;
        s.applied = applied_;
        s.duplicate = duplicate_;
        s.stale = stale_;
        s.rejected = rejected_;
        s.tombstones = tombstones_;
        s.pending_changes = dirty_count_;
        s.resyncs = resyncs_;
        s.resync_removed = resync_removed_;
        return s;
    }

    [[nodiscard]] ChangeSet take_changes() override {
        const std::lock_guard lock(mutex_);
        fold_hashes();
        ChangeSet cs;
        take_member_changes(cs.members);
        take_channel_changes(cs.channels);
        cs.totals = counts_locked();
        // Like member and channel leaves, totals that moved and came back are reported.
        cs.totals_changed = totals_touched_ || cs.totals != reported_totals_;
        totals_touched_ = false;
        reported_totals_ = cs.totals;
        cs.member_hash = member_hash_;
        cs.counts_hash = counts_hash_;
        return cs;
    }

    std::uint64_t visit(View view, const LeafVisitor& visitor) const override {
        const std::lock_guard lock(mutex_);
        fold_hashes();
        if (view == View::Counts) {
            visit_counts(visitor);
            return counts_hash_;
        }
        visit_members(view, visitor);
        return member_hash_;
    }

    [[nodiscard]] std::uint64_t hash(View view) const override {
        const std::lock_guard lock(mutex_);
        fold_hashes();
        return view == View::Counts ? counts_hash_ : member_hash_;
    }

    [[nodiscard]] MemberExplanation explain(const MemberKey& key) const override {
        const std::lock_guard lock(mutex_);
        MemberExplanation e;
        e.key = key;
        e.supported = true;
        e.history_limit = history_.per_member();
        e.event_time = event_time();
        std::uint32_t i = kNoIndex;
        if (!key.channel.empty() && !key.client_id.empty() && !key.connection_id.empty()) {
            i = find_member(key.channel, key.client_id, key.connection_id,
                            member_key_hash(key.channel, key.client_id, key.connection_id));
        }
        if (i != kNoIndex) {
            const Member& m = rec(i);
            e.present = m.has(kPresent);
            if (e.present) e.leaf = std::string(m.leaf());
            e.id = m.id();
            e.timestamp = m.timestamp;
            if (m.has(kTombstone)) {
                e.tombstone = true;
                const auto made = static_cast<std::int64_t>(m.hash_or_key);
                const auto keep = static_cast<std::int64_t>(retention_ms_);
                e.tombstone_until = made > std::numeric_limits<std::int64_t>::max() - keep
                                        ? std::numeric_limits<std::int64_t>::max()
                                        : made + keep;
            }
        }
        if (const std::uint32_t ch = channels_.find(key.channel); ch != kNoIndex) {
            e.channel_suspect = channels_[ch].extra.suspect;
        }
        if (const auto it = channel_audit_.find(key.channel); it != channel_audit_.end()) {
            e.channel_verified = it->second.verified;
            e.channel_verified_at = it->second.verified_at;
            e.channel_verified_sequence = it->second.verified_sequence;
            e.channel_suspect_since = it->second.suspect_since;
        }
        const std::string encoded =
            i == kNoIndex ? encode_member_key(key.channel, key.client_id, key.connection_id)
                          : std::string();
        for (const HistoryRecord* r : history_.entries(i, encoded)) {
            MemberHistoryEntry out;
            out.event = r->facts.event;
            out.sequence = r->facts.sequence;
            out.id = r->id;
            out.action = r->facts.action;
            out.timestamp = r->facts.timestamp;
            out.outcome = r->facts.outcome;
            out.rule = rule_text(r->facts.rule);
            e.history.push_back(std::move(out));
        }
        return e;
    }

private:
    using ChannelPool = InternPool<ChannelInfo>;
    using TallyPool = InternPool<Tally>;

    // ---- records --------------------------------------------------------------------------

    [[nodiscard]] Member& rec(std::uint32_t i) noexcept {
        return chunks_[i >> kChunkBits][i & (kChunkSize - 1)];
    }
    [[nodiscard]] const Member& rec(std::uint32_t i) const noexcept {
        return chunks_[i >> kChunkBits][i & (kChunkSize - 1)];
    }

    std::uint32_t new_record() {
        if (!free_records_.empty()) {
            const std::uint32_t i = free_records_.back();
            free_records_.pop_back();
            return i;
        }
        if (record_limit_ == chunks_.size() * kChunkSize) {
            chunks_.push_back(std::make_unique<Member[]>(kChunkSize));
            history_.reserve_records(chunks_.size() * kChunkSize);
        }
        return record_limit_++;
    }

    void free_record(std::uint32_t i) {
        history_.detach(i);  // normally done already, when the record left the index
        Member& m = rec(i);
        if (m.has(kDirty)) --dirty_count_;  // its dirty_ entry goes stale and is skipped
        channels_.release(m.channel);
        clients_.release(m.client);
        connections_.release(m.connection);
        m = Member{};
        free_records_.push_back(i);
    }

    /// Removes a record from the member index (its text still holds the key).
    void unindex(std::uint32_t i) noexcept {
        const Member& m = rec(i);
        const std::uint64_t h =
            member_key_hash(m.text.channel(), m.text.client(), m.text.connection());
        members_index_.erase(h, i);
    }

    // ---- apply ----------------------------------------------------------------------------

    [[nodiscard]] std::uint32_t find_member(std::string_view channel,
                                            std::string_view client,
                                            std::string_view connection,
                                            std::uint64_t key_hash) const {
        return members_index_.find(key_hash, [&](std::uint32_t r) {
            return rec(r).text.key_equals(channel, client, connection);
        });
    }

    [[nodiscard]] std::optional<std::int64_t> event_time() const noexcept {
        if (max_timestamp_ == std::numeric_limits<std::int64_t>::min()) return std::nullopt;
        return max_timestamp_;
    }

    ChannelAudit& audit_for(std::string_view channel) {
        const auto it = channel_audit_.find(channel);
        if (it != channel_audit_.end()) return it->second;
        return channel_audit_.emplace(std::string(channel), ChannelAudit{}).first->second;
    }

    // ---- explain history ------------------------------------------------------------------

    /// Which RTP2b rule decides between `incoming` (id `in_id`) and the known record.
    [[nodiscard]] static HistoryRule comparison_rule(const MessageVersion& incoming,
                                                     std::string_view in_id,
                                                     const Member& known,
                                                     std::string_view connection) noexcept {
        if (incoming.ordered && known.has(kOrdered)) {
            if (incoming.serial != known.serial) {
                return incoming.serial > known.serial ? HistoryRule::SerialNewer
                                                      : HistoryRule::SerialOlder;
            }
            if (incoming.index != known.index) {
                return incoming.index > known.index ? HistoryRule::SerialNewer
                                                    : HistoryRule::SerialOlder;
            }
            return HistoryRule::SerialEqual;
        }
        // Unordered is either synthesized (not the connection's own id) or unparsable.
        const bool synthesized = (!incoming.ordered && !in_id.starts_with(connection)) ||
                                 (!known.has(kOrdered) && !known.id().starts_with(connection));
        if (incoming.timestamp > known.timestamp) {
            return synthesized ? HistoryRule::SynthesizedNewer : HistoryRule::UnparsableNewer;
        }
        if (incoming.timestamp < known.timestamp) {
            return synthesized ? HistoryRule::SynthesizedOlder : HistoryRule::UnparsableOlder;
        }
        return synthesized ? HistoryRule::SynthesizedEqual : HistoryRule::UnparsableEqual;
    }

    void note_message(std::uint32_t i,
                      const PresenceMessage& msg,
                      bool via_resync,
                      ApplyOutcome outcome,
                      HistoryRule rule) {
        HistoryFacts facts;
        facts.timestamp = msg.timestamp;
        facts.sequence = sequence_;
        facts.event = via_resync ? MemberEvent::ResyncMessage : MemberEvent::Message;
        facts.action = msg.action;
        facts.outcome = outcome;
        facts.rule = rule;
        const auto key = [&] { return record_key(i); };
        history_.note(i, key, msg.id, facts);
    }

    void note_event(std::uint32_t i, MemberEvent event, HistoryRule rule) {
        if (!history_.enabled()) return;
        HistoryFacts facts;
        facts.timestamp = max_timestamp_;
        facts.sequence = sequence_;
        facts.event = event;
        facts.action = PresenceAction::Leave;
        facts.rule = rule;
        const auto key = [&] { return record_key(i); };
        history_.note(i, key, rec(i).id(), facts);
    }

    [[nodiscard]] std::string record_key(std::uint32_t i) const {
        const MemberText& t = rec(i).text;
        return encode_member_key(t.channel(), t.client(), t.connection());
    }

    ApplyOutcome apply_locked(const PresenceMessage& msg,
                              std::string_view channel,
                              std::uint32_t& record,
                              bool via_resync) {
        if (channel.empty() || msg.client_id.empty() || msg.connection_id.empty() ||
            channel.size() + msg.client_id.size() + msg.connection_id.size() + msg.id.size() +
                    msg.data.size() + msg.encoding.size() + msg.extras.size() >
                kMaxMessageBytes) {
            ++rejected_;
            return ApplyOutcome::Rejected;
        }
        // The table slot is fetched while the id is parsed and the leaf rendered (work that an
        // applied message needs anyway); lookups are mostly cache misses on large stores.
        const std::uint64_t key_hash = member_key_hash(channel, msg.client_id, msg.connection_id);
        members_index_.prefetch(key_hash);
        const MessageVersion version =
            parse_message_version(msg.id, msg.connection_id, msg.timestamp);
        const std::string_view leaf =
            means_present(msg.action) ? render_leaf(msg) : std::string_view();
        std::uint32_t i = find_member(channel, msg.client_id, msg.connection_id, key_hash);
        const bool known = i != kNoIndex;
        HistoryRule rule = HistoryRule::NoPrevious;
        if (known) {
            record = i;
            const Member& existing = rec(i);
            // An empty id identifies nothing, so it is never a duplicate.
            if (!msg.id.empty() && existing.id() == msg.id) {
                ++duplicate_;
                if (history_.enabled()) {
                    note_message(i, msg, via_resync, ApplyOutcome::Duplicate, HistoryRule::SameId);
                }
                return ApplyOutcome::Duplicate;
            }
            if (history_.enabled()) {
                rule = comparison_rule(version, msg.id, existing, msg.connection_id);
            }
            if (!is_newer(version, existing.version())) {
                ++stale_;
                if (history_.enabled()) note_message(i, msg, via_resync, ApplyOutcome::Stale, rule);
                return ApplyOutcome::Stale;
            }
        } else {
            i = new_record();
            Member& m = rec(i);
            m.channel = channels_.acquire(channel);
            m.client = clients_.acquire(msg.client_id);
            m.connection = connections_.acquire(msg.connection_id);
            m.identity_hash = fnv_field(fnv_field(fnv_field(kFnvOffset, channel), msg.client_id),
                                        msg.connection_id);
            members_index_.insert(key_hash, i);
            record = i;
        }

        // Event time advances only with applied messages: a duplicate or stale one carries no
        // newer information, and must not expire the very tombstone that made it stale.
        max_timestamp_ = std::max(max_timestamp_, msg.timestamp);
        ++applied_;
        Member& m = rec(i);
        m.last_seq = ++sequence_;
        m.timestamp = msg.timestamp;
        m.serial = version.serial;
        m.index = version.index;
        if (version.ordered) {
            m.set(kOrdered);
        } else {
            m.unset(kOrdered);
        }
        if (known) {
            m.text.set_version(msg.id, leaf);
        } else {
            m.text.assign(channel, msg.client_id, msg.connection_id, msg.id, leaf);
        }
        if (means_present(msg.action)) {
            if (!m.has(kPresent)) {
                become_present(i);
                m.hash_or_key = 0;  // its share of member_hash_ until folded
            }
            mark_hash_stale(i);
            mark_dirty(i);
        } else {
            make_tombstone(i);
        }
        if (history_.enabled()) note_message(i, msg, via_resync, ApplyOutcome::Applied, rule);
        return ApplyOutcome::Applied;
    }

    std::string_view render_leaf(const PresenceMessage& msg) {
        using namespace std::string_view_literals;
        std::string& out = leaf_scratch_;
        out.clear();
        if (msg.encoding.empty() && msg.extras.empty() && json_plain(msg.id)) {
            // The common shape, written in place: {"data":D,"id":"I","timestamp":T}
            constexpr std::string_view kData = "{\"data\":";
            constexpr std::string_view kId = ",\"id\":\"";
            constexpr std::string_view kTimestamp = "\",\"timestamp\":";
            const std::string_view data = msg.data.empty() ? "null"sv : std::string_view(msg.data);
            out.resize(kData.size() + data.size() + kId.size() + msg.id.size() + kTimestamp.size() +
                       21);
            char* p = out.data();
            for (const std::string_view part :
                 {kData, data, kId, std::string_view(msg.id), kTimestamp}) {
                std::memcpy(p, part.data(), part.size());
                p += part.size();
            }
            p = write_int(p, msg.timestamp);
            *p++ = '}';
            out.resize(static_cast<std::size_t>(p - out.data()));
            return out;
        }
        out += "{\"data\":"sv;
        out += msg.data.empty() ? "null"sv : std::string_view(msg.data);
        if (!msg.encoding.empty()) {
            out += ",\"encoding\":"sv;
            append_string_fast(out, msg.encoding);
        }
        if (!msg.extras.empty()) {
            out += ",\"extras\":"sv;
            out += msg.extras;
        }
        out += ",\"id\":"sv;
        append_string_fast(out, msg.id);
        out += ",\"timestamp\":"sv;
        append_int_fast(out, msg.timestamp);
        out.push_back('}');
        return out;
    }

    void become_present(std::uint32_t i) {
        Member& m = rec(i);
        if (m.has(kTombstone)) {
            m.unset(kTombstone);
            --tombstones_;
        }
        m.set(kPresent);
        m.set(kSeenPresent);
        ChannelInfo& c = channels_[m.channel].extra;
        m.prev = kNoIndex;
        m.next = c.head;
        if (c.head != kNoIndex) rec(c.head).prev = i;
        c.head = i;
        if (c.members++ == 0) ++total_channels_;
        if (clients_[m.client].extra.present++ == 0) ++total_clients_;
        if (connections_[m.connection].extra.present++ == 0) ++total_connections_;
        ++total_members_;
        update_channel_leaf(m.channel);
        update_totals();
        ++structure_version_;
    }

    /// Present or not, the record becomes a tombstone queued at the current event time. Its
    /// buffer keeps the message id (for duplicate detection); the leaf is dropped.
    void make_tombstone(std::uint32_t i) {
        Member& m = rec(i);
        if (m.has(kPresent)) {
            member_hash_ -= m.hash_or_key;  // the folded share, current or not
            m.unset(kPresent);
            if (m.has(kHashStale)) {
                m.unset(kHashStale);
                --stale_hashes_;
            }
            m.text.drop_leaf();
            ChannelInfo& c = channels_[m.channel].extra;
            if (m.prev != kNoIndex) {
                rec(m.prev).next = m.next;
            } else {
                c.head = m.next;
            }
            if (m.next != kNoIndex) rec(m.next).prev = m.prev;
            m.prev = m.next = kNoIndex;
            if (--c.members == 0) --total_channels_;
            if (--clients_[m.client].extra.present == 0) --total_clients_;
            if (--connections_[m.connection].extra.present == 0) --total_connections_;
            --total_members_;
            update_channel_leaf(m.channel);
            update_totals();
            ++structure_version_;
            mark_dirty(i);
        }
        if (!m.has(kTombstone)) {
            m.set(kTombstone);
            ++tombstones_;
        }
        m.hash_or_key = static_cast<std::uint64_t>(max_timestamp_);
        tombstone_fifo_.push_back({i, max_timestamp_});
        if (tombstone_fifo_.size() > 2 * tombstones_ + 1024) compact_tombstone_fifo();
    }

    [[nodiscard]] bool is_current(const TombstoneEntry& e) const noexcept {
        const Member& m = rec(e.record);
        return m.in_use() && m.has(kTombstone) &&
               m.hash_or_key == static_cast<std::uint64_t>(e.key);
    }

    [[nodiscard]] bool expired(std::int64_t key) const noexcept {
        // Unsigned difference: exact for any two int64 values with key < max.
        return key<max_timestamp_&& static_cast<std::uint64_t>(max_timestamp_) -
                   static_cast<std::uint64_t>(key)>
            retention_ms_;
    }

    /// Drops tombstones older than the retention or beyond the cap, oldest first.
    void purge_tombstones() {
        while (!tombstone_fifo_.empty()) {
            const TombstoneEntry e = tombstone_fifo_.front();
            const bool current = is_current(e);
            if (current && !expired(e.key) && tombstones_ <= config_.max_tombstones) break;
            tombstone_fifo_.pop_front();
            if (current) purge(e.record, expired(e.key));
        }
    }

    void purge(std::uint32_t i, bool expired) {
        note_event(i, expired ? MemberEvent::TombstoneExpired : MemberEvent::TombstoneEvicted,
                   expired ? HistoryRule::TombstoneExpired : HistoryRule::TombstoneEvicted);
        history_.detach(i);
        unindex(i);
        Member& m = rec(i);
        m.unset(kTombstone);
        --tombstones_;
        if (m.has(kReported) || m.has(kSeenPresent)) {
            // Present at the last take or since, so the next take must report it gone.
            assert(m.has(kDirty));
            m.set(kDetached);
            m.text.release();
        } else {
            free_record(i);
        }
    }

    void compact_tombstone_fifo() {
        std::deque<TombstoneEntry> kept;
        for (const TombstoneEntry& e : tombstone_fifo_) {
            if (is_current(e)) kept.push_back(e);
        }
        tombstone_fifo_.swap(kept);
    }

    // ---- change tracking and hashes -------------------------------------------------------

    void mark_dirty(std::uint32_t i) {
        Member& m = rec(i);
        if (m.has(kDirty)) return;
        m.set(kDirty);
        dirty_.push_back(i);
        ++dirty_count_;
        if (dirty_.size() > 2 * dirty_count_ + 1024) compact_dirty();
    }

    /// Drops stale entries (records freed or re-queued since) and duplicates.
    void compact_dirty() {
        std::size_t out = 0;
        for (const std::uint32_t i : dirty_) {
            Member& m = rec(i);
            if (!m.has(kDirty) || m.has(kMark)) continue;
            m.set(kMark);
            dirty_[out++] = i;
        }
        dirty_.resize(out);
        for (const std::uint32_t i : dirty_) rec(i).unset(kMark);
    }

    /// Queues the channel's Counts leaf for take_changes() and for the next hash fold.
    void update_channel_leaf(std::uint32_t ch) {
        ChannelInfo& c = channels_[ch].extra;
        c.hash_stale = true;
        if (!c.dirty) {
            c.dirty = true;
            channels_.retain(ch);
            dirty_channels_.push_back(ch);
        }
    }

    void fold_channel_leaf(std::uint32_t ch) {
        ChannelPool::Entry& e = channels_[ch];
        ChannelInfo& c = e.extra;
        if (!c.hash_stale) return;
        c.hash_stale = false;
        if (!c.prefix_ready) {
            c.count_prefix = fnv_field(fnv_field(kFnvOffset, "channels"), e.name);
            c.prefix_ready = true;
        }
        const std::uint64_t h =
            c.members > 0 || c.suspect
                ? fnv_field(fnv_field(c.count_prefix, static_cast<std::int64_t>(c.members)),
                            std::int64_t{c.suspect ? 1 : 0})
                : 0;
        counts_hash_ += h - c.leaf_hash;
        c.leaf_hash = h;
    }

    void update_totals() noexcept {
        totals_stale_ = true;
        totals_touched_ = true;
    }

    /// The caller also marks the member dirty, so dirty_ lists every stale member.
    void mark_hash_stale(std::uint32_t i) {
        Member& m = rec(i);
        if (m.has(kHashStale)) return;
        m.set(kHashStale);
        ++stale_hashes_;
    }

    void fold_member_hashes() {
        if (stale_hashes_ == 0) return;
        for (const std::uint32_t i : dirty_) {
            Member& m = rec(i);
            if (!m.has(kHashStale)) continue;  // not stale, or listed twice
            m.unset(kHashStale);
            const std::uint64_t h = fnv_field(fnv_field(m.identity_hash, m.id()), m.timestamp);
            member_hash_ += h - m.hash_or_key;
            m.hash_or_key = h;
        }
        stale_hashes_ = 0;
    }

    /// Brings member_hash_, counts_hash_ and the totals up to date. Applies only queue work
    /// (one flag and one push per member or channel between two reads), so a member updated many
    /// times between two take_changes() is hashed once, off the apply path.
    void fold_hashes() {
        fold_member_hashes();
        for (const std::uint32_t ch : dirty_channels_) fold_channel_leaf(ch);
        if (totals_stale_) fold_totals();
    }
    /// For const readers: folding changes no observable state (callers hold the lock, and the
    /// store is never a const object).
    void fold_hashes() const { const_cast<MemoryPresenceStore*>(this)->fold_hashes(); }

    void fold_totals() {
        totals_stale_ = false;
        const std::array<std::size_t, 4> values = {total_channels_, total_clients_,
                                                   total_connections_, total_members_};
        for (std::size_t k = 0; k < values.size(); ++k) {
            if (values[k] == total_value_[k]) continue;
            total_value_[k] = values[k];
            const std::uint64_t h =
                fnv_field(total_prefix_[k], static_cast<std::int64_t>(values[k]));
            counts_hash_ += h - total_hash_[k];
            total_hash_[k] = h;
        }
    }

    [[nodiscard]] Counts counts_locked() const noexcept {
        return {total_members_, total_clients_, total_connections_, total_channels_};
    }

    [[nodiscard]] bool key_less(const Member& a, const Member& b) const noexcept {
        if (a.channel != b.channel) return channels_.name(a.channel) < channels_.name(b.channel);
        if (a.client != b.client) return clients_.name(a.client) < clients_.name(b.client);
        return connections_.name(a.connection) < connections_.name(b.connection);
    }
    [[nodiscard]] static bool same_key(const Member& a, const Member& b) noexcept {
        return a.channel == b.channel && a.client == b.client && a.connection == b.connection;
    }

    void take_member_changes(std::vector<MemberChange>& out) {
        std::vector<std::uint32_t> changed;
        changed.reserve(dirty_count_);
        for (const std::uint32_t i : dirty_) {
            Member& m = rec(i);
            if (!m.has(kDirty)) continue;  // stale or repeated entry
            m.unset(kDirty);
            if (m.has(kPresent) || m.has(kReported) || m.has(kSeenPresent)) changed.push_back(i);
            m.unset(kSeenPresent);
        }
        dirty_.clear();
        dirty_count_ = 0;
        // A purged record (detached) and a newer record may share a key: sort them together,
        // detached first, and report the key once with the live record's state.
        std::sort(changed.begin(), changed.end(), [&](std::uint32_t a, std::uint32_t b) {
            const Member& ma = rec(a);
            const Member& mb = rec(b);
            if (!same_key(ma, mb)) return key_less(ma, mb);
            return ma.has(kDetached) && !mb.has(kDetached);
        });
        out.reserve(changed.size());
        for (std::size_t g = 0; g < changed.size();) {
            std::size_t end = g + 1;
            while (end < changed.size() && same_key(rec(changed[g]), rec(changed[end]))) ++end;
            const Member* live = nullptr;
            for (std::size_t k = g; k < end; ++k) {
                if (!rec(changed[k]).has(kDetached)) live = &rec(changed[k]);
            }
            const Member& first = rec(changed[g]);
            MemberChange change;
            change.channel = channels_.name(first.channel);
            change.client_id = clients_.name(first.client);
            change.connection_id = connections_.name(first.connection);
            if (live != nullptr && live->has(kPresent)) change.leaf = std::string(live->leaf());
            out.push_back(std::move(change));
            for (std::size_t k = g; k < end; ++k) {
                Member& m = rec(changed[k]);
                if (m.has(kDetached)) {
                    m.unset(kReported);
                    free_record(changed[k]);
                } else if (m.has(kPresent)) {
                    m.set(kReported);
                } else {
                    m.unset(kReported);
                }
            }
            g = end;
        }
    }

    void take_channel_changes(std::vector<ChannelCountChange>& out) {
        for (const std::uint32_t ch : dirty_channels_) {
            ChannelPool::Entry& e = channels_[ch];
            ChannelInfo& c = e.extra;
            c.dirty = false;
            // Every channel whose leaf moved is reported, even back to its previous value: a
            // snapshot taken in between may show the intermediate one.
            out.push_back({e.name, c.members, c.suspect});
            c.reported_members = c.members;
            c.reported_suspect = c.suspect;
        }
        for (const std::uint32_t ch : dirty_channels_) channels_.release(ch);
        dirty_channels_.clear();
        std::sort(out.begin(), out.end(),
                  [](const ChannelCountChange& a, const ChannelCountChange& b) {
                      return a.channel < b.channel;
                  });
    }

    // ---- visiting -------------------------------------------------------------------------

    struct RankCache {
        std::vector<std::uint32_t> rank;  // by id; meaningful for live ids only
        std::uint64_t generation = std::numeric_limits<std::uint64_t>::max();
    };
    struct OrderCache {
        std::vector<std::uint32_t> records;
        std::uint64_t version = std::numeric_limits<std::uint64_t>::max();
    };

    template <class Pool>
    static const std::vector<std::uint32_t>& ranks(const Pool& pool, RankCache& cache) {
        if (cache.generation == pool.generation()) return cache.rank;
        std::vector<std::uint32_t> ids;
        ids.reserve(pool.live());
        for (std::uint32_t id = 0; id < pool.id_limit(); ++id) {
            if (pool.is_live(id)) ids.push_back(id);
        }
        std::sort(ids.begin(), ids.end(),
                  [&](std::uint32_t a, std::uint32_t b) { return pool.name(a) < pool.name(b); });
        cache.rank.assign(pool.id_limit(), 0);
        for (std::size_t r = 0; r < ids.size(); ++r) {
            cache.rank[ids[r]] = static_cast<std::uint32_t>(r);
        }
        cache.generation = pool.generation();
        return cache.rank;
    }

    /// Present members in the canonical order of `view`, cached until membership changes.
    const std::vector<std::uint32_t>& member_order(View view) const {
        OrderCache& cache = order_cache_[static_cast<std::size_t>(view)];
        if (cache.version == structure_version_) return cache.records;
        const auto& ch_rank = ranks(channels_, rank_cache_[0]);
        const auto& cl_rank = ranks(clients_, rank_cache_[1]);
        const auto& co_rank = ranks(connections_, rank_cache_[2]);
        struct SortKey {
            std::uint32_t a, b, c, record;
        };
        std::vector<SortKey> keys;
        keys.reserve(total_members_);
        for (std::uint32_t i = 0; i < record_limit_; ++i) {
            const Member& m = rec(i);
            if (!m.has(kPresent)) continue;
            const std::uint32_t ch = ch_rank[m.channel];
            const std::uint32_t cl = cl_rank[m.client];
            const std::uint32_t co = co_rank[m.connection];
            switch (view) {
                case View::ByChannel:
                    keys.push_back({ch, cl, co, i});
                    break;
                case View::ByClient:
                    keys.push_back({cl, ch, co, i});
                    break;
                default:
                    keys.push_back({co, cl, ch, i});
                    break;
            }
        }
        std::sort(keys.begin(), keys.end(), [](const SortKey& x, const SortKey& y) {
            return std::tie(x.a, x.b, x.c) < std::tie(y.a, y.b, y.c);
        });
        cache.records.resize(keys.size());
        for (std::size_t k = 0; k < keys.size(); ++k) cache.records[k] = keys[k].record;
        cache.version = structure_version_;
        return cache.records;
    }

    void visit_members(View view, const LeafVisitor& visitor) const {
        std::array<std::string_view, 3> path;
        for (const std::uint32_t i : member_order(view)) {
            const Member& m = rec(i);
            const std::string_view ch = channels_.name(m.channel);
            const std::string_view cl = clients_.name(m.client);
            const std::string_view co = connections_.name(m.connection);
            switch (view) {
                case View::ByChannel:
                    path = {ch, cl, co};
                    break;
                case View::ByClient:
                    path = {cl, ch, co};
                    break;
                default:
                    path = {co, cl, ch};
                    break;
            }
            visitor(path, m.leaf());
        }
    }

    void visit_counts(const LeafVisitor& visitor) const {
        const auto& rank = ranks(channels_, rank_cache_[0]);
        std::vector<std::pair<std::uint32_t, std::uint32_t>> order;  // (rank, id)
        for (std::uint32_t id = 0; id < channels_.id_limit(); ++id) {
            if (!channels_.is_live(id)) continue;
            const ChannelInfo& c = channels_[id].extra;
            if (c.members > 0 || c.suspect) order.emplace_back(rank[id], id);
        }
        std::sort(order.begin(), order.end());
        std::string leaf;
        std::array<std::string_view, 2> path{"channels", {}};
        for (const auto& [r, id] : order) {
            const ChannelInfo& c = channels_[id].extra;
            leaf.assign("{\"members\":");
            append_json_int(leaf, c.members);
            leaf += c.suspect ? ",\"suspect\":true}" : "}";
            path[1] = channels_.name(id);
            visitor(path, leaf);
        }
        path[0] = "totals";
        for (std::size_t k = 0; k < kTotalNames.size(); ++k) {
            leaf.clear();
            append_json_int(leaf, static_cast<std::int64_t>(total_value_[k]));
            path[1] = kTotalNames[k];
            visitor(path, leaf);
        }
    }

    // ---- state ----------------------------------------------------------------------------

    const MemoryPresenceStoreConfig config_;
    const std::uint64_t retention_ms_;
    mutable std::mutex mutex_;

    ChannelPool channels_;
    TallyPool clients_;
    TallyPool connections_;
    std::vector<std::unique_ptr<Member[]>> chunks_;
    std::uint32_t record_limit_ = 0;  // records ever handed out
    std::vector<std::uint32_t> free_records_;
    IndexTable members_index_;

    std::deque<TombstoneEntry> tombstone_fifo_;
    std::size_t tombstones_ = 0;
    std::int64_t max_timestamp_ = std::numeric_limits<std::int64_t>::min();

    std::vector<std::uint32_t> dirty_;
    std::size_t dirty_count_ = 0;
    std::vector<std::uint32_t> dirty_channels_;
    Counts reported_totals_;

    std::size_t total_members_ = 0;
    std::size_t total_clients_ = 0;
    std::size_t total_connections_ = 0;
    std::size_t total_channels_ = 0;
    std::array<std::size_t, 4> total_value_{};
    std::array<std::uint64_t, 4> total_prefix_{};
    std::array<std::uint64_t, 4> total_hash_{};
    std::uint64_t member_hash_ = 0;
    std::uint64_t counts_hash_ = 0;
    std::size_t stale_hashes_ = 0;  // present members (all in dirty_) whose share is not folded
    bool totals_stale_ = false;
    bool totals_touched_ = false;  // totals changed since the last take (even if back again)

    std::uint64_t sequence_ = 0;
    std::uint64_t applied_ = 0;
    std::uint64_t duplicate_ = 0;
    std::uint64_t stale_ = 0;
    std::uint64_t rejected_ = 0;
    std::uint64_t resyncs_ = 0;
    std::uint64_t resync_removed_ = 0;

    MemberHistory history_;
    std::map<std::string, ChannelAudit, std::less<>> channel_audit_;

    std::string leaf_scratch_;
    std::uint64_t structure_version_ = 0;  // bumped whenever the set of present members changes
    mutable std::array<RankCache, 3> rank_cache_;
    mutable std::array<OrderCache, 3> order_cache_;
};

}  // namespace
}  // namespace presenceagg::detail

namespace presenceagg {

std::unique_ptr<PresenceStore> make_memory_presence_store(MemoryPresenceStoreConfig config) {
    if (config.tombstone_retention.count() < 0) {
        throw Error(Errc::InvalidConfig, "tombstone_retention must not be negative");
    }
    return std::make_unique<detail::MemoryPresenceStore>(std::move(config));
}

}  // namespace presenceagg

// SPDX-License-Identifier: MIT
#pragma once

/// `PresenceStore`: the exact picture of who is present, kept by Ably's presence rules (RTP2),
/// and the views published from it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/export.hpp>
#include <presenceagg/logging.hpp>
#include <presenceagg/presence.hpp>

namespace presenceagg {

/// What `PresenceStore::apply` did with one message.
enum class ApplyOutcome : std::uint8_t {
    Applied,    ///< the message is newer than what was known and changed (or confirmed) state
    Duplicate,  ///< the same message (same id) was applied before
    Stale,      ///< an older message than the one known for this member (RTP2b); dropped
    Rejected,   ///< unusable (empty clientId, connectionId or channel); dropped
};
PRESENCEAGG_API std::string_view to_string(ApplyOutcome outcome) noexcept;

/// The published views. Member views are trees of depth 3 whose leaves are members:
///  - ByChannel:    {channel: {clientId: {connectionId: member}}}
///  - ByClient:     {clientId: {channel: {connectionId: member}}}
///  - ByConnection: {connectionId: {clientId: {channel: member}}}
/// Counts is a tree of depth 2:
///  {"channels": {channel: {"members": n[, "suspect": true]}},
///   "totals": {"channels": n, "clients": n, "connections": n, "members": n}}
/// A member leaf is {"data": <json>[, "encoding": "..."][, "extras": {...}], "id": "...",
/// "timestamp": n} (keys sorted). See docs/wire-format.md.
enum class View : std::uint8_t { ByChannel, ByClient, ByConnection, Counts };
inline constexpr View kAllViews[] = {View::ByChannel, View::ByClient, View::ByConnection,
                                     View::Counts};
/// "by-channel", "by-client", "by-connection", "counts".
PRESENCEAGG_API std::string_view to_string(View view) noexcept;
PRESENCEAGG_API std::optional<View> parse_view(std::string_view name) noexcept;
/// 3 for member views, 2 for Counts.
PRESENCEAGG_API std::size_t view_depth(View view) noexcept;

/// Totals over the whole store.
struct Counts {
    std::size_t members = 0;      ///< (channel, connectionId, clientId) present
    std::size_t clients = 0;      ///< distinct clientIds present anywhere
    std::size_t connections = 0;  ///< distinct connectionIds present anywhere
    std::size_t channels = 0;     ///< channels with at least one member

    friend bool operator==(const Counts&, const Counts&) = default;
};

/// One member whose leaf changed since the previous `take_changes()`.
struct MemberChange {
    std::string channel;
    std::string client_id;
    std::string connection_id;
    /// The member leaf's JSON now; nullopt when the member is gone.
    std::optional<std::string> leaf;
};

/// One channel whose Counts leaf changed; `members == 0` and `!suspect` means the leaf is gone.
struct ChannelCountChange {
    std::string channel;
    std::size_t members = 0;
    bool suspect = false;
};

/// Everything that changed since the previous `take_changes()`, coalesced per member: the cost
/// is O(changes), never O(state). Hashes describe the state at the moment of the take. Every
/// leaf touched since the previous take is reported with its value now, even one that came and
/// went or returned to its earlier value: a snapshot (visit) taken between two takes may show
/// the intermediate state, and applying the next ChangeSet to it must give the state now.
struct ChangeSet {
    std::vector<MemberChange> members;
    std::vector<ChannelCountChange> channels;
    bool totals_changed = false;
    Counts totals;
    std::uint64_t member_hash = 0;  ///< content hash of the member views (wire-format.md)
    std::uint64_t counts_hash = 0;  ///< content hash of the Counts view

    [[nodiscard]] bool empty() const noexcept {
        return members.empty() && channels.empty() && !totals_changed;
    }
};

/// Receives the leaves of a view in canonical (sorted) order. `path` has view_depth() elements;
/// `leaf` is the leaf's compact JSON. Views are valid only during the call.
using LeafVisitor =
    std::function<void(std::span<const std::string_view> path, std::string_view leaf)>;

/// The store's bookkeeping figures.
struct StoreStats {
    std::uint64_t applied = 0;
    std::uint64_t duplicate = 0;
    std::uint64_t stale = 0;
    std::uint64_t rejected = 0;
    std::size_t tombstones = 0;
    std::size_t pending_changes = 0;   ///< members dirty since the last take_changes()
    std::uint64_t resyncs = 0;         ///< replace_channel() calls
    std::uint64_t resync_removed = 0;  ///< members removed because a resync did not list them
};

/// What an entry of a member's history records.
enum class MemberEvent : std::uint8_t {
    Message,           ///< a message reached the member through apply()
    ResyncMessage,     ///< a message listed by a resync (replace_channel()) reached the member
    ResyncRemoved,     ///< a resync did not list the member, so it was removed
    TombstoneExpired,  ///< the member's leave was forgotten: older than the tombstone retention
    TombstoneEvicted,  ///< the member's leave was forgotten early: the tombstone cap was reached
    Cleared,           ///< the whole store was cleared
};
/// "message", "resync message", "resync removed", "tombstone expired", "tombstone evicted",
/// "cleared".
PRESENCEAGG_API std::string_view to_string(MemberEvent event) noexcept;

/// One entry of a member's history: a message that reached the member key and what the store
/// decided, or a store event that changed the member.
struct MemberHistoryEntry {
    MemberEvent event = MemberEvent::Message;
    /// sequence() right after the entry (unchanged by a dropped message).
    std::uint64_t sequence = 0;
    /// The message's id, action and timestamp. For the other events: the id of the state that
    /// was removed and the event time when it happened.
    std::string id;
    PresenceAction action = PresenceAction::Present;
    std::int64_t timestamp = 0;
    /// What apply() returned (Message and ResyncMessage; Applied for the other events).
    ApplyOutcome outcome = ApplyOutcome::Applied;
    /// The rule that decided, e.g. "no previous state", "same id", "msgSerial/index newer",
    /// "msgSerial/index older", "synthesized: timestamp equal (incoming wins)",
    /// "unparsable id: timestamp older", "removed by resync", "tombstone expired".
    std::string rule;
};

/// Why a member is (or is not) shown: its state now, the state of its channel and the last
/// messages that reached its key. Event times are the store's clock: the highest timestamp of
/// any applied message (ms since the Unix epoch).
struct MemberExplanation {
    MemberKey key;
    /// False when the store keeps no explanations (PresenceStore's default explain()).
    bool supported = false;
    bool present = false;             ///< shown in the member views now
    std::optional<std::string> leaf;  ///< the member leaf's JSON, when present
    std::string id;                   ///< id of the message that decided the state (if any)
    std::int64_t timestamp = 0;       ///< that message's timestamp
    bool tombstone = false;           ///< a leave is remembered for this member
    /// Event time after which the tombstone expires (it may go earlier under the cap).
    std::optional<std::int64_t> tombstone_until;
    std::optional<std::int64_t> event_time;  ///< the store's event time now (none before any apply)
    bool channel_suspect = false;            ///< the channel is marked suspect now
    /// Whether replace_channel() ever verified the channel; when it did, the event time (none
    /// before any apply) and sequence() right after the last verification.
    bool channel_verified = false;
    std::optional<std::int64_t> channel_verified_at;
    std::uint64_t channel_verified_sequence = 0;
    /// Event time when the channel was last marked suspect.
    std::optional<std::int64_t> channel_suspect_since;
    /// The most entries kept per member (0: history disabled, see MemoryPresenceStoreConfig).
    std::size_t history_limit = 0;
    /// Oldest first; at most history_limit entries, possibly fewer when older ones were dropped.
    std::vector<MemberHistoryEntry> history;
};

/// Human-readable, multi-line (ends with a newline).
[[nodiscard]] PRESENCEAGG_API std::string to_text(const MemberExplanation& explanation);
/// One compact JSON object.
[[nodiscard]] PRESENCEAGG_API std::string to_json(const MemberExplanation& explanation);

/// Thread-safe: every member function may be called from any thread; each call is atomic with
/// respect to the others.
class PRESENCEAGG_API PresenceStore {
public:
    virtual ~PresenceStore() = default;

    /// Applies one message by Ably's newness rules (RTP2b). Idempotent: any duplicated,
    /// late-redelivered or locally reordered delivery of a stream gives the clean stream's state
    /// (within the tombstone retention).
    virtual ApplyOutcome apply(const PresenceMessage& message) = 0;

    /// Drift repair: `members` is the complete presence set of `channel` as fetched from Ably,
    /// a fetch that started when `sequence()` returned `since`. Members listed are applied as
    /// ordinary messages; members not listed are removed unless something was applied to them
    /// after `since`. Returns how many members were removed.
    virtual std::size_t replace_channel(std::string_view channel,
                                        std::span<const PresenceMessage> members,
                                        std::uint64_t since) = 0;

    /// Monotonic count of successful applies; a watermark for replace_channel().
    [[nodiscard]] virtual std::uint64_t sequence() const = 0;

    /// Number of members present in `channel`.
    [[nodiscard]] virtual std::size_t channel_members(std::string_view channel) const = 0;
    /// Names of channels with at least one member, sorted.
    [[nodiscard]] virtual std::vector<std::string> channels() const = 0;

    /// Forgets every member and tombstone (a fresh start); the next take_changes() reports every
    /// previously present member as removed.
    virtual void clear() = 0;

    /// Marks a channel whose state is unverified; shown in the Counts view.
    virtual void set_suspect(std::string_view channel, bool suspect) = 0;

    [[nodiscard]] virtual Counts counts() const = 0;
    [[nodiscard]] virtual StoreStats stats() const = 0;

    /// Changes since the previous call, then starts a new change period.
    [[nodiscard]] virtual ChangeSet take_changes() = 0;

    /// Visits every leaf of `view` in canonical order and returns the view's content hash for
    /// exactly the state visited.
    virtual std::uint64_t visit(View view, const LeafVisitor& visitor) const = 0;

    /// The view's content hash now (wire-format.md); amortised O(1) (folds the members changed
    /// since the last read).
    [[nodiscard]] virtual std::uint64_t hash(View view) const = 0;

    /// Why `key` is (or is not) shown. The default keeps nothing: `supported` is false.
    [[nodiscard]] virtual MemberExplanation explain(const MemberKey& key) const {
        MemberExplanation e;
        e.key = key;
        return e;
    }
};

struct MemoryPresenceStoreConfig {
    /// A leave is remembered at least this long in event time (Ably timestamps), so that a late,
    /// older message cannot resurrect the member.
    std::chrono::milliseconds tombstone_retention{std::chrono::minutes(5)};
    /// Hard cap on remembered leaves; the oldest go first beyond it.
    std::size_t max_tombstones = 1'000'000;
    /// Messages remembered per member for explain() (0 disables the history; the member's
    /// current state is explained either way). Off by default: 8 costs about a third more
    /// instructions per apply and ~90 bytes per entry (docs/benchmarks.md); `replay --explain`
    /// uses 8.
    std::size_t explain_history = 0;
    /// Cap on history entries over all members (about 24 MB at the default); beyond it, whole
    /// histories of members not touched lately are dropped (approximately least recently used).
    std::size_t explain_max_entries = 262'144;
    Logger log;
};

/// The default, in-memory store.
[[nodiscard]] PRESENCEAGG_API std::unique_ptr<PresenceStore> make_memory_presence_store(
    MemoryPresenceStoreConfig config = {});

}  // namespace presenceagg

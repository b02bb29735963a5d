// SPDX-License-Identifier: MIT
#pragma once

/// The stand-in's state: per channel, the published messages (history), the presence set,
/// an "active" override and an injected error; plus one global log in publish order that SSE
/// streams follow.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "json_util.hpp"

namespace presenceagg::standin {

/// One published message as recorded.
struct StoredMessage {
    std::uint64_t seq = 0;  ///< global publish order, 1-based
    std::string channel;
    std::string id;
    std::optional<std::string> name;
    std::optional<std::string> client_id;
    std::optional<std::string> connection_id;
    std::optional<std::string> encoding;
    std::string data_json;    ///< JSON text of `data` as published; empty when absent
    std::string extras_json;  ///< JSON text of `extras`; empty when absent
    std::int64_t timestamp = 0;
    std::string serial;    ///< Ably-style message serial
    std::size_t size = 0;  ///< Ably's message size (name + clientId + data + extras)
};
using MessagePtr = std::shared_ptr<const StoredMessage>;

/// Writes `m` as an Ably message object; a non-null `channel` adds a "channel" member.
void write_message(JsonWriter& w, const StoredMessage& m, const std::string* channel);

/// One presence member as set through the control API.
struct PresenceMember {
    std::string id;
    std::string client_id;
    std::string connection_id;
    std::optional<std::string> encoding;
    std::string data_json;    ///< empty when absent
    std::string extras_json;  ///< empty when absent
    std::int64_t timestamp = 0;
    bool leave = false;  ///< in a merge: remove the member instead of setting it
};

/// Writes `m` as a REST presence message (action 1, "present").
void write_member(JsonWriter& w, const PresenceMember& m);

/// An error every channel-scoped request for one channel answers with.
struct ChannelError {
    int status_code = 401;
    int code = 40160;
    std::string message;
};

struct ChannelSummary {
    bool active = false;
    std::size_t members = 0;
    std::size_t connections = 0;
};

struct PublishOutcome {
    std::vector<std::string> ids;      ///< one per message, in request order
    std::vector<std::string> serials;  ///< one per message, in request order
    std::size_t recorded = 0;
    std::size_t duplicates = 0;  ///< ids seen on the channel within the last 2 minutes
};

/// Thread-safe: every member function may be called from any thread.
class ChannelStore {
public:
    /// Beyond `max_stored_messages` the oldest messages are forgotten.
    explicit ChannelStore(std::size_t max_stored_messages);

    /// Records `messages` (their channel, timestamp, serial and missing ids are assigned here).
    /// A message whose id was published on the channel within 2 minutes is not recorded
    /// again, as Ably's idempotent publishing does.
    PublishOutcome publish(const std::string& channel, std::vector<StoredMessage> messages);

    /// Every stored message of `channel`, in publish order.
    [[nodiscard]] std::vector<MessagePtr> channel_messages(const std::string& channel) const;

    /// Up to `max` messages of `channel` strictly after (forwards) or before (backwards) the
    /// message `cursor_seq` (none: from the oldest or newest), with start <= timestamp <= end.
    [[nodiscard]] std::vector<MessagePtr> history(const std::string& channel,
                                                  bool backwards,
                                                  std::optional<std::uint64_t> cursor_seq,
                                                  std::int64_t start,
                                                  std::int64_t end,
                                                  std::size_t max) const;

    /// The newest seq assigned so far (0 before any publish).
    [[nodiscard]] std::uint64_t last_seq() const;
    /// Up to `max` messages on `channels` with seq > `after`, in publish order; `scanned`
    /// becomes the seq up to which the log was looked at (resume from there).
    [[nodiscard]] std::vector<MessagePtr> messages_after(std::uint64_t after,
                                                         const std::set<std::string>& channels,
                                                         std::size_t max,
                                                         std::uint64_t& scanned) const;
    /// The last `count` messages of `channel` published at or after `since_ms`, oldest first.
    [[nodiscard]] std::vector<MessagePtr> latest(const std::string& channel,
                                                 std::size_t count,
                                                 std::int64_t since_ms) const;
    /// Blocks until a message newer than `after` exists, wake_all() has been called since
    /// `wake_generation` was read, or `deadline` passes.
    void wait_for_news(std::uint64_t after,
                       std::uint64_t wake_generation,
                       std::chrono::steady_clock::time_point deadline) const;
    [[nodiscard]] std::uint64_t wake_generation() const;
    /// Wakes every waiter of wait_for_news (SSE streams check why and stop).
    void wake_all();

    /// Replaces (`replace`) or merges into the presence set of `channel`.
    void set_presence(const std::string& channel,
                      std::vector<PresenceMember> members,
                      bool replace);
    /// Clears one channel's presence set, or every channel's when `channel` is null.
    void clear_presence(const std::string* channel);
    /// The presence set of `channel`, ordered by (connectionId, clientId).
    [[nodiscard]] std::vector<PresenceMember> presence(const std::string& channel) const;

    /// Forces `names` active (true) or inactive (false), or back to automatic (nullopt).
    void set_forced_active(const std::vector<std::string>& names, std::optional<bool> active);
    /// Sorted names of active channels starting with `prefix`: forced active, or with presence
    /// members or stored messages and not forced inactive.
    [[nodiscard]] std::vector<std::string> active_channels(std::string_view prefix) const;
    [[nodiscard]] ChannelSummary summary(const std::string& channel) const;

    void set_channel_error(const std::string& channel, ChannelError error);
    void clear_channel_errors();
    [[nodiscard]] std::optional<ChannelError> channel_error(const std::string& channel) const;

    /// Forgets every channel, message, member, override and error.
    void reset();

private:
    struct Channel {
        std::deque<MessagePtr> messages;  ///< ascending seq
        std::map<std::pair<std::string, std::string>, PresenceMember> members;
        std::optional<bool> forced_active;
        std::unordered_map<std::string, std::pair<std::int64_t, std::string>> recent_ids;
        std::deque<std::pair<std::int64_t, std::string>> recent_order;
        std::uint64_t publishes = 0;
    };

    [[nodiscard]] static bool is_active(const Channel& c);
    void evict_locked();

    mutable std::mutex mutex_;
    mutable std::condition_variable news_;
    std::map<std::string, Channel, std::less<>> channels_;
    std::deque<MessagePtr> log_;  ///< every stored message, ascending seq
    std::uint64_t next_seq_ = 1;
    std::uint64_t wake_generation_ = 0;
    std::size_t max_stored_;
    std::map<std::string, ChannelError, std::less<>> errors_;
};

}  // namespace presenceagg::standin

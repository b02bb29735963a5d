// SPDX-License-Identifier: MIT
#pragma once

/// End-to-end scenario support: queue bodies as Ably enqueues them, the expected state computed
/// in process, the published views followed through the stand-in, and the environment that
/// points `presence-agg run` at the stand-in and the test broker.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/decode.hpp>
#include <presenceagg/presence_store.hpp>
#include <presenceagg/view_assembler.hpp>

#include "support/standin/standin_process.hpp"

namespace presenceagg::e2e {

/// One raw presence message as it sits in an enveloped queue body.
struct RawPresence {
    std::string id;
    std::string client_id;
    std::string connection_id;
    int action = 2;  ///< Ably's integer action (2 enter, 3 leave, 4 update, 1 present)
    std::int64_t timestamp = 0;
    std::string data_json = "null";  ///< the "data" value as JSON text (e.g. "\"x\"" or "null")
    std::string encoding;            ///< e.g. "json" when data_json is a JSON-encoded string
};

/// {"source":"channel.presence","appId":"appid","channel":...,"presence":[...]}.
[[nodiscard]] std::string presence_envelope(std::string_view channel, const RawPresence& message);
/// {"source":"channel.occupancy",...,"occupancy":[{"metrics":{"presenceMembers":n,...}}]}.
[[nodiscard]] std::string occupancy_envelope(std::string_view channel,
                                             std::int64_t presence_members,
                                             std::int64_t timestamp);
/// The member as the stand-in's control API takes it (with "action":1).
[[nodiscard]] std::string standin_member_json(const RawPresence& message);

/// Milliseconds since the Unix epoch now.
[[nodiscard]] std::int64_t now_ms();

/// The state the CLI should reach: a store fed the same bodies through the same decoder and
/// namespace filter. Not thread-safe.
class ExpectedState {
public:
    explicit ExpectedState(std::string namespace_regex = "^presence:.*");
    /// Decodes one queue body and applies its presence messages that match the namespace.
    /// Returns false when the body does not decode.
    bool apply_body(std::string_view body);
    /// Applies messages directly (e.g. a bootstrap's presence set).
    void apply(const PresenceMessage& message);
    /// Removes a channel's members not in `members` (as drift repair does).
    void replace_channel(std::string_view channel, const std::vector<PresenceMessage>& members);
    [[nodiscard]] std::string view_json(View view) const;
    [[nodiscard]] const PresenceStore& store() const { return *store_; }

private:
    std::unique_ptr<PresenceStore> store_;
    Decoder decoder_;
    DecodedBatch batch_;
    std::regex namespace_;
};

/// The four view channels for a PUBLISH_CHANNEL base name.
[[nodiscard]] std::string view_channel(std::string_view base, View view);

/// Follows one view's channel on the stand-in: fetches what was published since the last poll
/// and feeds a ViewAssembler. Not thread-safe.
class ViewFollower {
public:
    ViewFollower(const standin::StandinProcess& standin, std::string channel, View view);
    /// Fetches and applies new messages; returns how many were new.
    std::size_t poll();
    [[nodiscard]] const ViewAssembler& assembler() const noexcept { return assembler_; }
    /// The messages seen so far (NDJSON lines, in publish order).
    [[nodiscard]] const std::vector<std::string>& messages() const noexcept { return messages_; }
    /// has_state() and state_json() == expected, after a poll.
    bool matches(const std::string& expected);
    /// Statuses add() returned other than Applied/PartStored, as "status: message" lines.
    [[nodiscard]] const std::vector<std::string>& problems() const noexcept { return problems_; }
    [[nodiscard]] const std::string& channel() const noexcept { return channel_; }

private:
    const standin::StandinProcess& standin_;
    std::string channel_;
    ViewAssembler assembler_;
    std::vector<std::string> messages_;
    std::vector<std::string> problems_;
};

/// The environment of `presence-agg run` against `standin` and `queue` on the test broker:
/// LOG_FORMAT=json, CONSUME_ON_START=true, no command channel, short intervals, no periodic
/// verification. Tests override entries as they need.
[[nodiscard]] std::map<std::string, std::string> run_env(const standin::StandinProcess& standin,
                                                         const std::string& queue,
                                                         const std::string& publish_channel);

/// The integer value at a '/'-separated path in a JSON text (e.g. "errors_by_code/40009");
/// nullopt when absent.
[[nodiscard]] std::optional<std::int64_t> json_int_at(const std::string& json,
                                                      std::string_view path);

/// One field of a JSON object text, as a string (strings unquoted, numbers as text).
[[nodiscard]] std::optional<std::string> json_field(const std::string& json, std::string_view key);

}  // namespace presenceagg::e2e

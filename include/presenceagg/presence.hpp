// SPDX-License-Identifier: MIT
#pragma once

/// The presence data model: Ably presence messages as decoded from queues, webhooks and REST,
/// occupancy messages, and member identity.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <presenceagg/export.hpp>

namespace presenceagg {

/// Ably's presence action, in wire order (0..4). Enter, Update and Present mean "present with
/// this data"; Leave and Absent mean gone.
enum class PresenceAction : std::uint8_t {
    Absent = 0,
    Present = 1,
    Enter = 2,
    Leave = 3,
    Update = 4
};

/// "absent", "present", "enter", "leave", "update".
PRESENCEAGG_API std::string_view to_string(PresenceAction action) noexcept;
/// Accepts the lowercase names and the integers "0".."4"; nullopt for anything else.
PRESENCEAGG_API std::optional<PresenceAction> parse_presence_action(std::string_view text) noexcept;

[[nodiscard]] constexpr bool means_present(PresenceAction a) noexcept {
    return a == PresenceAction::Enter || a == PresenceAction::Update ||
           a == PresenceAction::Present;
}

/// One presence message, decoded. Owns its strings; decoders reuse these objects so that their
/// capacity is recycled on the hot path.
struct PresenceMessage {
    std::string channel;        ///< channel name (from the envelope)
    std::string id;             ///< normally "connectionId:msgSerial:index"
    std::string client_id;      ///< member's clientId (arbitrary UTF-8, may contain ':' or '/')
    std::string connection_id;  ///< connection that entered the member
    PresenceAction action = PresenceAction::Present;
    std::int64_t timestamp = 0;  ///< ms since the Unix epoch, as stamped by Ably
    /// The decoded payload as one compact JSON value: a JSON object/array for `json`, a JSON
    /// string for text, base64 text (a JSON string) for binary, `null` when absent.
    std::string data = "null";
    /// Encoding steps that could not be undone (e.g. "cipher+aes-128-cbc/base64"); empty when
    /// `data` is fully decoded. A member with a non-empty encoding is kept and flagged, never
    /// dropped.
    std::string encoding;
    /// `extras` as compact JSON object text; empty when absent.
    std::string extras;
};

/// A member's identity: one clientId on one connection in one channel. A value type compared
/// field by field; never a hash or a concatenation.
struct MemberKey {
    std::string channel;
    std::string connection_id;
    std::string client_id;

    friend auto operator<=>(const MemberKey&, const MemberKey&) = default;
    friend bool operator==(const MemberKey&, const MemberKey&) = default;
};

/// Occupancy metrics of one channel (`channel.occupancy` source).
struct OccupancyMetrics {
    std::int64_t connections = 0;
    std::int64_t publishers = 0;
    std::int64_t subscribers = 0;
    std::int64_t presence_connections = 0;
    std::int64_t presence_members = 0;
    std::int64_t presence_subscribers = 0;
};

struct OccupancyMessage {
    std::string channel;
    std::int64_t timestamp = 0;  ///< ms; 0 when the envelope carried none
    OccupancyMetrics metrics;
};

}  // namespace presenceagg

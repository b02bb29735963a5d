// SPDX-License-Identifier: MIT
#pragma once

// The newness rule of Ably presence (RTP2b), on a message's version: its id, parsed once, and
// its timestamp.
//
// An id is "ordered" when it is exactly `<connectionId>:<msgSerial>:<index>` for the member's
// own connectionId, with msgSerial and index unsigned decimal integers that fit in 64 bits
// (leading zeros allowed). Everything else is "unordered": a synthesized leave (the id does not
// start with the connectionId), and also any id that starts with the connectionId but does not
// parse as above (our choice: such an id carries no usable serial, so it is compared by
// timestamp like a synthesized one). The prefix is taken to be the whole connectionId, so a
// connectionId containing ':' is handled exactly.

#include <cstdint>
#include <string_view>

namespace presenceagg::detail {

struct MessageVersion {
    std::uint64_t serial = 0;
    std::uint64_t index = 0;
    std::int64_t timestamp = 0;
    bool ordered = false;  ///< serial/index are meaningful (see above)
};

/// Parses `id` against the member's `connection_id`.
[[nodiscard]] MessageVersion parse_message_version(std::string_view id,
                                                   std::string_view connection_id,
                                                   std::int64_t timestamp) noexcept;

/// RTP2b: whether `incoming` supersedes `known` (the caller has already ruled out equal ids).
/// When either is unordered: by timestamp, ties to the incoming message. Otherwise by
/// (msgSerial, index), strictly larger wins.
[[nodiscard]] constexpr bool is_newer(const MessageVersion& incoming,
                                      const MessageVersion& known) noexcept {
    if (!incoming.ordered || !known.ordered) return incoming.timestamp >= known.timestamp;
    if (incoming.serial != known.serial) return incoming.serial > known.serial;
    return incoming.index > known.index;
}

}  // namespace presenceagg::detail

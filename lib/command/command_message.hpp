// SPDX-License-Identifier: MIT
#pragma once

/// Decoding of command-channel messages: an Ably Message JSON (from an SSE `message` event or the
/// REST history answer) becomes a `CommandMessage`; an Ably ErrorInfo becomes an `AblyErrorInfo`.
///
/// The command protocol is the original app's: a message named exactly `update` whose data is
/// exactly `start` or `stop`. Names and data are compared case-sensitively, as the README writes
/// them; surrounding ASCII whitespace in the data is ignored ("start\n" counts, "Start" does not).
/// Anything else decodes fine but is `Command::Other`, which callers ignore.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace presenceagg::detail {

enum class Command { Start, Stop, Other };

[[nodiscard]] std::string_view to_string(Command command) noexcept;

struct CommandMessage {
    std::string id;              ///< Ably message id; empty when absent
    std::string name;            ///< message name; empty when absent
    std::int64_t timestamp = 0;  ///< ms since the epoch; 0 when absent or not an integer
    std::string channel;         ///< as sent, possibly qualified ("[?rewind=1]name"); may be empty
    Command command = Command::Other;
};

/// Bodies larger than this are rejected before parsing (RapidJSON 1.1.0 hardening).
inline constexpr std::size_t kMaxCommandJsonBytes = std::size_t{1} << 20;

struct CommandDecodeResult {
    std::error_code error;  ///< Errc::InvalidJson, WrongType, TooLarge, InvalidEncoding, ...
    CommandMessage message;
    explicit operator bool() const noexcept { return !error; }
};

/// Decodes one Ably Message object. `data` is decoded right to left through its `encoding`
/// steps: `base64`, `utf-8` (or `utf8`) and `json` (whose text must hold a JSON string to count
/// as a command). A missing or non-string `data` is not an error: the command is just Other.
/// Unknown steps (cipher, vcdiff, ...) are Errc::InvalidEncoding.
[[nodiscard]] CommandDecodeResult decode_command_message(std::string_view json);

struct CommandHistoryResult {
    std::error_code error;
    std::optional<CommandMessage> latest;  ///< empty when the history is empty
    explicit operator bool() const noexcept { return !error; }
};

/// Decodes a REST history answer (a JSON array, newest first) to its newest message.
[[nodiscard]] CommandHistoryResult decode_command_history(std::string_view json);

/// An Ably ErrorInfo, from an SSE `error` event ({"code",...}) or an HTTP error body
/// ({"error":{"code",...}}).
struct AblyErrorInfo {
    int code = 0;         ///< Ably error code, e.g. 40142; 0 when unknown
    int status_code = 0;  ///< HTTP-like status, e.g. 401; 0 when unknown
    std::string message;  ///< server text, truncated to a sane length
};

/// Never fails: whatever cannot be read stays zero or empty.
[[nodiscard]] AblyErrorInfo decode_ably_error(std::string_view json);

/// "[?rewind=1]cmds" -> "cmds"; a name without a qualifier is returned unchanged.
[[nodiscard]] std::string_view strip_channel_qualifier(std::string_view channel) noexcept;

/// Text helpers of the command decoder, in their own namespace so they never collide with the
/// codec's helpers of the same purpose.
namespace command_text {

/// Standard base64 (RFC 4648 §4), padding optional. Empty on invalid input, with `ok` false.
[[nodiscard]] std::string decode_base64(std::string_view text, bool& ok);

/// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view bytes) noexcept;

}  // namespace command_text

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

/// Small text helpers for the Ably stand-in: JSON parsing with a nesting cap, base64,
/// percent-encoding, and ids. Free functions, all thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace presenceagg::standin {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

/// Deeper JSON is refused before parsing: RapidJSON's writer recurses per level.
inline constexpr std::size_t kMaxJsonDepth = 128;

/// Milliseconds since the Unix epoch.
[[nodiscard]] std::int64_t now_ms();

/// Deepest `[`/`{` nesting of `text`, ignoring brackets inside strings.
[[nodiscard]] std::size_t json_nesting_depth(std::string_view text);

/// Parses `text` into `doc`; on failure returns false and sets `error` to a short reason.
[[nodiscard]] bool parse_json(std::string_view text, rapidjson::Document& doc, std::string& error);

/// Compact JSON text of `value`.
[[nodiscard]] std::string to_json(const rapidjson::Value& value);

/// Writes a string value.
void write_string(JsonWriter& w, std::string_view s);

/// Standard base64 with padding.
[[nodiscard]] std::string base64_encode(std::string_view bytes);
/// Accepts the standard and URL-safe alphabets, padding optional; nullopt on bad input.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);
/// URL-safe base64 without padding (for opaque cursors).
[[nodiscard]] std::string base64url_encode(std::string_view bytes);

/// Like JavaScript's encodeURIComponent.
[[nodiscard]] std::string percent_encode(std::string_view s);
/// Decodes %XX escapes (bad escapes are kept literally); '+' becomes ' ' when asked.
[[nodiscard]] std::string percent_decode(std::string_view s, bool plus_as_space);

/// `n` random characters from [A-Za-z0-9].
[[nodiscard]] std::string random_token(std::size_t n);

/// Printable ASCII only, so the text can go into an HTTP header.
[[nodiscard]] std::string header_safe(std::string_view s);

/// Parses a non-negative decimal integer that fits in int64; nullopt otherwise.
[[nodiscard]] std::optional<std::int64_t> parse_int(std::string_view s);

}  // namespace presenceagg::standin

// SPDX-License-Identifier: MIT
#pragma once

// RFC 4648 base64 with the standard alphabet, as Ably uses for binary `data`.

#include <string>
#include <string_view>

namespace presenceagg::detail {

/// Decodes `text` into `out` (replacing its contents). Padding is optional, but when present
/// it must be correct; whitespace, the URL-safe alphabet and non-zero trailing bits are
/// rejected. Returns false (with `out` unspecified) on malformed input.
[[nodiscard]] bool base64_decode(std::string_view text, std::string& out);

/// True when `text` would decode; no output.
[[nodiscard]] bool is_valid_base64(std::string_view text) noexcept;

/// Appends the padded base64 encoding of `bytes` to `out`.
void base64_encode_append(std::string_view bytes, std::string& out);

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
// RapidJSON 1.1.0 does not validate by default, and its validating mode over-reads at the end
// of the input, so every string the decoders keep goes through this instead.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace presenceagg::detail {

/// True when every byte of `text` is below 0x80. Most identifiers are short ASCII, so this
/// runs on whole words, with overlapping loads for the tail instead of a byte loop.
[[nodiscard]] inline bool is_ascii(std::string_view text) noexcept {
    const char* p = text.data();
    const std::size_t n = text.size();
    auto word8 = [](const char* at) noexcept {
        std::uint64_t w;
        std::memcpy(&w, at, sizeof w);
        return w;
    };
    auto word4 = [](const char* at) noexcept {
        std::uint32_t w;
        std::memcpy(&w, at, sizeof w);
        return w;
    };
    if (n >= 8) {
        std::uint64_t acc = word8(p + n - 8);
        for (std::size_t i = 0; i + 8 <= n; i += 8) acc |= word8(p + i);
        return (acc & 0x8080808080808080ULL) == 0;
    }
    if (n >= 4) return ((word4(p) | word4(p + n - 4)) & 0x80808080U) == 0;
    unsigned acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
    return acc < 0x80;
}

/// True when `text` is well-formed UTF-8.
[[nodiscard]] inline bool is_valid_utf8(std::string_view text) noexcept {
    if (is_ascii(text)) return true;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* const end = p + text.size();
    while (p < end) {
        const unsigned c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        const auto left = end - p;
        auto cont = [p](int i) noexcept { return (p[i] & 0xC0U) == 0x80U; };
        if (c < 0xC2) return false;  // continuation byte or overlong 2-byte lead
        if (c < 0xE0) {
            if (left < 2 || !cont(1)) return false;
            p += 2;
        } else if (c < 0xF0) {
            if (left < 3 || !cont(1) || !cont(2)) return false;
            if (c == 0xE0 && p[1] < 0xA0) return false;  // overlong
            if (c == 0xED && p[1] > 0x9F) return false;  // UTF-16 surrogate
            p += 3;
        } else if (c < 0xF5) {
            if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return false;
            if (c == 0xF0 && p[1] < 0x90) return false;  // overlong
            if (c == 0xF4 && p[1] > 0x8F) return false;  // above U+10FFFF
            p += 4;
        } else {
            return false;
        }
    }
    return true;
}

/// The longest prefix of `text` of at most `max_bytes` that ends on a character boundary
/// (for valid UTF-8).
[[nodiscard]] inline std::string_view utf8_prefix(std::string_view text,
                                                  std::size_t max_bytes) noexcept {
    if (text.size() <= max_bytes) return text;
    std::size_t n = max_bytes;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0U) == 0x80U) --n;
    return text.substr(0, n);
}

}  // namespace presenceagg::detail

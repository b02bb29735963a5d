// SPDX-License-Identifier: MIT
#include "codec/base64.hpp"

#include <array>
#include <cstdint>

namespace presenceagg::detail {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_table() {
    std::array<std::uint8_t, 256> table{};
    for (auto& v : table) v = kInvalid;
    for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
    return table;
}

constexpr auto kTable = make_table();

// Shared by decode and validation: `emit` receives each decoded byte.
template <typename Emit>
bool walk_base64(std::string_view text, Emit&& emit) {
    std::size_t n = text.size();
    // Strip up to two '=' of padding; then the length must be complete.
    std::size_t pad = 0;
    while (pad < 2 && n > 0 && text[n - 1] == '=') {
        --n;
        ++pad;
    }
    if (pad > 0 && text.size() % 4 != 0) return false;
    if (n % 4 == 1) return false;
    if (pad > 0 && (n % 4) + pad != 4) return false;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t v = kTable[static_cast<unsigned char>(text[i])];
        if (v == kInvalid) return false;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            emit(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    // Leftover bits must be zero, so every byte string has exactly one encoding.
    return (acc & ((1U << bits) - 1)) == 0;
}

}  // namespace

bool base64_decode(std::string_view text, std::string& out) {
    out.clear();
    out.reserve(text.size() / 4 * 3 + 3);
    return walk_base64(text, [&out](char c) { out.push_back(c); });
}

bool is_valid_base64(std::string_view text) noexcept {
    return walk_base64(text, [](char) {});
}

void base64_encode_append(std::string_view bytes, std::string& out) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    out.reserve(out.size() + (n + 2) / 3 * 4);
    for (; n >= 3; n -= 3, p += 3) {
        const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(kAlphabet[(v >> 6) & 63]);
        out.push_back(kAlphabet[v & 63]);
    }
    if (n == 1) {
        const std::uint32_t v = std::uint32_t{p[0]} << 16;
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out += "==";
    } else if (n == 2) {
        const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8);
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(kAlphabet[(v >> 6) & 63]);
        out.push_back('=');
    }
}

}  // namespace presenceagg::detail

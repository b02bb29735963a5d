// SPDX-License-Identifier: MIT
#pragma once

// Content hashes of views, as specified in docs/wire-format.md ("Content hash"). A view's hash
// is the sum (mod 2^64) of one 64-bit FNV-1a hash per leaf, so it is updated in O(1) per change
// and is independent of order. Member views hash identity and version, not JSON bytes, so any
// consumer can recompute it without reproducing our serializer.

#include <cstdint>
#include <string>
#include <string_view>

#include "wire/json_text.hpp"

namespace presenceagg::detail {

inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
inline constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;

class Fnv1a64 {
public:
    Fnv1a64& bytes(std::string_view s) noexcept {
        for (unsigned char c : s) {
            h_ ^= c;
            h_ *= kFnvPrime;
        }
        return *this;
    }
    /// A field followed by the NUL separator.
    Fnv1a64& field(std::string_view s) noexcept {
        return bytes(s).bytes(std::string_view("\0", 1));
    }
    Fnv1a64& field(std::int64_t v) noexcept {
        char buf[kDecimalBufferSize];
        char* end = buf + sizeof buf;
        const char* p = format_decimal(v, end);
        return field(std::string_view(p, static_cast<std::size_t>(end - p)));
    }
    [[nodiscard]] std::uint64_t value() const noexcept { return h_; }

private:
    std::uint64_t h_ = kFnvOffset;
};

/// Leaf hash of one member, identical in all three member views:
/// FNV-1a-64 of channel NUL clientId NUL connectionId NUL id NUL timestamp-decimal NUL.
inline std::uint64_t member_leaf_hash(std::string_view channel,
                                      std::string_view client_id,
                                      std::string_view connection_id,
                                      std::string_view id,
                                      std::int64_t timestamp) noexcept {
    return Fnv1a64{}
        .field(channel)
        .field(client_id)
        .field(connection_id)
        .field(id)
        .field(timestamp)
        .value();
}

/// Leaf hash of one channel in the Counts view: "channels" NUL channel NUL members NUL suspect(0|1)
/// NUL.
inline std::uint64_t channel_count_leaf_hash(std::string_view channel,
                                             std::int64_t members,
                                             bool suspect) noexcept {
    return Fnv1a64{}.field("channels").field(channel).field(members).field(suspect ? 1 : 0).value();
}

/// Leaf hash of one total in the Counts view: "totals" NUL name NUL value NUL.
inline std::uint64_t total_leaf_hash(std::string_view name, std::int64_t value) noexcept {
    return Fnv1a64{}.field("totals").field(name).field(value).value();
}

/// 16 lowercase hex digits.
inline std::string hash_hex(std::uint64_t h) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = kDigits[h & 0xF];
        h >>= 4;
    }
    return out;
}

}  // namespace presenceagg::detail

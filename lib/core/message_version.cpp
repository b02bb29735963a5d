// SPDX-License-Identifier: MIT
#include "core/message_version.hpp"

#include <limits>

namespace presenceagg::detail {
namespace {

/// Parses a non-empty run of decimal digits that fits in 64 bits; advances `pos` past it.
bool parse_decimal(std::string_view s, std::size_t& pos, std::uint64_t& out) noexcept {
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    const std::size_t start = pos;
    std::uint64_t v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        const auto digit = static_cast<std::uint64_t>(s[pos] - '0');
        if (v > (kMax - digit) / 10) return false;
        v = v * 10 + digit;
        ++pos;
    }
    out = v;
    return pos > start;
}

}  // namespace

MessageVersion parse_message_version(std::string_view id,
                                     std::string_view connection_id,
                                     std::int64_t timestamp) noexcept {
    MessageVersion v;
    v.timestamp = timestamp;
    if (connection_id.empty() || !id.starts_with(connection_id)) return v;
    std::size_t pos = connection_id.size();
    if (pos >= id.size() || id[pos] != ':') return v;
    ++pos;
    std::uint64_t serial = 0;
    if (!parse_decimal(id, pos, serial)) return v;
    if (pos >= id.size() || id[pos] != ':') return v;
    ++pos;
    std::uint64_t index = 0;
    if (!parse_decimal(id, pos, index) || pos != id.size()) return v;
    v.serial = serial;
    v.index = index;
    v.ordered = true;
    return v;
}

}  // namespace presenceagg::detail

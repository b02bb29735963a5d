// SPDX-License-Identifier: MIT
#pragma once

// The top-level members of one JSON object, read SAX-style with RapidJSON the same hardened way
// as part_parser.cpp (in situ over a private copy, recursive with a nesting cap, numbers as
// text). Nested objects and arrays are validated and reported as their exact source bytes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenceagg::detail {

struct JsonMember {
    enum class Kind : std::uint8_t { Null, False, True, Number, String, Object, Array };
    std::string key;
    Kind kind = Kind::Null;
    std::string text;       ///< String: the decoded string; Number: its source text
    std::size_t begin = 0;  ///< Object/Array: source bytes [begin, end)
    std::size_t end = 0;
};

/// Members of the object `text`, in source order; nullopt when `text` is not exactly one valid
/// JSON object or nests deeper than `max_depth`.
[[nodiscard]] std::optional<std::vector<JsonMember>> scan_object(std::string_view text,
                                                                 std::size_t max_depth);

/// The first member named `key`, or null.
[[nodiscard]] const JsonMember* find_member(const std::vector<JsonMember>& members,
                                            std::string_view key) noexcept;

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

// The one way the decoders run RapidJSON: SAX, in situ over a NUL-terminated mutable buffer
// they own, numbers delivered as raw text. In-situ strings are decoded in place and stay valid
// (NUL-terminated) until the buffer is reused, so handlers keep pointers instead of copies.

#include <cstddef>
#include <string>

#include "codec/rapidjson.hpp"

namespace presenceagg::detail {

inline constexpr unsigned kJsonParseFlags =
    rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;

/// The deepest nesting the codec parses, whatever DecodeLimits::max_depth says. RapidJSON's
/// recursive parser is used, which the handlers stop at max_depth, so the C stack stays small
/// (outer body plus json-encoded data: well under 1 MiB). Its iterative parser is avoided:
/// with in-situ parsing the recursive one never touches RapidJSON's internal stack, whose
/// first growth from empty is undefined behaviour (pointer arithmetic on null) in 1.1.0.
inline constexpr std::size_t kMaxSupportedDepth = 256;

/// The nesting limit actually enforced for `configured`.
[[nodiscard]] constexpr std::size_t effective_depth(std::size_t configured) noexcept {
    return configured < kMaxSupportedDepth ? configured : kMaxSupportedDepth;
}

/// Outcome of one parse: the RapidJSON result and how many bytes were consumed.
struct JsonParseOutcome {
    rapidjson::ParseResult result;
    std::size_t consumed = 0;
};

/// Parses the NUL-terminated mutable `text` in situ, feeding `handler`, which must stop the
/// parse (return false) beyond effective_depth(). The caller compares
/// `consumed` with the text's length: RapidJSON stops at the first NUL, so a shorter count
/// means an embedded NUL byte.
template <typename Handler>
JsonParseOutcome parse_json_insitu(rapidjson::Reader& reader, char* text, Handler& handler) {
    rapidjson::InsituStringStream stream(text);
    JsonParseOutcome outcome;
    outcome.result = reader.Parse<kJsonParseFlags>(stream, handler);
    outcome.consumed = stream.Tell();
    return outcome;
}

/// "Missing a name for object member. (offset 12)"
inline void append_parse_error(std::string& out, const rapidjson::ParseResult& result) {
    out += rapidjson::GetParseError_En(result.Code());
    out += " (offset ";
    out += std::to_string(result.Offset());
    out += ')';
}

}  // namespace presenceagg::detail

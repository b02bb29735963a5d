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

/// Up to this max_depth the recursive parser is used (the handlers stop it at max_depth, so
/// the C stack stays small); beyond it the iterative parser keeps nesting off the C stack.
inline constexpr std::size_t kRecursiveDepthLimit = 256;

/// Outcome of one parse: the RapidJSON result and how many bytes were consumed.
struct JsonParseOutcome {
    rapidjson::ParseResult result;
    std::size_t consumed = 0;
};

/// Parses the NUL-terminated mutable `text` in situ, feeding `handler`. The caller compares
/// `consumed` with the text's length: RapidJSON stops at the first NUL, so a shorter count
/// means an embedded NUL byte.
template <typename Handler>
JsonParseOutcome parse_json_insitu(rapidjson::Reader& reader,
                                   char* text,
                                   Handler& handler,
                                   std::size_t max_depth) {
    rapidjson::InsituStringStream stream(text);
    JsonParseOutcome outcome;
    if (max_depth <= kRecursiveDepthLimit) {
        outcome.result = reader.Parse<kJsonParseFlags>(stream, handler);
    } else {
        outcome.result =
            reader.Parse<kJsonParseFlags | rapidjson::kParseIterativeFlag>(stream, handler);
    }
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

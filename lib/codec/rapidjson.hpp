// SPDX-License-Identifier: MIT
#pragma once

// The codec's single entry to RapidJSON headers.
//
// RapidJSON asserts are never triggered by the codec: handlers are driven by the parser, and
// bodies are capped well below RapidJSON's 32-bit sizes, so RAPIDJSON_ASSERT is left alone.
// RAPIDJSON_SSE2 was measured and left off: presence bodies are made of short strings, where
// the SIMD scan's alignment prologue cancels its gain (same instruction count per envelope),
// and its aligned loads read past the end of the text.
// Every text the codec parses lives in a std::string it owns, whose terminating NUL is where
// the in-situ parser stops.

#include <string>
#include <string_view>

#include <rapidjson/error/en.h>
#include <rapidjson/rapidjson.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

namespace presenceagg::detail {

/// Replaces `buffer` with `text`; returns its first byte, mutable and NUL-terminated.
inline char* load_for_parse(std::string& buffer, std::string_view text) {
    buffer.assign(text);
    return buffer.data();
}

}  // namespace presenceagg::detail

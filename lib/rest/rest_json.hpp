// SPDX-License-Identifier: MIT
#pragma once

// The two small JSON shapes the REST code reads itself (everything presence-shaped goes through
// presenceagg::Decoder): Ably error bodies and channel enumeration pages.
//
// RapidJSON 1.1.0 is driven SAX-style, in situ over a private copy, numbers as raw text and
// nesting capped by the handler: the recursive parser then never goes deep, never copies
// strings onto its own stack (which trips UBSan in 1.1.0) and never converts numbers to
// doubles. Callers bound the body size (see HttpClient), which keeps 1.1.0's number-parsing
// CVEs out of reach.

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace presenceagg::detail {

/// Ably's `{"error":{"code":n,"message":"...","href":"..."}}`; fields absent stay untouched.
struct ErrorBody {
    int code = 0;
    std::string message;
    std::string href;
};

/// True when `body` is a JSON object with an `error` object; fills what it finds.
[[nodiscard]] bool parse_error_body(std::string_view body, ErrorBody& out);

/// A `GET /channels` page: an array of names (`by=id`) or of ChannelDetails objects
/// (`{"channelId":...}`). Appends names to `out`; entries that are neither (or empty names)
/// are counted in `skipped`. Errors: InvalidJson, WrongType (not an array), TooDeep.
[[nodiscard]] std::error_code parse_channel_list(std::string_view body,
                                                 std::vector<std::string>& out,
                                                 std::size_t& skipped);

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

// URL pieces for Ably's REST API: percent-encoding of channel names and resolution of the
// relative `Link` URLs Ably paginates with.

#include <optional>
#include <string>
#include <string_view>

namespace presenceagg::detail {

/// Percent-encodes every byte except RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~), so
/// a channel name with ':' '/' '?' ',' ' ' or any UTF-8 is one opaque path segment or value.
[[nodiscard]] std::string percent_encode(std::string_view text);

/// The URL of the `rel="next"` relation among `Link` header values (each value may hold
/// several comma-separated links); nullopt when there is none.
[[nodiscard]] std::optional<std::string> find_next_link(std::string_view link_header_value);

/// Resolves a `Link` target against the path (and query) it was returned for, as Ably's SDKs
/// do: relative targets join the request path's directory and "."/".." segments are removed.
/// Absolute-path targets ("/x") are kept; absolute URLs are accepted only when they start with
/// `base_url` (so credentials never go to another origin) and are returned without it.
/// Returns a path plus query, or nullopt for a target that cannot be used.
[[nodiscard]] std::optional<std::string> resolve_link(std::string_view request_path,
                                                      std::string_view target,
                                                      std::string_view base_url);

}  // namespace presenceagg::detail

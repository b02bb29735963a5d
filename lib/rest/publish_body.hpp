// SPDX-License-Identifier: MIT
#pragma once

// The exact body `POST /channels/{name}/messages` sends, so the publisher can keep every
// request under Ably's size limit before sending it.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <presenceagg/ably_rest_sink.hpp>

#include "rest/ably_error.hpp"
#include "rest/http_client.hpp"

namespace presenceagg::detail {

/// `[{"id":..,"name":..,"data":"<JSON text as a string>","encoding":"json"},...]`; `id` and
/// `name` are left out when empty. Deterministic: equal input gives equal bytes.
[[nodiscard]] std::string publish_body(std::span<const OutboundMessage> messages);

/// Appends publish_body(messages) to `out` (reuses its capacity).
void append_publish_body(std::string& out, std::span<const OutboundMessage> messages);

/// Bytes one message adds to a publish body (its object plus the separating comma when it is
/// not the first). publish_body(ms).size() == 2 + sum of publish_body_element_size(m, i > 0).
[[nodiscard]] std::size_t publish_body_element_size(const OutboundMessage& message,
                                                    bool preceded) noexcept;

/// `POST /channels/{percent-encoded channel}/messages` with publish_body(messages).
[[nodiscard]] AblyError post_messages(HttpClient& http,
                                      std::string_view channel,
                                      std::span<const OutboundMessage> messages);

}  // namespace presenceagg::detail

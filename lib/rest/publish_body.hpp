// SPDX-License-Identifier: MIT
#pragma once

// Sends a publish request; the body itself is built by wire/publish_body.hpp.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <presenceagg/ably_rest_sink.hpp>

#include "rest/ably_error.hpp"
#include "rest/http_client.hpp"
#include "wire/publish_body.hpp"

namespace presenceagg::detail {

/// `POST /channels/{percent-encoded channel}/messages` with publish_body(messages).
[[nodiscard]] AblyError post_messages(HttpClient& http,
                                      std::string_view channel,
                                      std::span<const OutboundMessage> messages);

}  // namespace presenceagg::detail

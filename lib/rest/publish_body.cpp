// SPDX-License-Identifier: MIT
#include "rest/publish_body.hpp"

#include <string_view>

#include "rest/url.hpp"

namespace presenceagg::detail {

AblyError post_messages(HttpClient& http,
                        std::string_view channel,
                        std::span<const OutboundMessage> messages) {
    static const std::string kContentType[] = {"Content-Type: application/json"};
    const std::string body = publish_body(messages);
    const auto response = http.request(
        HttpMethod::Post, "/channels/" + percent_encode(channel) + "/messages", kContentType, body);
    return classify_response(response);
}

}  // namespace presenceagg::detail

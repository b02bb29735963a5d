// SPDX-License-Identifier: MIT
#include "rest/publish_body.hpp"

#include <string_view>

#include "rest/url.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::detail {
namespace {

// Length of append_json_string(s) output, computed without building it.
std::size_t json_string_size(std::string_view s) noexcept {
    std::size_t n = 2;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != '"' && c != '\\') {
            n += 1;
        } else if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
                   c == '\f') {
            n += 2;
        } else {
            n += 6;  // \u00xx
        }
    }
    return n;
}

constexpr std::string_view kId = "\"id\":";
constexpr std::string_view kName = "\"name\":";
constexpr std::string_view kData = "\"data\":";
constexpr std::string_view kEncoding = ",\"encoding\":\"json\"}";

}  // namespace

void append_publish_body(std::string& out, std::span<const OutboundMessage> messages) {
    out.push_back('[');
    bool first = true;
    for (const auto& m : messages) {
        if (!first) out.push_back(',');
        first = false;
        out.push_back('{');
        if (!m.id.empty()) {
            out.append(kId);
            append_json_string(out, m.id);
            out.push_back(',');
        }
        if (!m.name.empty()) {
            out.append(kName);
            append_json_string(out, m.name);
            out.push_back(',');
        }
        out.append(kData);
        append_json_string(out, m.data);
        out.append(kEncoding);
    }
    out.push_back(']');
}

std::string publish_body(std::span<const OutboundMessage> messages) {
    std::string out;
    std::size_t size = 2;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        size += publish_body_element_size(messages[i], i > 0);
    }
    out.reserve(size);
    append_publish_body(out, messages);
    return out;
}

std::size_t publish_body_element_size(const OutboundMessage& message, bool preceded) noexcept {
    std::size_t n = (preceded ? 1 : 0) + 1;  // ',' and '{'
    if (!message.id.empty()) n += kId.size() + json_string_size(message.id) + 1;
    if (!message.name.empty()) n += kName.size() + json_string_size(message.name) + 1;
    n += kData.size() + json_string_size(message.data) + kEncoding.size();
    return n;
}

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

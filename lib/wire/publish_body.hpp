// SPDX-License-Identifier: MIT
#pragma once

// The exact body of Ably's `POST /channels/{name}/messages`, in one place: the REST sink sends
// it and the publisher sizes requests with it, so every request provably stays under Ably's
// message size limit.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <presenceagg/ably_rest_sink.hpp>

#include "wire/json_text.hpp"

namespace presenceagg::detail {

inline constexpr std::string_view kPublishId = "\"id\":";
inline constexpr std::string_view kPublishName = "\"name\":";
inline constexpr std::string_view kPublishData = "\"data\":";
inline constexpr std::string_view kPublishEncoding = ",\"encoding\":\"json\"}";

/// Bytes one message adds to a publish body (its object plus the separating comma when it is
/// not the first). publish_body(ms).size() == 2 + sum of publish_body_element_size(m, i > 0).
[[nodiscard]] inline std::size_t publish_body_element_size(const OutboundMessage& message,
                                                           bool preceded) noexcept {
    std::size_t n = (preceded ? 1 : 0) + 1;  // ',' and '{'
    if (!message.id.empty()) n += kPublishId.size() + json_string_size(message.id) + 1;
    if (!message.name.empty()) n += kPublishName.size() + json_string_size(message.name) + 1;
    n += kPublishData.size() + json_string_size(message.data) + kPublishEncoding.size();
    return n;
}

/// The size of publish_body(messages).
[[nodiscard]] inline std::size_t publish_body_size(
    std::span<const OutboundMessage> messages) noexcept {
    std::size_t n = 2;
    for (std::size_t i = 0; i < messages.size(); ++i)
        n += publish_body_element_size(messages[i], i > 0);
    return n;
}

/// Appends `[{"id":..,"name":..,"data":"<JSON text as a string>","encoding":"json"},...]`;
/// `id` and `name` are left out when empty. Deterministic: equal input gives equal bytes.
inline void append_publish_body(std::string& out, std::span<const OutboundMessage> messages) {
    out.push_back('[');
    bool first = true;
    for (const auto& m : messages) {
        if (!first) out.push_back(',');
        first = false;
        out.push_back('{');
        if (!m.id.empty()) {
            out.append(kPublishId);
            append_json_string(out, m.id);
            out.push_back(',');
        }
        if (!m.name.empty()) {
            out.append(kPublishName);
            append_json_string(out, m.name);
            out.push_back(',');
        }
        out.append(kPublishData);
        append_json_string(out, m.data);
        out.append(kPublishEncoding);
    }
    out.push_back(']');
}

[[nodiscard]] inline std::string publish_body(std::span<const OutboundMessage> messages) {
    std::string out;
    out.reserve(publish_body_size(messages));
    append_publish_body(out, messages);
    return out;
}

}  // namespace presenceagg::detail

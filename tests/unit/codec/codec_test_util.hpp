// SPDX-License-Identifier: MIT
#pragma once

// Checks shared by the codec unit tests and fuzz targets: the output invariants every
// successful decode must meet.

#include <span>
#include <string>
#include <string_view>

#include <presenceagg/presence.hpp>

#include "codec/json_emitter.hpp"
#include "codec/json_parse.hpp"
#include "codec/utf8.hpp"

namespace presenceagg::test {

inline bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

/// True when `text` is exactly one JSON value in compact canonical form (re-emitting it
/// through the decoder's emitter gives the same bytes), with every string valid UTF-8.
inline bool is_compact_json(std::string_view text,
                            std::size_t max_depth = detail::kMaxSupportedDepth) {
    std::string copy;
    char* start = detail::load_for_parse(copy, text);
    std::string again;
    rapidjson::Reader reader;
    detail::CompactJsonEmitter emitter;
    emitter.begin(again, std::size_t(-1), max_depth);
    const auto outcome = detail::parse_json_insitu(reader, start, emitter);
    return !outcome.result.IsError() && outcome.consumed == text.size() && again == text;
}

inline bool valid_message(const PresenceMessage& m) {
    for (const std::string* s :
         {&m.channel, &m.id, &m.client_id, &m.connection_id, &m.encoding, &m.extras, &m.data}) {
        if (!detail::is_valid_utf8(*s)) return false;
    }
    if (!is_compact_json(m.data)) return false;
    if (!m.extras.empty() && (m.extras.front() != '{' || !is_compact_json(m.extras))) return false;
    return static_cast<unsigned>(m.action) <= 4;
}

inline bool valid_output(std::span<const PresenceMessage> messages) {
    for (const auto& m : messages) {
        if (!valid_message(m)) return false;
    }
    return true;
}

}  // namespace presenceagg::test

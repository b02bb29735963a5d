// SPDX-License-Identifier: MIT
#pragma once

// Undoes a presence message's `encoding` on its `data` (ably-reference §1.3), producing one
// compact JSON value. Steps are undone right to left:
//   json          the value must be a string holding JSON; it is validated and re-emitted
//                 compact (spliced as the value, never re-stringified).
//   utf-8 / utf8  the bytes must be valid UTF-8; the value becomes a JSON string.
//   base64        decoded only when the next step to undo is utf-8/utf8 or json. Otherwise
//                 the payload is binary (or still encrypted): the base64 text is kept as a
//                 JSON string and the encoding keeps ".../base64". The text must be valid
//                 base64 either way.
//   anything else (cipher+..., vcdiff, unknown, empty) stops decoding: the value is kept as
//                 it is at that point and the steps not undone stay in `encoding`, so the
//                 member is kept and flagged, never dropped.
// json, utf-8 and base64 need a string; applied to an object, array, number or boolean they
// are an InvalidEncoding error. A remaining `encoding` is always a prefix of the original.
// Not thread-safe; one per decoder.

#include <cstddef>
#include <string>
#include <string_view>

#include <presenceagg/decode.hpp>
#include <presenceagg/error.hpp>

#include "codec/json_emitter.hpp"
#include "codec/rapidjson.hpp"

namespace presenceagg::detail {

class DataDecoder {
public:
    explicit DataDecoder(const DecodeLimits& limits)
        : limits_(limits) {}

    /// `text` (length `length`, NUL at text[length], valid UTF-8) is a JSON string's content;
    /// it may be modified. On success `data` holds the decoded value and `encoding` is cut to
    /// the steps left undone. On failure error()/message() say why (no field path).
    bool decode_string(char* text, std::size_t length, std::string& encoding, std::string& data);

    /// `data` already holds a non-string JSON value; checks `encoding` against it.
    bool decode_value(std::string& encoding);

    /// Validates the NUL-terminated mutable `text` as one JSON value (nesting up to max_depth,
    /// strings valid UTF-8, at most max_member_data_bytes) and writes it compact into `out`.
    bool parse_json(char* text, std::size_t length, std::string& out);

    [[nodiscard]] Errc error() const noexcept { return error_; }
    [[nodiscard]] const std::string& message() const noexcept { return message_; }

private:
    bool fail(Errc code, std::string_view message);

    DecodeLimits limits_;
    rapidjson::Reader reader_;
    CompactJsonEmitter emitter_;
    std::string scratch_;  // base64-decoded bytes
    std::string spare_;    // the next layer's output while scratch_ is its input
    Errc error_{};
    std::string message_;
};

}  // namespace presenceagg::detail

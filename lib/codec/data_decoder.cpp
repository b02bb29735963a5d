// SPDX-License-Identifier: MIT
#include "codec/data_decoder.hpp"

#include "codec/base64.hpp"
#include "codec/json_parse.hpp"
#include "codec/utf8.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::detail {

namespace {

bool is_utf8_step(std::string_view step) noexcept {
    return step == "utf-8" || step == "utf8";
}

// Steps that only apply to a string value.
bool needs_string(std::string_view step) noexcept {
    return step == "json" || step == "base64" || is_utf8_step(step);
}

// The last '/'-separated step of encoding[0, end), and where the prefix before it ends.
struct Step {
    std::string_view name;
    std::size_t rest;  // length of the prefix that remains once this step is undone
};

Step last_step(std::string_view encoding, std::size_t end) noexcept {
    const std::size_t slash = encoding.rfind('/', end - 1);
    if (slash == std::string_view::npos) return {encoding.substr(0, end), 0};
    return {encoding.substr(slash + 1, end - slash - 1), slash};
}

}  // namespace

bool DataDecoder::fail(Errc code, std::string_view message) {
    error_ = code;
    message_.assign(message);
    return false;
}

bool DataDecoder::parse_json(char* text, std::size_t length, std::string& out) {
    emitter_.begin(out, limits_.max_member_data_bytes, limits_.max_depth);
    const auto outcome = parse_json_insitu(reader_, text, emitter_);
    if (outcome.result.IsError()) {
        if (emitter_.error() != Errc{}) {
            return fail(emitter_.error(),
                        std::string("json-encoded value: ").append(emitter_.error_detail()));
        }
        std::string msg = "json-encoded value is not valid JSON: ";
        append_parse_error(msg, outcome.result);
        return fail(Errc::InvalidEncoding, msg);
    }
    if (outcome.consumed != length) {
        return fail(Errc::InvalidEncoding, "json-encoded value has a NUL byte at offset " +
                                               std::to_string(outcome.consumed));
    }
    return true;
}

bool DataDecoder::decode_string(char* text,
                                std::size_t length,
                                std::string& encoding,
                                std::string& data) {
    const char* cur = text;
    std::size_t cur_length = length;
    char* cur_mutable = text;
    bool is_text = true;  // a JSON string's content was validated by the body reader
    bool is_json = false;
    std::size_t keep = encoding.size();
    while (keep > 0 && !is_json) {
        const Step step = last_step(encoding, keep);
        if (step.name == "json") {
            if (!is_text && !is_valid_utf8({cur, cur_length})) {
                return fail(Errc::InvalidUtf8, "json-encoded value is not valid UTF-8");
            }
            if (!parse_json(cur_mutable, cur_length, data)) return false;
            is_json = true;
        } else if (is_utf8_step(step.name)) {
            if (!is_text && !is_valid_utf8({cur, cur_length})) {
                return fail(Errc::InvalidUtf8, "utf-8 step: the bytes are not valid UTF-8");
            }
            is_text = true;
        } else if (step.name == "base64") {
            const std::string_view b64(cur, cur_length);
            // Decode only when utf-8 or json consumes the bytes next; otherwise they are binary
            // (or still encrypted) and stay as base64 text, flagged.
            const std::string_view next =
                step.rest > 0 ? last_step(encoding, step.rest).name : std::string_view{};
            if (next != "json" && !is_utf8_step(next)) {
                if (!is_valid_base64(b64)) return fail(Errc::InvalidEncoding, "invalid base64");
                break;
            }
            // b64 may point into scratch_ (a second base64 layer): decode aside, then swap.
            if (!base64_decode(b64, spare_)) return fail(Errc::InvalidEncoding, "invalid base64");
            scratch_.swap(spare_);
            cur_length = scratch_.size();
            cur_mutable = scratch_.data();
            cur = cur_mutable;
            is_text = false;
        } else {
            break;  // cipher+..., vcdiff or unknown: stop here and flag
        }
        keep = step.rest;
    }
    if (!is_json) {
        // Only a text value reaches here: base64 output is always consumed by utf-8/json.
        if (!is_text) return fail(Errc::InvalidEncoding, "binary data left undecoded");
        data.clear();
        append_json_string(data, {cur, cur_length});
    }
    encoding.resize(keep);
    if (data.size() > limits_.max_member_data_bytes) {
        return fail(Errc::TooLarge, std::to_string(data.size()) +
                                        " bytes exceeds max_member_data_bytes (" +
                                        std::to_string(limits_.max_member_data_bytes) + ")");
    }
    return true;
}

bool DataDecoder::decode_value(std::string& encoding) {
    if (encoding.empty()) return true;
    const Step step = last_step(encoding, encoding.size());
    if (needs_string(step.name)) {
        std::string msg = "encoding step \"";
        msg.append(step.name);
        msg += "\" needs a string, but data is a JSON value";
        return fail(Errc::InvalidEncoding, msg);
    }
    return true;  // unknown step on a JSON value: keep it flagged
}

}  // namespace presenceagg::detail

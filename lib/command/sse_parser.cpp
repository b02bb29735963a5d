// SPDX-License-Identifier: MIT
#include "command/sse_parser.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace presenceagg::detail {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::size_t kBomDone = std::numeric_limits<std::size_t>::max();

bool all_digits(std::string_view s) noexcept {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

SseParser::SseParser(std::size_t max_bytes)
    : max_bytes_(std::max<std::size_t>(max_bytes, 16)) {}

void SseParser::feed(std::string_view bytes) {
    bytes_fed_ += bytes.size();
    // A BOM may itself be split across chunks: hold back a matching prefix until decided.
    while (bom_matched_ != kBomDone && !bytes.empty()) {
        if (bytes.front() == kBom[bom_matched_]) {
            bytes.remove_prefix(1);
            if (++bom_matched_ == kBom.size()) bom_matched_ = kBomDone;
            continue;
        }
        const std::size_t held = bom_matched_;
        bom_matched_ = kBomDone;
        // Not a BOM after all: the bytes held back are ordinary content (no line ends in them).
        line_.append(kBom.substr(0, held));
        line_length_ += held;
    }

    while (!bytes.empty()) {
        if (after_cr_) {
            after_cr_ = false;
            if (bytes.front() == '\n') {
                bytes.remove_prefix(1);
                continue;
            }
        }
        const std::size_t end = bytes.find_first_of("\r\n");
        const std::string_view piece = bytes.substr(0, end);
        line_length_ += piece.size();
        if (!discarding_) {
            if (line_.size() + piece.size() > max_bytes_) {
                fail(SseParseError::LineTooLong);
            } else {
                line_.append(piece);
            }
        }
        if (end == std::string_view::npos) return;

        after_cr_ = bytes[end] == '\r';
        bytes.remove_prefix(end + 1);
        const bool blank = line_length_ == 0;
        line_length_ = 0;
        if (discarding_) {
            if (blank) {
                // Resynchronised: the skipped event is dropped, but its id (if any) stands.
                discarding_ = false;
                clear_event();
                last_event_id_ = id_buffer_;
            }
            continue;
        }
        process_line(line_);
        line_.clear();
    }
}

void SseParser::process_line(std::string_view line) {
    if (line.empty()) {
        dispatch();
        return;
    }
    if (line.front() == ':') return;  // comment (keepalive)
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
        process_field(line, {});
        return;
    }
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    process_field(line.substr(0, colon), value);
}

void SseParser::process_field(std::string_view field, std::string_view value) {
    if (field == "data") {
        if (data_.size() + value.size() + 1 > max_bytes_) {
            fail(SseParseError::EventTooLarge);
            return;
        }
        data_.append(value);
        data_.push_back('\n');
    } else if (field == "event") {
        type_.assign(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
    } else if (field == "retry") {
        if (all_digits(value) && value.size() <= 12) {
            std::int64_t ms = 0;
            for (const char c : value) ms = ms * 10 + (c - '0');
            retry_ = std::chrono::milliseconds(ms);
        }
    }
    // Any other field is ignored, as the standard requires.
}

void SseParser::dispatch() {
    last_event_id_ = id_buffer_;
    if (data_.empty()) {
        clear_event();
        return;
    }
    data_.pop_back();  // the '\n' after the last data line
    SseEvent event;
    event.type = type_.empty() ? std::string("message") : std::move(type_);
    event.data = std::move(data_);
    event.last_event_id = last_event_id_;
    events_.push_back(std::move(event));
    ++dispatched_;
    clear_event();
}

void SseParser::fail(SseParseError error) {
    errors_.push_back(error);
    ++error_count_;
    discarding_ = true;
    line_.clear();
    clear_event();
}

void SseParser::clear_event() noexcept {
    data_.clear();
    type_.clear();
}

void SseParser::end_of_stream() noexcept {
    line_.clear();
    line_length_ = 0;
    after_cr_ = false;
    discarding_ = false;
    bom_matched_ = 0;
    clear_event();
    // An id line of the unfinished event never reached a dispatch point: forget it.
    id_buffer_ = last_event_id_;
}

std::vector<SseEvent> SseParser::take_events() {
    return std::exchange(events_, {});
}

std::vector<SseParseError> SseParser::take_errors() {
    return std::exchange(errors_, {});
}

}  // namespace presenceagg::detail

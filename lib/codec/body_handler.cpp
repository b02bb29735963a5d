// SPDX-License-Identifier: MIT
#include "codec/body_handler.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>

#include "codec/utf8.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::detail {

namespace {

constexpr std::string_view kSourcePresence = "channel.presence";
constexpr std::string_view kSourceOccupancy = "channel.occupancy";
constexpr std::string_view kSourceMessage = "channel.message";
constexpr std::string_view kSourceLifecycle = "channel.lifecycle";

template <std::size_t N>
bool is(std::string_view key, const char (&literal)[N]) noexcept {
    return key.size() == N - 1 && std::memcmp(key.data(), literal, N - 1) == 0;
}

// Echoes untrusted text into an error message: at most 64 bytes (cut on a character
// boundary), JSON-quoted so control characters cannot reach a log line raw. Callers pass
// text already checked to be valid UTF-8.
std::string quoted(std::string_view text) {
    const std::string_view shown = utf8_prefix(text, 64);
    std::string out;
    append_json_string(out, shown);
    if (shown.size() < text.size()) out += "...";
    return out;
}

enum class IntParse : std::uint8_t { Ok, NotInteger, OutOfRange };

// JSON number text -> int64. Only plain integers (no fraction, no exponent) are accepted.
IntParse parse_int64(std::string_view text, std::int64_t& out) noexcept {
    std::size_t i = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) i = 1;
    if (i == text.size()) return IntParse::NotInteger;
    const std::uint64_t limit = negative ? 9223372036854775808ULL : 9223372036854775807ULL;
    std::uint64_t value = 0;
    bool overflow = false;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') return IntParse::NotInteger;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (limit - digit) / 10) overflow = true;  // keep scanning for '.', 'e'
        if (!overflow) value = value * 10 + digit;
    }
    if (overflow) return IntParse::OutOfRange;
    out = negative ? static_cast<std::int64_t>(0 - value) : static_cast<std::int64_t>(value);
    return IntParse::Ok;
}

// Ably error body -> the transport error class the REST client uses for the same status.
Errc errc_for_ably_error(std::int64_t status, std::int64_t code) noexcept {
    if (status == 0 && code >= 10000 && code < 100000) status = code / 100;
    if (status == 401) return Errc::AblyUnauthorized;
    if (status == 429) return Errc::AblyRateLimited;
    if (status >= 500) return Errc::AblyServerError;
    return Errc::AblyRejected;
}

std::string describe_ably_error(std::int64_t code, std::int64_t status, std::string_view msg) {
    std::string out = "Ably error ";
    out += std::to_string(code);
    if (status != 0) out += " (HTTP " + std::to_string(status) + ")";
    if (!msg.empty()) out += ": " + std::string(msg);
    return out;
}

}  // namespace

BodyHandler::BodyHandler(const DecodeLimits& limits)
    : limits_(limits),
      data_(limits) {
    pending_timestamps_.reserve(4);
}

BodyHandler::Field BodyHandler::lookup(Node node, std::string_view key) noexcept {
    // Literal lengths are compile-time constants, so each test is a length check plus one or
    // two word compares: key lookup is a measurable share of the per-message cost.
    switch (node) {
        case Node::Envelope:
            if (is(key, "presence")) return Field::Presence;
            if (is(key, "channel")) return Field::Channel;
            if (is(key, "source")) return Field::Source;
            if (is(key, "timestamp")) return Field::Timestamp;
            if (is(key, "occupancy")) return Field::Occupancy;
            break;
        case Node::WebhookBody:
            if (is(key, "items")) return Field::Items;
            break;
        case Node::Item:
            if (is(key, "data")) return Field::Data;
            if (is(key, "source")) return Field::Source;
            if (is(key, "timestamp")) return Field::Timestamp;
            break;
        case Node::ItemData:
            if (is(key, "presence")) return Field::Presence;
            if (is(key, "channelId")) return Field::Channel;
            if (is(key, "occupancy")) return Field::Occupancy;
            break;
        case Node::PresenceElem:
            switch (key.size()) {
                case 2:
                    if (is(key, "id")) return Field::Id;
                    break;
                case 4:
                    if (is(key, "data")) return Field::Data;
                    break;
                case 6:
                    if (is(key, "action")) return Field::Action;
                    if (is(key, "extras")) return Field::Extras;
                    break;
                case 8:
                    if (is(key, "clientId")) return Field::ClientId;
                    if (is(key, "encoding")) return Field::Encoding;
                    break;
                case 9:
                    if (is(key, "timestamp")) return Field::Timestamp;
                    break;
                case 12:
                    if (is(key, "connectionId")) return Field::ConnectionId;
                    break;
                default:
                    break;
            }
            break;
        case Node::OccupancyElem:
            if (is(key, "metrics")) return Field::Metrics;
            break;
        case Node::Metrics:
            if (is(key, "connections")) return Field::Connections;
            if (is(key, "publishers")) return Field::Publishers;
            if (is(key, "subscribers")) return Field::Subscribers;
            if (is(key, "presenceConnections")) return Field::PresenceConnections;
            if (is(key, "presenceMembers")) return Field::PresenceMembers;
            if (is(key, "presenceSubscribers")) return Field::PresenceSubscribers;
            break;
        case Node::BatchBody:
            if (is(key, "results")) return Field::Results;
            if (is(key, "batchResponse")) return Field::Results;
            if (is(key, "error")) return Field::Error;
            break;
        case Node::Result:
            if (is(key, "channel")) return Field::Channel;
            if (is(key, "presence")) return Field::Presence;
            if (is(key, "error")) return Field::Error;
            break;
        case Node::ErrorInfo:
            if (is(key, "code")) return Field::Code;
            if (is(key, "statusCode")) return Field::StatusCode;
            if (is(key, "message")) return Field::Message;
            break;
        default:
            break;
    }
    return Field::Other;
}

bool BodyHandler::is_array_node(Node node) noexcept {
    return node == Node::Items || node == Node::PresenceArray || node == Node::OccupancyArray ||
           node == Node::Results;
}

// ---- setup -----------------------------------------------------------------------------

void BodyHandler::reset(char* buffer, Shape shape) {
    shape_ = shape;
    buffer_ = buffer;
    batch_ = nullptr;
    list_ = nullptr;
    results_ = nullptr;
    fixed_channel_ = {};
    defaults_ = {};
    frame_count_ = 0;
    nesting_ = 0;
    skip_depth_ = 0;
    capturing_ = false;
    scope_ = {};
    element_ = {};
    occ_index_ = 0;
    occ_has_metrics_ = false;
    error_info_ = {};
    top_error_ = {};
    has_root_array_ = false;
    pending_timestamps_.clear();
    error_ = Errc{};
    message_.clear();
}

void BodyHandler::start_queue(char* buffer, DecodedBatch& out, const EnvelopeDefaults& defaults) {
    reset(buffer, Shape::Queue);
    batch_ = &out;
    defaults_ = defaults;
    call_msg_begin_ = out.presence_count;
    call_occ_begin_ = out.occupancy.size();
    call_ignored_ = out.ignored_sources;
}

void BodyHandler::start_webhook(char* buffer, DecodedBatch& out) {
    reset(buffer, Shape::Webhook);
    batch_ = &out;
    call_msg_begin_ = out.presence_count;
    call_occ_begin_ = out.occupancy.size();
    call_ignored_ = out.ignored_sources;
}

void BodyHandler::start_channel_presence(char* buffer,
                                         std::vector<PresenceMessage>& out,
                                         std::string_view channel) {
    reset(buffer, Shape::ChannelPresence);
    list_ = &out;
    fixed_channel_ = channel;
}

void BodyHandler::start_batch(char* buffer, std::vector<ChannelPresence>& out) {
    reset(buffer, Shape::BatchPresence);
    results_ = &out;
    call_results_begin_ = out.size();
}

bool BodyHandler::finish() {
    if (shape_ == Shape::Webhook && !has_root_array_) {
        return fail_field("items", Errc::MissingField, "missing");
    }
    if (shape_ == Shape::BatchPresence && !has_root_array_) {
        if (top_error_.present) {
            return fail_field(
                "error", errc_for_ably_error(top_error_.status_code, top_error_.code),
                describe_ably_error(top_error_.code, top_error_.status_code, top_error_.message));
        }
        return fail_field("results", Errc::MissingField,
                          "missing (neither results nor batchResponse)");
    }
    return true;
}

// ---- message sink ----------------------------------------------------------------------

PresenceMessage& BodyHandler::new_message() {
    switch (shape_) {
        case Shape::ChannelPresence:
            return list_->emplace_back();
        case Shape::BatchPresence:
            return results_->back().members.emplace_back();
        case Shape::Queue:
        case Shape::Webhook:
            break;
    }
    auto& pool = batch_->presence;
    if (batch_->presence_count == pool.size()) pool.emplace_back();
    PresenceMessage& m = pool[batch_->presence_count++];
    // Recycle the spare: clear() keeps each string's capacity.
    m.channel.clear();
    m.id.clear();
    m.client_id.clear();
    m.connection_id.clear();
    m.action = PresenceAction::Present;
    m.timestamp = 0;
    m.data.clear();
    m.encoding.clear();
    m.extras.clear();
    return m;
}

std::size_t BodyHandler::message_count() const noexcept {
    switch (shape_) {
        case Shape::ChannelPresence:
            return list_->size();
        case Shape::BatchPresence:
            return results_->back().members.size();
        case Shape::Queue:
        case Shape::Webhook:
            break;
    }
    return batch_->presence_count;
}

PresenceMessage& BodyHandler::message_at(std::size_t i) noexcept {
    switch (shape_) {
        case Shape::ChannelPresence:
            return (*list_)[i];
        case Shape::BatchPresence:
            return results_->back().members[i];
        case Shape::Queue:
        case Shape::Webhook:
            break;
    }
    return batch_->presence[i];
}

void BodyHandler::truncate_messages(std::size_t n) noexcept {
    switch (shape_) {
        case Shape::ChannelPresence:
            list_->erase(list_->begin() + static_cast<std::ptrdiff_t>(n), list_->end());
            return;
        case Shape::BatchPresence: {
            auto& members = results_->back().members;
            members.erase(members.begin() + static_cast<std::ptrdiff_t>(n), members.end());
            return;
        }
        case Shape::Queue:
        case Shape::Webhook:
            break;
    }
    batch_->presence_count = n;
}

void BodyHandler::truncate_occupancy(std::size_t n) noexcept {
    if (batch_ == nullptr) return;
    auto& occ = batch_->occupancy;
    occ.erase(occ.begin() + static_cast<std::ptrdiff_t>(n), occ.end());
}

// ---- errors ----------------------------------------------------------------------------

std::string BodyHandler::path(bool include_top_key) const {
    std::string p;
    for (std::size_t i = 0; i < frame_count_; ++i) {
        const Frame& f = frames_[i];
        if (is_array_node(f.node)) {
            p += '[';
            p += std::to_string(f.index);
            p += ']';
        } else if (f.field != Field::None && (include_top_key || i + 1 < frame_count_)) {
            if (!p.empty()) p += '.';
            // Keys were validated as UTF-8; keep control characters out of messages anyway.
            const std::size_t start = p.size();
            p.append(utf8_prefix(f.key, 64));
            for (std::size_t j = start; j < p.size(); ++j) {
                if (static_cast<unsigned char>(p[j]) < 0x20) p[j] = '?';
            }
        }
    }
    return p;
}

bool BodyHandler::fail(Errc code, std::string_view detail) {
    if (error_ != Errc{}) return false;  // keep the first, most specific error
    error_ = code;
    message_ = path(true);
    if (message_.empty()) message_ = "body";
    message_ += ": ";
    message_.append(detail);
    return false;
}

bool BodyHandler::fail_field(std::string_view field, Errc code, std::string_view detail) {
    if (error_ != Errc{}) return false;
    error_ = code;
    message_ = path(false);
    if (!message_.empty()) message_ += '.';
    message_.append(field);
    message_ += ": ";
    message_.append(detail);
    return false;
}

bool BodyHandler::fail_presence_field(std::uint32_t element,
                                      std::string_view field,
                                      Errc code,
                                      std::string_view detail) {
    std::string name = shape_ == Shape::Webhook ? "data.presence[" : "presence[";
    name += std::to_string(element);
    name += "].";
    name.append(field);
    return fail_field(name, code, detail);
}

bool BodyHandler::unexpected_number() {
    return fail(Errc::WrongType, "unexpected number event");
}

bool BodyHandler::wrong_type(Field field) {
    switch (field) {
        case Field::Presence:
        case Field::Items:
        case Field::Results:
            return fail(Errc::WrongType, "expected an array");
        case Field::Data:
        case Field::Extras:
        case Field::Metrics:
        case Field::Error:
            return fail(Errc::WrongType, "expected an object");
        case Field::Occupancy:
            return fail(Errc::WrongType, "expected an array or an object");
        case Field::Timestamp:
        case Field::Connections:
        case Field::Publishers:
        case Field::Subscribers:
        case Field::PresenceConnections:
        case Field::PresenceMembers:
        case Field::PresenceSubscribers:
        case Field::Code:
        case Field::StatusCode:
            return fail(Errc::WrongType, "expected an integer");
        case Field::Action:
            return fail(Errc::UnknownAction,
                        "not a presence action (0..4 or absent/present/enter/leave/update)");
        default:
            return fail(Errc::WrongType, "expected a string");
    }
}

// ---- typed fields ----------------------------------------------------------------------

bool BodyHandler::string_field(const Scalar& value, std::string& target, bool& present) {
    if (value.kind == Scalar::Kind::Null) {
        target.clear();
        present = false;
        return true;
    }
    std::string_view view;
    if (!string_view_field(value, view, present)) return false;
    target.assign(view);
    return true;
}

bool BodyHandler::string_view_field(const Scalar& value, std::string_view& target, bool& present) {
    if (value.kind == Scalar::Kind::Null) {
        target = {};
        present = false;
        return true;
    }
    if (value.kind != Scalar::Kind::String) return fail(Errc::WrongType, "expected a string");
    if (value.text.size() > limits_.max_string_bytes) {
        return fail(Errc::TooLarge, std::to_string(value.text.size()) +
                                        " bytes exceeds max_string_bytes (" +
                                        std::to_string(limits_.max_string_bytes) + ")");
    }
    target = value.text;
    present = true;
    return true;
}

bool BodyHandler::int_field(const Scalar& value, std::int64_t& target, bool& present) {
    if (value.kind == Scalar::Kind::Null) {
        present = false;
        return true;
    }
    if (value.kind != Scalar::Kind::Number) return fail(Errc::WrongType, "expected an integer");
    switch (parse_int64(value.text, target)) {
        case IntParse::Ok:
            present = true;
            return true;
        case IntParse::NotInteger:
            return fail(Errc::WrongType, "expected an integer, got " + quoted(value.text));
        case IntParse::OutOfRange:
            return fail(Errc::WrongType, quoted(value.text) + " is outside the int64 range");
    }
    return false;
}

bool BodyHandler::action_field(const Scalar& value, PresenceAction& target, bool& present) {
    switch (value.kind) {
        case Scalar::Kind::Null:
            present = false;
            return true;
        case Scalar::Kind::Number:
            if (value.text.size() == 1 && value.text[0] >= '0' && value.text[0] <= '4') {
                target = static_cast<PresenceAction>(value.text[0] - '0');
                present = true;
                return true;
            }
            break;
        case Scalar::Kind::String:
            if (const auto parsed = parse_presence_action(value.text)) {
                target = *parsed;
                present = true;
                return true;
            }
            break;
        case Scalar::Kind::Bool:
            break;
    }
    const std::string shown =
        value.kind == Scalar::Kind::Bool ? (value.boolean ? "true" : "false") : quoted(value.text);
    return fail(Errc::UnknownAction,
                shown + " is not a presence action (0..4 or absent/present/enter/leave/update)");
}

// ---- SAX events ------------------------------------------------------------------------

bool BodyHandler::capture_result(bool ok) {
    if (!ok) return fail(emitter_.error(), emitter_.error_detail());
    if (emitter_.depth() == 0) {
        capturing_ = false;
        after_value();
    }
    return true;
}

bool BodyHandler::begin_capture(std::string& target, bool is_object) {
    emitter_.begin(target, limits_.max_member_data_bytes, limits_.max_depth);
    capturing_ = true;
    return capture_result(is_object ? emitter_.StartObject() : emitter_.StartArray());
}

bool BodyHandler::Null() {
    if (capturing_) return capture_result(emitter_.Null());
    if (skip_depth_ > 0) return true;
    return scalar({Scalar::Kind::Null, {}, false});
}

bool BodyHandler::Bool(bool b) {
    if (capturing_) return capture_result(emitter_.Bool(b));
    if (skip_depth_ > 0) return true;
    return scalar({Scalar::Kind::Bool, b ? "true" : "false", b});
}

bool BodyHandler::RawNumber(const Ch* str, rapidjson::SizeType length, bool copy) {
    if (capturing_) return capture_result(emitter_.RawNumber(str, length, copy));
    if (skip_depth_ > 0) return true;
    return scalar({Scalar::Kind::Number, {str, length}, false});
}

bool BodyHandler::String(const Ch* str, rapidjson::SizeType length, bool copy) {
    if (capturing_) return capture_result(emitter_.String(str, length, copy));
    const std::string_view text(str, length);
    if (!is_valid_utf8(text)) return fail(Errc::InvalidUtf8, "string is not valid UTF-8");
    if (skip_depth_ > 0) return true;
    return scalar({Scalar::Kind::String, text, false});
}

bool BodyHandler::Key(const Ch* str, rapidjson::SizeType length, bool copy) {
    if (capturing_) return capture_result(emitter_.Key(str, length, copy));
    const std::string_view key(str, length);
    if (!is_valid_utf8(key)) return fail(Errc::InvalidUtf8, "an object key is not valid UTF-8");
    if (skip_depth_ > 0) return true;
    Frame& top = frames_[frame_count_ - 1];
    top.field = lookup(top.node, key);
    top.key = key;
    return true;
}

void BodyHandler::after_value() {
    if (frame_count_ == 0) return;
    Frame& top = frames_[frame_count_ - 1];
    if (is_array_node(top.node)) {
        ++top.index;
    } else {
        top.field = Field::None;
        top.key = {};
    }
}

bool BodyHandler::push(Node node) {
    if (frame_count_ == kMaxFrames) return fail(Errc::TooDeep, "unexpected nesting");
    frames_[frame_count_++] = Frame{node, Field::None, 0, {}};
    return true;
}

void BodyHandler::begin_scope() {
    scope_ = {};
    scope_.msg_begin = message_count();
    scope_.occ_begin = batch_ != nullptr ? batch_->occupancy.size() : 0;
    pending_timestamps_.clear();
}

bool BodyHandler::scalar(const Scalar& value) {
    if (frame_count_ == 0) {
        switch (shape_) {
            case Shape::Queue:
                return fail(Errc::WrongType, "expected a JSON object (an envelope)");
            case Shape::Webhook:
                return fail(Errc::WrongType, "expected a JSON object with items");
            case Shape::ChannelPresence:
                return fail(Errc::WrongType, "expected a JSON array of presence messages");
            case Shape::BatchPresence:
                return fail(Errc::WrongType, "expected a batch presence object or array");
        }
    }
    Frame& top = frames_[frame_count_ - 1];
    if (is_array_node(top.node)) return fail(Errc::WrongType, "expected an object");

    const bool is_null = value.kind == Scalar::Kind::Null;
    bool ok = true;
    bool ignored = false;
    switch (top.node) {
        case Node::Envelope:
        case Node::Item:
        case Node::ItemData:
        case Node::Result:
            switch (top.field) {
                case Field::Source:
                    ok = string_view_field(value, scope_.source, scope_.has_source);
                    break;
                case Field::Channel:
                    ok = string_view_field(value, scope_.channel, scope_.has_channel);
                    break;
                case Field::Timestamp:
                    ok = int_field(value, scope_.timestamp, scope_.has_timestamp);
                    break;
                case Field::Other:
                    break;
                default:
                    ok = is_null || wrong_type(top.field);  // containers given as scalars
            }
            break;
        case Node::PresenceElem:
            ok = element_field(top.field, value);
            break;
        case Node::Metrics: {
            auto& m = batch_->occupancy[occ_index_].metrics;
            std::int64_t* target = nullptr;
            switch (top.field) {
                case Field::Connections:
                    target = &m.connections;
                    break;
                case Field::Publishers:
                    target = &m.publishers;
                    break;
                case Field::Subscribers:
                    target = &m.subscribers;
                    break;
                case Field::PresenceConnections:
                    target = &m.presence_connections;
                    break;
                case Field::PresenceMembers:
                    target = &m.presence_members;
                    break;
                case Field::PresenceSubscribers:
                    target = &m.presence_subscribers;
                    break;
                default:
                    break;
            }
            if (target != nullptr) ok = int_field(value, *target, ignored);
            break;
        }
        case Node::ErrorInfo:
            switch (top.field) {
                case Field::Code:
                    ok = int_field(value, error_info_.code, ignored);
                    break;
                case Field::StatusCode:
                    ok = int_field(value, error_info_.status_code, ignored);
                    break;
                case Field::Message:
                    ok = string_view_field(value, error_info_.message, ignored);
                    break;
                default:
                    break;
            }
            break;
        default:  // WebhookBody, OccupancyElem, BatchBody: only container fields are known
            if (top.field != Field::Other && !is_null) ok = wrong_type(top.field);
            break;
    }
    if (!ok) return false;
    after_value();
    return true;
}

bool BodyHandler::element_field(Field field, const Scalar& value) {
    PresenceMessage& m = *element_.msg;
    bool ignored = false;
    switch (field) {
        case Field::Id:
            return string_field(value, m.id, element_.has_id);
        case Field::ClientId:
            return string_field(value, m.client_id, element_.has_client_id);
        case Field::ConnectionId:
            return string_field(value, m.connection_id, element_.has_connection_id);
        case Field::Timestamp:
            return int_field(value, m.timestamp, element_.has_timestamp);
        case Field::Action:
            return action_field(value, m.action, element_.has_action);
        case Field::Encoding:
            return string_field(value, m.encoding, ignored);
        case Field::Data:
            switch (value.kind) {
                case Scalar::Kind::Null:
                    element_.data_kind = DataKind::Absent;
                    break;
                case Scalar::Kind::String:
                    element_.data_kind = DataKind::String;
                    element_.data_offset = static_cast<std::size_t>(value.text.data() - buffer_);
                    element_.data_length = value.text.size();
                    break;
                case Scalar::Kind::Number:
                case Scalar::Kind::Bool:
                    element_.data_kind = DataKind::Value;
                    m.data.assign(value.text);
                    break;
            }
            return true;
        case Field::Extras:
            if (value.kind == Scalar::Kind::Null) {
                m.extras.clear();
                return true;
            }
            return wrong_type(Field::Extras);
        default:
            return true;
    }
}

bool BodyHandler::start_container(bool is_object) {
    if (++nesting_ > limits_.max_depth) {
        return fail(Errc::TooDeep,
                    "nesting exceeds max_depth (" + std::to_string(limits_.max_depth) + ")");
    }
    if (capturing_) {
        return capture_result(is_object ? emitter_.StartObject() : emitter_.StartArray());
    }
    if (skip_depth_ > 0) {
        ++skip_depth_;
        return true;
    }
    if (frame_count_ == 0) return start_root(is_object);
    return start_known(frames_[frame_count_ - 1], is_object);
}

bool BodyHandler::start_root(bool is_object) {
    switch (shape_) {
        case Shape::Queue:
            if (!is_object) return fail(Errc::WrongType, "expected a JSON object (an envelope)");
            begin_scope();
            return push(Node::Envelope);
        case Shape::Webhook:
            if (!is_object) return fail(Errc::WrongType, "expected a JSON object with items");
            return push(Node::WebhookBody);
        case Shape::ChannelPresence:
            if (is_object) {
                return fail(Errc::WrongType, "expected a JSON array of presence messages");
            }
            return push(Node::PresenceArray);
        case Shape::BatchPresence:
            if (is_object) return push(Node::BatchBody);
            has_root_array_ = true;
            return push(Node::Results);
    }
    return false;
}

bool BodyHandler::start_known(Frame& top, bool is_object) {
    if (is_array_node(top.node)) {
        if (!is_object) return fail(Errc::WrongType, "expected an object");
        switch (top.node) {
            case Node::PresenceArray: {
                element_ = {};
                element_.msg = &new_message();
                element_.index = top.index;
                element_.slot = message_count() - 1;
                if (shape_ == Shape::ChannelPresence) element_.msg->channel.assign(fixed_channel_);
                return push(Node::PresenceElem);
            }
            case Node::Items:
                begin_scope();
                return push(Node::Item);
            case Node::OccupancyArray:
                occ_index_ = batch_->occupancy.size();
                batch_->occupancy.emplace_back();
                occ_has_metrics_ = false;
                return push(Node::OccupancyElem);
            case Node::Results:
                results_->emplace_back();
                begin_scope();
                error_info_ = {};
                return push(Node::Result);
            default:
                return false;
        }
    }

    switch (top.node) {
        case Node::Envelope:
        case Node::ItemData:
            if (top.field == Field::Presence) {
                if (is_object) return wrong_type(Field::Presence);
                truncate_messages(scope_.msg_begin);  // a repeated key: the last one wins
                pending_timestamps_.clear();
                scope_.has_presence = true;
                return push(Node::PresenceArray);
            }
            if (top.field == Field::Occupancy) {
                truncate_occupancy(scope_.occ_begin);
                scope_.has_occupancy = true;
                if (!is_object) return push(Node::OccupancyArray);
                occ_index_ = batch_->occupancy.size();
                batch_->occupancy.emplace_back();
                occ_has_metrics_ = false;
                return push(Node::OccupancyElem);
            }
            break;
        case Node::WebhookBody:
            if (top.field == Field::Items) {
                if (is_object) return wrong_type(Field::Items);
                truncate_messages(call_msg_begin_);
                truncate_occupancy(call_occ_begin_);
                batch_->ignored_sources = call_ignored_;
                has_root_array_ = true;
                return push(Node::Items);
            }
            break;
        case Node::Item:
            if (top.field == Field::Data) {
                if (!is_object) return wrong_type(Field::Data);
                truncate_messages(scope_.msg_begin);
                truncate_occupancy(scope_.occ_begin);
                pending_timestamps_.clear();
                scope_.has_channel = false;
                scope_.has_presence = false;
                scope_.has_occupancy = false;
                return push(Node::ItemData);
            }
            break;
        case Node::PresenceElem:
            if (top.field == Field::Data) {
                element_.data_kind = DataKind::Value;
                return begin_capture(element_.msg->data, is_object);
            }
            if (top.field == Field::Extras) {
                if (!is_object) return wrong_type(Field::Extras);
                return begin_capture(element_.msg->extras, is_object);
            }
            break;
        case Node::OccupancyElem:
            if (top.field == Field::Metrics) {
                if (!is_object) return wrong_type(Field::Metrics);
                batch_->occupancy[occ_index_].metrics = {};
                return push(Node::Metrics);
            }
            break;
        case Node::BatchBody:
            if (top.field == Field::Results) {
                if (is_object) return wrong_type(Field::Results);
                results_->erase(
                    results_->begin() + static_cast<std::ptrdiff_t>(call_results_begin_),
                    results_->end());
                has_root_array_ = true;
                return push(Node::Results);
            }
            if (top.field == Field::Error) {
                if (!is_object) return wrong_type(Field::Error);
                error_info_ = {};
                return push(Node::ErrorInfo);
            }
            break;
        case Node::Result:
            if (top.field == Field::Presence) {
                if (is_object) return wrong_type(Field::Presence);
                results_->back().members.clear();
                scope_.has_presence = true;
                return push(Node::PresenceArray);
            }
            if (top.field == Field::Error) {
                if (!is_object) return wrong_type(Field::Error);
                error_info_ = {};
                return push(Node::ErrorInfo);
            }
            break;
        default:
            break;
    }
    if (top.field == Field::Other) {
        skip_depth_ = 1;
        return true;
    }
    return wrong_type(top.field);
}

bool BodyHandler::end_container(bool is_object) {
    --nesting_;
    if (capturing_) {
        return capture_result(is_object ? emitter_.EndObject(0) : emitter_.EndArray(0));
    }
    if (skip_depth_ > 0) {
        if (--skip_depth_ == 0) after_value();
        return true;
    }
    const Node node = frames_[frame_count_ - 1].node;
    switch (node) {
        case Node::PresenceElem:
            if (!finish_element()) return false;
            break;
        case Node::Envelope:
        case Node::Item:
            if (!finish_scope()) return false;
            break;
        case Node::Result:
            if (!finish_result()) return false;
            break;
        case Node::OccupancyElem:
            if (!occ_has_metrics_) return fail_field("metrics", Errc::MissingField, "missing");
            break;
        case Node::Metrics:
            occ_has_metrics_ = true;
            break;
        case Node::ErrorInfo:
            if (frame_count_ >= 2 && frames_[frame_count_ - 2].node == Node::Result) {
                scope_.has_error = true;
            } else {
                top_error_ = error_info_;
                top_error_.present = true;
            }
            break;
        default:
            break;
    }
    --frame_count_;
    after_value();
    return true;
}

// ---- completing objects ----------------------------------------------------------------

bool BodyHandler::finish_element() {
    PresenceMessage& m = *element_.msg;
    if (!element_.has_id) return fail_field("id", Errc::MissingField, "missing");
    if (!element_.has_client_id) return fail_field("clientId", Errc::MissingField, "missing");
    if (!element_.has_connection_id) {
        return fail_field("connectionId", Errc::MissingField, "missing");
    }
    if (!element_.has_action) return fail_field("action", Errc::MissingField, "missing");
    if (m.encoding.size() > limits_.max_string_bytes) {
        return fail_field("encoding", Errc::TooLarge, "exceeds max_string_bytes");
    }
    switch (element_.data_kind) {
        case DataKind::Absent:
            m.data.assign("null");
            m.encoding.clear();  // nothing to decode
            break;
        case DataKind::String:
            if (!data_.decode_string(buffer_ + element_.data_offset, element_.data_length,
                                     m.encoding, m.data)) {
                return fail_field("data", data_.error(), data_.message());
            }
            break;
        case DataKind::Value:
            if (!data_.decode_value(m.encoding)) {
                return fail_field("data", data_.error(), data_.message());
            }
            break;
    }
    if (m.data.size() > limits_.max_member_data_bytes) {
        return fail_field("data", Errc::TooLarge,
                          std::to_string(m.data.size()) + " bytes exceeds max_member_data_bytes (" +
                              std::to_string(limits_.max_member_data_bytes) + ")");
    }
    if (!element_.has_timestamp) {
        if (shape_ == Shape::Queue || shape_ == Shape::Webhook) {
            pending_timestamps_.push_back({element_.slot, element_.index});
        } else {
            return fail_field("timestamp", Errc::MissingField, "missing");
        }
    }
    return true;
}

bool BodyHandler::resolve_timestamps() {
    if (pending_timestamps_.empty()) return true;
    bool has = scope_.has_timestamp;
    std::int64_t ts = scope_.timestamp;
    if (!has && shape_ == Shape::Queue && defaults_.has_timestamp) {
        has = true;
        ts = defaults_.timestamp;
    }
    if (!has) {
        return fail_presence_field(pending_timestamps_.front().element, "timestamp",
                                   Errc::MissingField,
                                   "missing, and the envelope has no timestamp");
    }
    for (const PendingTimestamp& p : pending_timestamps_) message_at(p.message).timestamp = ts;
    pending_timestamps_.clear();
    return true;
}

bool BodyHandler::finish_scope() {
    const bool webhook = shape_ == Shape::Webhook;
    std::string_view source = scope_.source;
    if (!scope_.has_source) {
        if (webhook || defaults_.source.empty()) {
            return fail_field("source", Errc::MissingField, "missing");
        }
        source = defaults_.source;
    }
    std::string_view channel = scope_.channel;
    bool has_channel = scope_.has_channel;
    if (!has_channel && !webhook && !defaults_.channel.empty()) {
        channel = defaults_.channel;
        has_channel = true;
    }
    const std::string_view channel_field = webhook ? "data.channelId" : "channel";

    if (source == kSourcePresence) {
        if (!scope_.has_presence) {
            return fail_field(webhook ? "data.presence" : "presence", Errc::MissingField,
                              "missing");
        }
        if (!has_channel) return fail_field(channel_field, Errc::MissingField, "missing");
        for (std::size_t i = scope_.msg_begin, n = message_count(); i < n; ++i) {
            message_at(i).channel.assign(channel);
        }
        if (!resolve_timestamps()) return false;
        truncate_occupancy(scope_.occ_begin);
    } else if (source == kSourceOccupancy) {
        if (!scope_.has_occupancy) {
            return fail_field(webhook ? "data.occupancy" : "occupancy", Errc::MissingField,
                              "missing");
        }
        if (!has_channel) return fail_field(channel_field, Errc::MissingField, "missing");
        std::int64_t ts = scope_.has_timestamp ? scope_.timestamp : 0;
        if (!scope_.has_timestamp && !webhook && defaults_.has_timestamp) ts = defaults_.timestamp;
        for (std::size_t i = scope_.occ_begin; i < batch_->occupancy.size(); ++i) {
            batch_->occupancy[i].channel.assign(channel);
            batch_->occupancy[i].timestamp = ts;
        }
        truncate_messages(scope_.msg_begin);
    } else if (source == kSourceMessage || source == kSourceLifecycle) {
        ++batch_->ignored_sources;
        truncate_messages(scope_.msg_begin);
        truncate_occupancy(scope_.occ_begin);
    } else {
        return fail_field("source", Errc::UnknownSource, "unknown source " + quoted(source));
    }
    pending_timestamps_.clear();
    return true;
}

bool BodyHandler::finish_result() {
    ChannelPresence& r = results_->back();
    if (!scope_.has_channel) return fail_field("channel", Errc::MissingField, "missing");
    r.channel.assign(scope_.channel);
    for (PresenceMessage& m : r.members) m.channel.assign(scope_.channel);
    if (scope_.has_error) {
        r.error = make_error_code(errc_for_ably_error(error_info_.status_code, error_info_.code));
        r.ably_error_code =
            static_cast<int>(std::clamp<std::int64_t>(error_info_.code, INT32_MIN, INT32_MAX));
        r.error_message.assign(error_info_.message);
    } else if (!scope_.has_presence) {
        return fail_field("presence", Errc::MissingField, "missing (and no error)");
    }
    return true;
}

}  // namespace presenceagg::detail

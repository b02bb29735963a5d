// SPDX-License-Identifier: MIT
// presenceagg::Decoder: entry points, limits, rollback, and the non-enveloped queue message.
//
// Non-enveloped queue messages (headers carry X-ABLY-ENVELOPE-SOURCE; names compared
// case-insensitively):
// - channel.presence: the body is the member's raw data; one PresenceMessage is built from
//   X-ABLY-ENVELOPE-CHANNEL, X-ABLY-MESSAGE-ID, -CLIENT-ID, -CONNECTION-ID, -ACTION (a name
//   or "0".."4") and -TIMESTAMP (falling back to X-ABLY-ENVELOPE-TIMESTAMP); all are
//   required. The body becomes `data` by this rule:
//     1. JSON when the content type (a header named "content-type" or "content_type", the
//        AMQP property, media type application/json or */*+json) or the last step of an
//        encoding header ("x-ably-message-encoding" or "x-ably-encoding") says JSON, and the
//        body parses (limits apply): `data` is the compact JSON, the json step is consumed.
//     2. Otherwise, when the body is valid UTF-8: a JSON string; a trailing utf-8 step of the
//        encoding header is consumed.
//     3. Otherwise binary: the base64 text as a JSON string, `encoding` = the encoding header
//        (if any) followed by "base64", as it would read in an enveloped message.
//   Steps of an encoding header not consumed above stay in `encoding` (flagged).
// - channel.message, channel.lifecycle: counted in ignored_sources; the body is not read.
// - channel.occupancy: the body is read as an envelope; its missing `source`, `channel` and
//   `timestamp` default to the header values.
// - any other source: UnknownSource.
// Without X-ABLY-ENVELOPE-SOURCE the body is an enveloped JSON message.
//
// Limits: max_depth is capped at detail::kMaxSupportedDepth (256) and max_body_bytes just
// below 4 GiB (RapidJSON's 32-bit sizes), whatever DecodeLimits asks for.

#include <algorithm>
#include <new>
#include <stdexcept>

#include <presenceagg/decode.hpp>

#include "codec/base64.hpp"
#include "codec/body_handler.hpp"
#include "codec/json_parse.hpp"
#include "codec/rapidjson.hpp"
#include "codec/utf8.hpp"
#include "wire/json_text.hpp"

namespace presenceagg {

namespace {

// RapidJSON sizes are 32-bit; whatever the configured limit, bodies stay well below that.
constexpr std::size_t kHardBodyLimit = 0xFFFF0000U;

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

const Header* find_header(std::span<const Header> headers, std::string_view name) noexcept {
    for (const Header& h : headers) {
        if (iequals(h.name, name)) return &h;
    }
    return nullptr;
}

bool ends_with_ci(std::string_view text, std::string_view suffix) noexcept {
    return text.size() >= suffix.size() &&
           iequals(text.substr(text.size() - suffix.size()), suffix);
}

// "application/json; charset=utf-8" -> true; "application/ld+json" -> true.
bool is_json_media_type(std::string_view content_type) noexcept {
    content_type = content_type.substr(0, content_type.find(';'));
    while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) {
        content_type.remove_suffix(1);
    }
    while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
        content_type.remove_prefix(1);
    }
    return iequals(content_type, "application/json") || ends_with_ci(content_type, "+json");
}

// Removes a trailing `step` from a '/'-separated encoding; true when it was there.
bool strip_last_step(std::string& encoding, std::string_view step) {
    const std::size_t slash = encoding.rfind('/');
    const std::string_view last = slash == std::string::npos
                                      ? std::string_view(encoding)
                                      : std::string_view(encoding).substr(slash + 1);
    if (last != step) return false;
    encoding.resize(slash == std::string::npos ? 0 : slash);
    return true;
}

bool parse_header_int64(std::string_view text, std::int64_t& out) noexcept {
    std::size_t i = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) i = 1;
    if (i == text.size()) return false;
    const std::uint64_t limit = negative ? 9223372036854775808ULL : 9223372036854775807ULL;
    std::uint64_t value = 0;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') return false;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (limit - digit) / 10) return false;
        value = value * 10 + digit;
    }
    out = negative ? static_cast<std::int64_t>(0 - value) : static_cast<std::int64_t>(value);
    return true;
}

// A header value for an error message: quoted, bounded, and only if it is valid UTF-8.
std::string quoted_header(std::string_view value) {
    if (!detail::is_valid_utf8(value)) return "(not valid UTF-8)";
    const std::string_view shown = detail::utf8_prefix(value, 64);
    std::string out;
    detail::append_json_string(out, shown);
    if (shown.size() < value.size()) out += "...";
    return out;
}

DecodeResult failure(Errc code, std::string message) {
    return DecodeResult{make_error_code(code), std::move(message)};
}

// The limits actually enforced: nesting and body size have hard caps (json_parse.hpp).
DecodeLimits enforced(DecodeLimits limits) noexcept {
    limits.max_depth = detail::effective_depth(limits.max_depth);
    limits.max_body_bytes = std::min(limits.max_body_bytes, kHardBodyLimit);
    return limits;
}

DecodeResult out_of_memory() {
    return failure(Errc::TooLarge, "body: out of memory while decoding");
}

}  // namespace

struct Decoder::Impl {
    explicit Impl(const DecodeLimits& l)
        : limits(enforced(l)),
          handler(limits) {}

    DecodeResult check_body(std::string_view body) const {
        const std::size_t limit = limits.max_body_bytes;
        if (body.size() > limit) {
            return failure(Errc::TooLarge, "body: " + std::to_string(body.size()) +
                                               " bytes exceeds max_body_bytes (" +
                                               std::to_string(limit) + ")");
        }
        return {};
    }

    // Copies `body` into the in-situ buffer; the handler is started on the returned address.
    char* load(std::string_view body) { return detail::load_for_parse(buffer, body); }

    // Runs the started handler over the loaded buffer.
    DecodeResult parse(std::string_view body) {
        const auto outcome = detail::parse_json_insitu(reader, buffer.data(), handler);
        if (outcome.result.IsError()) {
            if (handler.error() != Errc{}) return failure(handler.error(), handler.message());
            std::string msg = "body: not valid JSON: ";
            detail::append_parse_error(msg, outcome.result);
            return failure(Errc::InvalidJson, std::move(msg));
        }
        if (outcome.consumed != body.size()) {
            return failure(Errc::InvalidJson, "body: not valid JSON: NUL byte at offset " +
                                                  std::to_string(outcome.consumed));
        }
        if (!handler.finish()) return failure(handler.error(), handler.message());
        return {};
    }

    DecodeResult header_string(std::span<const Header> headers,
                               std::string_view name,
                               std::string_view& out) const {
        const Header* h = find_header(headers, name);
        if (h == nullptr)
            return failure(Errc::MissingField, std::string(name) + " header: missing");
        if (h->value.size() > limits.max_string_bytes) {
            return failure(Errc::TooLarge, std::string(name) + " header: exceeds max_string_bytes");
        }
        if (!detail::is_valid_utf8(h->value)) {
            return failure(Errc::InvalidUtf8, std::string(name) + " header: not valid UTF-8");
        }
        out = h->value;
        return {};
    }

    DecodeResult queue(std::string_view body, std::span<const Header> headers, DecodedBatch& out);
    DecodeResult non_enveloped(std::string_view body,
                               std::span<const Header> headers,
                               DecodedBatch& out);
    void body_as_data(std::string_view body, std::string_view content_type, PresenceMessage& m);

    DecodeLimits limits;
    std::string buffer;  // in-situ copy of the body; strings point into it during a call
    rapidjson::Reader reader;
    detail::BodyHandler handler;
};

DecodeResult Decoder::Impl::queue(std::string_view body,
                                  std::span<const Header> headers,
                                  DecodedBatch& out) {
    if (auto r = check_body(body); !r.ok()) return r;
    detail::EnvelopeDefaults defaults;
    if (const Header* source = find_header(headers, "x-ably-envelope-source")) {
        const std::string_view s = source->value;
        if (s == "channel.presence") return non_enveloped(body, headers, out);
        if (s == "channel.message" || s == "channel.lifecycle") {
            ++out.ignored_sources;
            return {};
        }
        if (s != "channel.occupancy") {
            return failure(Errc::UnknownSource,
                           "X-ABLY-ENVELOPE-SOURCE header: unknown source " + quoted_header(s));
        }
        defaults.source = s;
        if (find_header(headers, "x-ably-envelope-channel") != nullptr) {
            if (auto r = header_string(headers, "X-ABLY-ENVELOPE-CHANNEL", defaults.channel);
                !r.ok()) {
                return r;
            }
        }
        if (const Header* ts = find_header(headers, "x-ably-envelope-timestamp")) {
            defaults.has_timestamp = parse_header_int64(ts->value, defaults.timestamp);
        }
    }
    handler.start_queue(load(body), out, defaults);
    return parse(body);
}

void Decoder::Impl::body_as_data(std::string_view body,
                                 std::string_view content_type,
                                 PresenceMessage& m) {
    const bool json_step = strip_last_step(m.encoding, "json");
    if (json_step || is_json_media_type(content_type)) {
        if (handler.data_decoder().parse_json(load(body), body.size(), m.data)) return;
        if (json_step) m.encoding += m.encoding.empty() ? "json" : "/json";
    }
    if (detail::is_valid_utf8(body)) {
        (void)(strip_last_step(m.encoding, "utf-8") || strip_last_step(m.encoding, "utf8"));
        m.data.clear();
        detail::append_json_string(m.data, body);
        return;
    }
    m.data.clear();  // not assign("\""): GCC 12 -Wrestrict false positive
    m.data.push_back('"');
    detail::base64_encode_append(body, m.data);
    m.data.push_back('"');
    m.encoding += m.encoding.empty() ? "base64" : "/base64";
}

DecodeResult Decoder::Impl::non_enveloped(std::string_view body,
                                          std::span<const Header> headers,
                                          DecodedBatch& out) {
    std::string_view channel, id, client_id, connection_id, action_text;
    for (auto [name, target] :
         {std::pair{"X-ABLY-ENVELOPE-CHANNEL", &channel}, std::pair{"X-ABLY-MESSAGE-ID", &id},
          std::pair{"X-ABLY-MESSAGE-CLIENT-ID", &client_id},
          std::pair{"X-ABLY-MESSAGE-CONNECTION-ID", &connection_id},
          std::pair{"X-ABLY-MESSAGE-ACTION", &action_text}}) {
        if (auto r = header_string(headers, name, *target); !r.ok()) return r;
    }
    const auto action = parse_presence_action(action_text);
    if (!action) {
        return failure(Errc::UnknownAction,
                       "X-ABLY-MESSAGE-ACTION header: " + quoted_header(action_text) +
                           " is not a presence action (0..4 or absent/present/enter/leave/update)");
    }
    std::int64_t timestamp = 0;
    const Header* ts = find_header(headers, "x-ably-message-timestamp");
    const char* ts_name = "X-ABLY-MESSAGE-TIMESTAMP";
    if (ts == nullptr) {
        ts = find_header(headers, "x-ably-envelope-timestamp");
        ts_name = "X-ABLY-ENVELOPE-TIMESTAMP";
    }
    if (ts == nullptr)
        return failure(Errc::MissingField, "X-ABLY-MESSAGE-TIMESTAMP header: missing");
    if (!parse_header_int64(ts->value, timestamp)) {
        return failure(Errc::WrongType, std::string(ts_name) + " header: not an integer (ms)");
    }
    std::string_view encoding;
    const Header* enc = find_header(headers, "x-ably-message-encoding");
    if (enc == nullptr) enc = find_header(headers, "x-ably-encoding");
    if (enc != nullptr) {
        if (auto r = header_string(headers, enc->name, encoding); !r.ok()) return r;
    }
    const Header* ct = find_header(headers, "content-type");
    if (ct == nullptr) ct = find_header(headers, "content_type");

    auto& pool = out.presence;
    if (out.presence_count == pool.size()) pool.emplace_back();
    PresenceMessage& m = pool[out.presence_count];
    m.channel.assign(channel);
    m.id.assign(id);
    m.client_id.assign(client_id);
    m.connection_id.assign(connection_id);
    m.action = *action;
    m.timestamp = timestamp;
    m.encoding.assign(encoding);
    m.extras.clear();
    body_as_data(body, ct != nullptr ? std::string_view(ct->value) : std::string_view{}, m);
    if (m.data.size() > limits.max_member_data_bytes) {
        return failure(Errc::TooLarge, "body: data of " + std::to_string(m.data.size()) +
                                           " bytes exceeds max_member_data_bytes (" +
                                           std::to_string(limits.max_member_data_bytes) + ")");
    }
    ++out.presence_count;
    return {};
}

// ---- public API ------------------------------------------------------------------------

Decoder::Decoder(DecodeLimits limits)
    : impl_(std::make_unique<Impl>(limits)) {}
Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

namespace {

DecodeResult moved_from() {
    return failure(Errc::InvalidConfig, "Decoder: used after being moved from");
}

// Restores a DecodedBatch to its state before a call that failed.
struct BatchRollback {
    DecodedBatch& batch;
    std::size_t presence_count = batch.presence_count;
    std::size_t occupancy = batch.occupancy.size();
    std::size_t ignored = batch.ignored_sources;

    DecodeResult apply(DecodeResult result) noexcept {
        if (!result.ok()) {
            batch.presence_count = presence_count;
            batch.occupancy.erase(batch.occupancy.begin() + static_cast<std::ptrdiff_t>(occupancy),
                                  batch.occupancy.end());
            batch.ignored_sources = ignored;
        }
        return result;
    }
};

template <typename T>
struct VectorRollback {
    std::vector<T>& items;
    std::size_t size = items.size();

    DecodeResult apply(DecodeResult result) noexcept {
        if (!result.ok()) {
            items.erase(items.begin() + static_cast<std::ptrdiff_t>(size), items.end());
        }
        return result;
    }
};

// Runs `decode`, turning allocation failures into an error value: nothing escapes.
template <typename Rollback, typename Fn>
DecodeResult guarded(Rollback& rollback, Fn&& decode) noexcept {
    try {
        return rollback.apply(decode());
    } catch (const std::bad_alloc&) {
        return rollback.apply(out_of_memory());
    } catch (const std::length_error&) {
        return rollback.apply(out_of_memory());
    } catch (...) {
        return rollback.apply(failure(Errc::InvalidJson, "body: unexpected internal error"));
    }
}

}  // namespace

DecodeResult Decoder::decode_queue_message(std::string_view body,
                                           std::span<const Header> headers,
                                           DecodedBatch& out) {
    if (!impl_) return moved_from();
    BatchRollback rollback{out};
    return guarded(rollback, [&] { return impl_->queue(body, headers, out); });
}

DecodeResult Decoder::decode_webhook(std::string_view body, DecodedBatch& out) {
    if (!impl_) return moved_from();
    BatchRollback rollback{out};
    return guarded(rollback, [&] {
        if (auto r = impl_->check_body(body); !r.ok()) return r;
        impl_->handler.start_webhook(impl_->load(body), out);
        return impl_->parse(body);
    });
}

DecodeResult Decoder::decode_channel_presence(std::string_view body,
                                              std::string_view channel,
                                              std::vector<PresenceMessage>& out) {
    if (!impl_) return moved_from();
    VectorRollback<PresenceMessage> rollback{out};
    return guarded(rollback, [&] {
        if (auto r = impl_->check_body(body); !r.ok()) return r;
        if (!detail::is_valid_utf8(channel)) {
            return failure(Errc::InvalidUtf8, "channel argument: not valid UTF-8");
        }
        impl_->handler.start_channel_presence(impl_->load(body), out, channel);
        return impl_->parse(body);
    });
}

DecodeResult Decoder::decode_batch_presence(std::string_view body,
                                            std::vector<ChannelPresence>& out) {
    if (!impl_) return moved_from();
    VectorRollback<ChannelPresence> rollback{out};
    return guarded(rollback, [&] {
        if (auto r = impl_->check_body(body); !r.ok()) return r;
        impl_->handler.start_batch(impl_->load(body), out);
        return impl_->parse(body);
    });
}

}  // namespace presenceagg

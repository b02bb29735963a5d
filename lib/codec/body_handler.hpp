// SPDX-License-Identifier: MIT
#pragma once

// The SAX state machine behind presenceagg::Decoder. One handler reads every JSON body shape
// (queue envelope, batched webhook, REST channel presence, REST batch presence) in a single
// pass over an in-situ buffer and writes straight into the caller's reused PresenceMessage
// objects: no DOM, no second parse of the envelope.
//
// Rules shared by all shapes (documented here once):
// - Field order is free: envelope fields that come after the `presence` array (`channel`,
//   `source`, `timestamp`) are applied when the enclosing object closes.
// - Duplicate keys: the last one wins, as in JavaScript. For a repeated array (`presence`,
//   `occupancy`, `items`, `results`) what the earlier one produced is discarded.
// - `null` is the same as an absent field.
// - Unknown fields are skipped (their strings must still be valid UTF-8; nesting still
//   counts). Every string the decoders keep is checked against max_string_bytes; member data
//   and extras against max_member_data_bytes.
// - A presence message needs id, clientId, connectionId and action. A missing timestamp is
//   taken from the envelope (queue envelope `timestamp`, webhook item `timestamp`); with none
//   there (and always for REST bodies) it is a MissingField error.
// - Numbers are handled as their text: timestamps and metrics must be integers within int64;
//   an action number must be exactly 0..4, an action string a lowercase name (or "0".."4").
//   Data numbers are kept as written. RapidJSON 1.1.0 still rejects a number whose exponent
//   exceeds the double range (e.g. 1e400) as InvalidJson, even where it is only skipped.
// - Sources (queue envelope `source`, webhook item `source`, both required):
//   channel.presence -> presence messages (the `presence` array and `channel`/`channelId`
//   required); channel.occupancy -> OccupancyMessage per `occupancy` element (an array of
//   {metrics} or one {metrics} object; metrics required, missing counters are 0, unknown
//   ones ignored; timestamp 0 when the envelope has none); channel.message and
//   channel.lifecycle -> counted in ignored_sources; anything else -> UnknownSource.
// - Batch presence: a per-channel `error` maps its statusCode (or code / 100) to
//   AblyUnauthorized (401), AblyRateLimited (429), AblyServerError (5xx) or AblyRejected; a
//   body holding only a top-level `error` is returned as that error.
// Not thread-safe; owned by one Decoder.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <presenceagg/decode.hpp>
#include <presenceagg/error.hpp>
#include <presenceagg/presence.hpp>

#include "codec/data_decoder.hpp"
#include "codec/json_emitter.hpp"
#include "codec/rapidjson.hpp"

namespace presenceagg::detail {

/// Envelope fields supplied outside the body (non-enveloped queue headers); the body's own
/// fields win.
struct EnvelopeDefaults {
    std::string_view source;
    std::string_view channel;
    bool has_timestamp = false;
    std::int64_t timestamp = 0;
};

class BodyHandler {
public:
    using Ch = char;

    explicit BodyHandler(const DecodeLimits& limits);

    /// Prepares one parse of `buffer` (the in-situ copy of the body, NUL-terminated).
    void start_queue(char* buffer, DecodedBatch& out, const EnvelopeDefaults& defaults);
    void start_webhook(char* buffer, DecodedBatch& out);
    void start_channel_presence(char* buffer,
                                std::vector<PresenceMessage>& out,
                                std::string_view channel);
    void start_batch(char* buffer, std::vector<ChannelPresence>& out);

    /// Checks that need the whole body; call after a successful parse.
    bool finish();

    [[nodiscard]] Errc error() const noexcept { return error_; }
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    [[nodiscard]] DataDecoder& data_decoder() noexcept { return data_; }

    // RapidJSON SAX interface.
    bool Null();
    bool Bool(bool b);
    bool Int(int) { return unexpected_number(); }
    bool Uint(unsigned) { return unexpected_number(); }
    bool Int64(std::int64_t) { return unexpected_number(); }
    bool Uint64(std::uint64_t) { return unexpected_number(); }
    bool Double(double) { return unexpected_number(); }
    bool RawNumber(const Ch* str, rapidjson::SizeType length, bool copy);
    bool String(const Ch* str, rapidjson::SizeType length, bool copy);
    bool Key(const Ch* str, rapidjson::SizeType length, bool copy);
    bool StartObject() { return start_container(true); }
    bool EndObject(rapidjson::SizeType) { return end_container(true); }
    bool StartArray() { return start_container(false); }
    bool EndArray(rapidjson::SizeType) { return end_container(false); }

private:
    enum class Shape : std::uint8_t { Queue, Webhook, ChannelPresence, BatchPresence };
    enum class Node : std::uint8_t {
        Envelope,
        WebhookBody,
        Items,
        Item,
        ItemData,
        PresenceArray,
        PresenceElem,
        OccupancyArray,
        OccupancyElem,
        Metrics,
        BatchBody,
        Results,
        Result,
        ErrorInfo,
    };
    // Which known field the current key names.
    enum class Field : std::uint8_t {
        None,
        Other,
        Source,
        Channel,
        Timestamp,
        Presence,
        Occupancy,
        Items,
        Data,
        Id,
        ClientId,
        ConnectionId,
        Action,
        Encoding,
        Extras,
        Metrics,
        Connections,
        Publishers,
        Subscribers,
        PresenceConnections,
        PresenceMembers,
        PresenceSubscribers,
        Results,
        Error,
        Code,
        StatusCode,
        Message,
    };

    struct Frame {
        Node node;
        Field field = Field::None;
        std::uint32_t index = 0;  // arrays: current element
        std::string_view key;     // objects: current key (points into the in-situ buffer)
    };
    struct Scalar {
        enum class Kind : std::uint8_t { Null, Bool, Number, String } kind;
        std::string_view text;  // numbers and strings
        bool boolean = false;
    };
    // The enclosing envelope, webhook item or batch result.
    struct Scope {
        std::string_view source;
        std::string_view channel;
        std::int64_t timestamp = 0;
        bool has_source = false;
        bool has_channel = false;
        bool has_timestamp = false;
        bool has_presence = false;
        bool has_occupancy = false;
        bool has_error = false;
        std::size_t msg_begin = 0;
        std::size_t occ_begin = 0;
    };
    enum class DataKind : std::uint8_t { Absent, String, Value };
    // The presence message being read.
    struct Element {
        PresenceMessage* msg = nullptr;
        std::uint32_t index = 0;  // in its presence array
        std::size_t slot = 0;     // in the message sink
        bool has_id = false;
        bool has_client_id = false;
        bool has_connection_id = false;
        bool has_action = false;
        bool has_timestamp = false;
        DataKind data_kind = DataKind::Absent;
        std::size_t data_offset = 0;  // String: offset of the unescaped text in the buffer
        std::size_t data_length = 0;
    };
    struct PendingTimestamp {
        std::size_t message;    // index in the message sink
        std::uint32_t element;  // index in its presence array, for the error path
    };
    struct ErrorInfo {
        std::int64_t code = 0;
        std::int64_t status_code = 0;
        std::string_view message;
        bool present = false;
    };

    static Field lookup(Node node, std::string_view key) noexcept;
    static bool is_array_node(Node node) noexcept;

    void reset(char* buffer, Shape shape);
    bool unexpected_number();

    bool scalar(const Scalar& value);
    bool start_container(bool is_object);
    bool end_container(bool is_object);
    bool start_root(bool is_object);
    bool start_known(Frame& top, bool is_object);
    void after_value();
    bool push(Node node);

    bool element_field(Field field, const Scalar& value);
    bool finish_element();
    bool finish_scope();
    bool finish_result();
    void begin_scope();

    bool string_field(const Scalar& value, std::string& target, bool& present);
    bool string_view_field(const Scalar& value, std::string_view& target, bool& present);
    bool int_field(const Scalar& value, std::int64_t& target, bool& present);
    bool action_field(const Scalar& value, PresenceAction& target, bool& present);
    bool capture_result(bool ok);
    bool begin_capture(std::string& target, bool is_object);
    bool wrong_type(Field field);
    bool resolve_timestamps();

    PresenceMessage& new_message();
    [[nodiscard]] std::size_t message_count() const noexcept;
    PresenceMessage& message_at(std::size_t i) noexcept;
    void truncate_messages(std::size_t n) noexcept;
    void truncate_occupancy(std::size_t n) noexcept;

    [[nodiscard]] std::string path(bool include_top_key) const;
    bool fail(Errc code, std::string_view detail);
    bool fail_field(std::string_view field, Errc code, std::string_view detail);
    bool fail_presence_field(std::uint32_t element,
                             std::string_view field,
                             Errc code,
                             std::string_view detail);

    DecodeLimits limits_;
    DataDecoder data_;
    CompactJsonEmitter emitter_;

    Shape shape_ = Shape::Queue;
    char* buffer_ = nullptr;
    DecodedBatch* batch_ = nullptr;
    std::vector<PresenceMessage>* list_ = nullptr;
    std::vector<ChannelPresence>* results_ = nullptr;
    std::string_view fixed_channel_;
    EnvelopeDefaults defaults_;
    std::size_t call_msg_begin_ = 0;
    std::size_t call_occ_begin_ = 0;
    std::size_t call_results_begin_ = 0;
    std::size_t call_ignored_ = 0;

    static constexpr std::size_t kMaxFrames = 8;
    Frame frames_[kMaxFrames];
    std::size_t frame_count_ = 0;
    std::size_t nesting_ = 0;     // open containers, all kinds
    std::size_t skip_depth_ = 0;  // > 0 while skipping an unknown value
    bool capturing_ = false;      // re-emitting data/extras through emitter_

    Scope scope_;
    Element element_;
    std::size_t occ_index_ = 0;
    bool occ_has_metrics_ = false;
    ErrorInfo error_info_;         // the one being read
    ErrorInfo top_error_;          // batch body `error`
    bool has_root_array_ = false;  // webhook `items` / batch `results` seen
    std::vector<PendingTimestamp> pending_timestamps_;

    Errc error_{};
    std::string message_;
};

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

/// Decoders for every shape Ably delivers presence in. They never throw and never abort on
/// hostile input: failures come back as a `DecodeResult` with an error code and a message.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <presenceagg/error.hpp>
#include <presenceagg/export.hpp>
#include <presenceagg/presence.hpp>

namespace presenceagg {

/// A message header (AMQP header table entry, HTTP header), value rendered as text.
/// Names are compared case-insensitively by the decoders.
struct Header {
    std::string name;
    std::string value;
};

/// Bounds applied to untrusted input.
struct DecodeLimits {
    std::size_t max_body_bytes = 4 * 1024 * 1024;    ///< whole body
    std::size_t max_depth = 64;                      ///< JSON nesting, body and data alike
    std::size_t max_member_data_bytes = 256 * 1024;  ///< one member's decoded data
    std::size_t max_string_bytes = 64 * 1024;        ///< ids, names, channel names
};

/// Outcome of one decode call. `ok()` when `error` is empty. On error nothing was appended to
/// the output batch: a body is accepted or rejected whole.
struct DecodeResult {
    std::error_code error;
    std::string message;  ///< human-readable, names the field; never contains secrets
    [[nodiscard]] bool ok() const noexcept { return !error; }
};

/// What one body decoded to. Reuse one batch across calls (call `clear()`): element strings
/// keep their capacity.
struct DecodedBatch {
    std::vector<PresenceMessage> presence;
    std::vector<OccupancyMessage> occupancy;
    std::size_t presence_count = 0;   ///< valid elements of `presence` (the rest are spares)
    std::size_t ignored_sources = 0;  ///< recognised sources we do not use (channel.message...)

    void clear() noexcept {
        presence_count = 0;
        occupancy.clear();
        ignored_sources = 0;
    }
    [[nodiscard]] std::span<const PresenceMessage> messages() const noexcept {
        return {presence.data(), presence_count};
    }
};

/// One channel's entry in a batch presence answer.
struct ChannelPresence {
    std::string channel;
    std::vector<PresenceMessage> members;
    std::error_code error;  ///< per-channel failure reported by Ably (retry that channel)
    int ably_error_code = 0;
    std::string error_message;
};

/// Reusable, not thread-safe: one Decoder per thread.
class PRESENCEAGG_API Decoder {
public:
    explicit Decoder(DecodeLimits limits = {});
    ~Decoder();
    Decoder(Decoder&&) noexcept;
    Decoder& operator=(Decoder&&) noexcept;

    /// An AMQP queue or Firehose message. Enveloped JSON (`source` `channel.presence` or
    /// `channel.occupancy`) or, when `headers` carry `X-ABLY-ENVELOPE-*`, a non-enveloped body.
    DecodeResult decode_queue_message(std::string_view body,
                                      std::span<const Header> headers,
                                      DecodedBatch& out);
    /// A batched webhook body `{"items":[...]}`.
    DecodeResult decode_webhook(std::string_view body, DecodedBatch& out);
    /// `GET /channels/{channel}/presence`: a JSON array of presence messages (one page).
    DecodeResult decode_channel_presence(std::string_view body,
                                         std::string_view channel,
                                         std::vector<PresenceMessage>& out);
    /// `GET /presence?channels=...`: the BatchResult object or the older bare array, and the
    /// 40020 partial-failure body (`batchResponse`).
    DecodeResult decode_batch_presence(std::string_view body, std::vector<ChannelPresence>& out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace presenceagg

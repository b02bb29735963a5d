// SPDX-License-Identifier: MIT
#pragma once

// Typed calls on Ably's REST API over one HttpClient: channel enumeration, batch and
// per-channel presence, last message, publish.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/ably.hpp>
#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/decode.hpp>

#include "rest/ably_error.hpp"
#include "rest/http_client.hpp"

namespace presenceagg::detail {

/// One page of `GET /channels`.
struct ChannelPage {
    std::vector<std::string> channels;
    std::string next;         ///< path+query of the next page; empty on the last page
    std::size_t skipped = 0;  ///< entries that were neither a name nor a ChannelDetails
    AblyError error;
};

/// `GET /presence?channels=...`: one entry per channel Ably answered for.
struct BatchPresenceResult {
    std::vector<ChannelPresence> channels;
    AblyError error;
};

/// `GET /channels/{name}/presence`, every page.
struct ChannelPresenceResult {
    std::vector<PresenceMessage> members;
    std::size_t pages = 0;
    AblyError error;
};

/// `GET /channels/{name}/messages?limit=1&direction=backwards`: the raw JSON array.
struct LastMessageResult {
    std::string body;
    AblyError error;
};

/// Thread-bound like its HttpClient; cancel() from any thread.
class AblyRestClient {
public:
    /// Called before every HTTP request (one per page); returning false abandons the call
    /// with Errc::Cancelled. Used to pass each request through a RateLimiter.
    using RequestGate = std::function<bool()>;

    /// Throws Error(HttpTransport) when libcurl handles cannot be created.
    explicit AblyRestClient(AblyEndpoint endpoint, DecodeLimits limits = rest_decode_limits());

    /// Decoder bounds for REST answers: the defaults, but whole bodies up to the HTTP limit
    /// (a batch presence answer for 100 busy channels is several MiB).
    [[nodiscard]] static DecodeLimits rest_decode_limits() noexcept;

    /// The first page of active channels (`limit` 1..1000, `by=id`).
    [[nodiscard]] ChannelPage list_channels(std::size_t limit);
    /// A following page: `next` is ChannelPage::next from the previous page.
    [[nodiscard]] ChannelPage list_channels_page(std::string_view next);

    /// Presence of several channels in one request. Names may hold any character except ','
    /// (the list separator); callers fetch such channels with channel_presence().
    [[nodiscard]] BatchPresenceResult batch_presence(std::span<const std::string> channels);
    /// Complete presence of one channel, following pagination (up to `max_pages`).
    [[nodiscard]] ChannelPresenceResult channel_presence(std::string_view channel);
    [[nodiscard]] LastMessageResult last_message(std::string_view channel);
    /// POSTs `messages` as one JSON array (see publish_body.hpp).
    [[nodiscard]] AblyError publish(std::string_view channel,
                                    std::span<const OutboundMessage> messages);

    void set_gate(RequestGate gate) { gate_ = std::move(gate); }
    void set_stop_token(std::stop_token stop) { http_.set_stop_token(std::move(stop)); }
    void cancel() noexcept { http_.cancel(); }
    void reset_cancel() noexcept { http_.reset_cancel(); }
    /// Upper bound on pages followed by one channel_presence() call (a loop guard).
    void set_max_pages(std::size_t pages) noexcept { max_pages_ = pages; }

    /// HTTP requests sent so far.
    [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }
    [[nodiscard]] HttpClient& http() noexcept { return http_; }

private:
    HttpResponse send(HttpMethod method,
                      const std::string& path,
                      std::span<const std::string> headers = {},
                      std::string_view body = {});
    ChannelPage read_channel_page(const std::string& path);
    std::string next_of(const HttpResponse& response, std::string_view path) const;

    HttpClient http_;
    Decoder decoder_;
    RequestGate gate_;
    std::size_t max_pages_ = 100'000;
    std::uint64_t requests_ = 0;
};

}  // namespace presenceagg::detail

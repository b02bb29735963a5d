// SPDX-License-Identifier: MIT
#include "rest/ably_rest_client.hpp"

#include <algorithm>
#include <iterator>
#include <unordered_set>

#include <presenceagg/error.hpp>

#include "rest/publish_body.hpp"
#include "rest/rest_json.hpp"
#include "rest/url.hpp"

namespace presenceagg::detail {
namespace {

constexpr std::size_t kMaxListLimit = 1000;

AblyError decode_failure(const DecodeResult& result, std::string_view what) {
    return make_ably_error(result.error, std::string(what) + ": " + result.message);
}

std::string channel_path(std::string_view channel) {
    return "/channels/" + percent_encode(channel);
}

}  // namespace

DecodeLimits AblyRestClient::rest_decode_limits() noexcept {
    DecodeLimits limits;
    limits.max_body_bytes = kDefaultMaxResponseBytes;
    return limits;
}

AblyRestClient::AblyRestClient(AblyEndpoint endpoint, DecodeLimits limits)
    : http_(std::move(endpoint), limits.max_body_bytes),
      decoder_(limits) {}

HttpResponse AblyRestClient::send(HttpMethod method,
                                  const std::string& path,
                                  std::span<const std::string> headers,
                                  std::string_view body) {
    if (gate_ && !gate_()) {
        HttpResponse out;
        out.error = make_error_code(Errc::Cancelled);
        out.message = "request cancelled";
        return out;
    }
    ++requests_;
    return http_.request(method, path, headers, body);
}

std::string AblyRestClient::next_of(const HttpResponse& response, std::string_view path) const {
    for (const auto& value : response.links) {
        if (auto target = find_next_link(value)) {
            if (auto resolved = resolve_link(path, *target, http_.base_url())) return *resolved;
        }
    }
    return {};
}

ChannelPage AblyRestClient::read_channel_page(const std::string& path) {
    ChannelPage page;
    const auto response = send(HttpMethod::Get, path);
    page.error = classify_response(response);
    if (!page.error.ok()) return page;
    // `GET /channels` answers with names (by=id) or ChannelDetails objects (by=value, or
    // servers that ignore `by`); both are accepted.
    if (const auto ec = parse_channel_list(response.body, page.channels, page.skipped)) {
        page.error = make_ably_error(
            ec, "channel list: " + ec.message() + " (expected a JSON array of channel names)");
        return page;
    }
    page.next = next_of(response, path);
    return page;
}

ChannelPage AblyRestClient::list_channels(std::size_t limit) {
    limit = std::clamp<std::size_t>(limit, 1, kMaxListLimit);
    return read_channel_page("/channels?limit=" + std::to_string(limit) + "&by=id");
}

ChannelPage AblyRestClient::list_channels_page(std::string_view next) {
    return read_channel_page(std::string(next));
}

BatchPresenceResult AblyRestClient::batch_presence(std::span<const std::string> channels) {
    BatchPresenceResult result;
    if (channels.empty()) return result;
    std::string path = "/presence?channels=";
    for (std::size_t i = 0; i < channels.size(); ++i) {
        if (i > 0) path.push_back(',');
        path += percent_encode(channels[i]);
    }
    const auto response = send(HttpMethod::Get, path);
    result.error = classify_response(response);
    // A 40020 partial failure still lists every channel's outcome: decode it.
    const bool partial = result.error.code == kAblyBatchPartialFailure && !response.error;
    if (!result.error.ok() && !partial) return result;
    const auto decoded = decoder_.decode_batch_presence(response.body, result.channels);
    if (!decoded.ok()) {
        result.channels.clear();
        if (!partial) result.error = decode_failure(decoded, "batch presence");
        return result;
    }
    result.error = {};
    return result;
}

ChannelPresenceResult AblyRestClient::channel_presence(std::string_view channel) {
    ChannelPresenceResult result;
    std::string path = channel_path(channel) + "/presence?limit=1000";
    std::unordered_set<std::string> visited;
    std::vector<PresenceMessage> page;
    while (true) {
        if (result.pages >= max_pages_ || !visited.insert(path).second) {
            result.error = make_ably_error(
                make_error_code(Errc::AblyRejected),
                "presence pagination does not end (page " + std::to_string(result.pages) + ")");
            result.members.clear();
            return result;
        }
        const auto response = send(HttpMethod::Get, path);
        result.error = classify_response(response);
        if (!result.error.ok()) {
            result.members.clear();
            return result;
        }
        ++result.pages;
        page.clear();
        const auto decoded = decoder_.decode_channel_presence(response.body, channel, page);
        if (!decoded.ok()) {
            result.error = decode_failure(decoded, "channel presence");
            result.members.clear();
            return result;
        }
        std::move(page.begin(), page.end(), std::back_inserter(result.members));
        auto next = next_of(response, path);
        if (next.empty()) return result;
        path = std::move(next);
    }
}

LastMessageResult AblyRestClient::last_message(std::string_view channel) {
    LastMessageResult result;
    auto response =
        send(HttpMethod::Get, channel_path(channel) + "/messages?limit=1&direction=backwards");
    result.error = classify_response(response);
    if (result.error.ok()) result.body = std::move(response.body);
    return result;
}

AblyError AblyRestClient::publish(std::string_view channel,
                                  std::span<const OutboundMessage> messages) {
    if (gate_ && !gate_()) {
        return make_ably_error(make_error_code(Errc::Cancelled), "request cancelled");
    }
    ++requests_;
    return post_messages(http_, channel, messages);
}

}  // namespace presenceagg::detail

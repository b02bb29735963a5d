// SPDX-License-Identifier: MIT
// CurlAblyRestSink: the default AblyRestSink, one POST per publish() over a reused handle.

#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/error.hpp>

#include "rest/http_client.hpp"
#include "rest/publish_body.hpp"

namespace presenceagg {

// PublishResult is a plain struct without PRESENCEAGG_API; export this one member by hand so
// embedders linking the shared library can call it.
PRESENCEAGG_API bool PublishResult::retryable() const noexcept {
    if (!error) return false;
    if (error == Errc::HttpTransport || error == Errc::AblyServerError ||
        error == Errc::AblyRateLimited) {
        return true;
    }
    return http_status == 408 || http_status == 429 || http_status >= 500;
}

namespace detail {
namespace {

/// Thread-compatible: publish() calls are serialized by the caller; cancel() from any thread.
class CurlAblyRestSink final : public AblyRestSink {
public:
    explicit CurlAblyRestSink(CurlAblyRestSinkConfig config)
        : log_(std::move(config.log)),
          http_(std::move(config.ably)) {}

    PublishResult publish(std::string_view channel,
                          std::span<const OutboundMessage> messages) override {
        PublishResult result;
        if (channel.empty()) {
            result.error = make_error_code(Errc::InvalidConfig);
            result.message = "publish channel is empty";
            return result;
        }
        const auto outcome = post_messages(http_, channel, messages);
        result.error = outcome.error;
        result.http_status = outcome.http_status;
        result.ably_error_code = outcome.code;
        result.retry_after = outcome.retry_after;
        if (!outcome.ok()) {
            result.message = outcome.describe();
            if (log_.enabled(LogLevel::Debug)) {
                log_.log(LogLevel::Debug, "rest", "publish failed",
                         {{"channel", std::string(channel)}, {"error", result.message}});
            }
        }
        return result;
    }

    void cancel() noexcept override { http_.cancel(); }

private:
    Logger log_;
    HttpClient http_;
};

}  // namespace
}  // namespace detail

std::unique_ptr<AblyRestSink> make_curl_ably_rest_sink(CurlAblyRestSinkConfig config) {
    if (config.ably.connect_timeout.count() <= 0) {
        throw Error(Errc::InvalidConfig, "ably.connect_timeout must be positive");
    }
    if (config.ably.request_timeout.count() <= 0) {
        throw Error(Errc::InvalidConfig, "ably.request_timeout must be positive");
    }
    return std::make_unique<detail::CurlAblyRestSink>(std::move(config));
}

}  // namespace presenceagg

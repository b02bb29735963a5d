// SPDX-License-Identifier: MIT
#pragma once

/// `AblyRestSink`: where published views go. The default POSTs to Ably's REST API with libcurl.

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <presenceagg/ably.hpp>
#include <presenceagg/export.hpp>
#include <presenceagg/logging.hpp>

namespace presenceagg {

/// One Ably message to publish. `data` is JSON text, sent with encoding "json".
struct OutboundMessage {
    std::string id;  ///< idempotent-publish id "base:index"
    std::string name;
    std::string data;
};

/// Outcome of one publish attempt.
struct PublishResult {
    std::error_code error;  ///< empty on success
    int http_status = 0;
    int ably_error_code = 0;
    std::chrono::milliseconds retry_after{0};  ///< from Retry-After, when given
    std::string message;                       ///< never contains secrets

    [[nodiscard]] bool ok() const noexcept { return !error; }
    /// Transport failures, 5xx and 429 are worth retrying; other 4xx are not.
    [[nodiscard]] bool retryable() const noexcept;
};

/// Thread-compatible: callers serialize `publish`; `cancel` may be called from any thread.
/// Makes one attempt; retry policy belongs to the caller (the publisher).
class PRESENCEAGG_API AblyRestSink {
public:
    virtual ~AblyRestSink() = default;

    /// Publishes `messages` to `channel` in one request.
    [[nodiscard]] virtual PublishResult publish(std::string_view channel,
                                                std::span<const OutboundMessage> messages) = 0;
    /// An in-flight publish returns Errc::Cancelled soon; later ones too until reset.
    virtual void cancel() noexcept {}
};

struct CurlAblyRestSinkConfig {
    AblyEndpoint ably;
    Logger log;
};

[[nodiscard]] PRESENCEAGG_API std::unique_ptr<AblyRestSink> make_curl_ably_rest_sink(
    CurlAblyRestSinkConfig config);

}  // namespace presenceagg

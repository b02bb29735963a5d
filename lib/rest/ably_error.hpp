// SPDX-License-Identifier: MIT
#pragma once

// Ably's error model over HTTP: `{"error":{code,statusCode,message,href}}` bodies and the
// X-Ably-ErrorCode / X-Ably-ErrorMessage headers, mapped onto presenceagg::Errc.

#include <chrono>
#include <string>
#include <string_view>
#include <system_error>

#include "rest/http_client.hpp"

namespace presenceagg::detail {

/// Ably error codes this code reacts to.
inline constexpr int kAblyMessageTooLarge = 40009;
inline constexpr int kAblyEnumerationRestart = 40011;
inline constexpr int kAblyBatchPartialFailure = 40020;
inline constexpr int kAblyEnumerationInFlight = 42912;
inline constexpr int kAblyTooManyChannels = 90010;

/// The outcome of one REST call, as a value. Empty `error` means success.
struct AblyError {
    std::error_code error;
    int http_status = 0;
    int code = 0;  ///< Ably error code (e.g. 40140), 0 when none was given
    std::string message;
    std::string href;
    std::chrono::milliseconds retry_after{0};

    [[nodiscard]] bool ok() const noexcept { return !error; }
    /// Transport failures, 408, 429 and 5xx are worth retrying; other 4xx are not.
    [[nodiscard]] bool retryable() const noexcept;
    /// "HTTP 429, Ably error 42912: message" (for logs; never contains credentials).
    [[nodiscard]] std::string describe() const;
};

/// Maps a response: transport errors keep their code; 2xx is success; 40009 or 413 ->
/// MessageTooLarge; 401 -> AblyUnauthorized; 429 -> AblyRateLimited; 5xx -> AblyServerError;
/// anything else -> AblyRejected. The body's error object wins over the headers.
[[nodiscard]] AblyError classify_response(const HttpResponse& response);

/// Parses Retry-After delta-seconds ("120"); 0 for absent, dates or garbage. Capped at 1 h.
[[nodiscard]] std::chrono::milliseconds parse_retry_after(std::string_view value) noexcept;

/// An error value from a code and message (for local failures such as undecodable bodies).
[[nodiscard]] AblyError make_ably_error(std::error_code error, std::string message);

}  // namespace presenceagg::detail

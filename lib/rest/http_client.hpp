// SPDX-License-Identifier: MIT
#pragma once

// A small libcurl HTTP client for Ably's REST API: one reused easy handle (keep-alive), Basic
// auth from the API key, Ably's version and agent headers, bounded bodies, prompt cancel.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <presenceagg/ably.hpp>

#include "rest/curl_handles.hpp"

namespace presenceagg::detail {

/// The Ably REST protocol version sent as X-Ably-Version. 2 or higher makes batch presence
/// answer with the BatchResult object; 5 is what ably-go sends, so real Ably and SDK-tested
/// stand-ins agree on every shape we read (`by=id` is still requested explicitly).
inline constexpr std::string_view kAblyProtocolVersion = "5";

/// Responses larger than this are refused (Errc::TooLarge) instead of filling memory.
inline constexpr std::size_t kDefaultMaxResponseBytes = 64 * 1024 * 1024;

enum class HttpMethod { Get, Post };

/// One HTTP exchange. `error` is set only for transport-level failures (no usable response):
/// Errc::HttpTransport, Errc::Cancelled, or Errc::TooLarge for an oversized body.
struct HttpResponse {
    int status = 0;
    std::string body;
    std::vector<std::string> links;  ///< every `Link` header value, in order
    std::string content_type;
    std::string ably_error_code;     ///< X-Ably-ErrorCode, raw
    std::string ably_error_message;  ///< X-Ably-ErrorMessage
    std::string retry_after;         ///< Retry-After, raw
    std::error_code error;
    std::string message;  ///< describes `error`; never contains credentials

    [[nodiscard]] bool transport_ok() const noexcept { return !error; }
};

/// Thread-bound: one thread calls request() at a time. cancel() and the stop token may be
/// used from any thread; both abort an in-flight request at once (curl_multi_wakeup).
class HttpClient {
public:
    /// Throws Error(HttpTransport) when libcurl handles cannot be created.
    explicit HttpClient(AblyEndpoint endpoint,
                        std::size_t max_response_bytes = kDefaultMaxResponseBytes);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// `path` is appended to the endpoint's base URL ("/channels?limit=10"). `headers` are extra
    /// "Name: value" lines. A POST sends `body` as is.
    [[nodiscard]] HttpResponse request(HttpMethod method,
                                       std::string_view path,
                                       std::span<const std::string> headers = {},
                                       std::string_view body = {});

    /// Aborts the in-flight request and every later one until reset_cancel(). Any thread.
    void cancel() noexcept;
    void reset_cancel() noexcept;
    [[nodiscard]] bool cancelled() const noexcept;
    /// Requests fail with Errc::Cancelled once `stop` is requested (checked while they run).
    void set_stop_token(std::stop_token stop);

    [[nodiscard]] const AblyEndpoint& endpoint() const noexcept { return endpoint_; }
    [[nodiscard]] const std::string& base_url() const noexcept { return base_url_; }

private:
    static std::size_t on_write(char* data, std::size_t size, std::size_t n, void* self) noexcept;
    static int on_progress(void* self,
                           curl_off_t dltotal,
                           curl_off_t dlnow,
                           curl_off_t ultotal,
                           curl_off_t ulnow) noexcept;
    void wake() noexcept;
    void read_headers(HttpResponse& out) const;

    AblyEndpoint endpoint_;
    std::string base_url_;
    std::string agent_header_;
    std::size_t max_response_bytes_;
    CurlGlobal global_;
    CurlMultiPtr multi_;
    CurlEasyPtr easy_;
    std::atomic<bool> cancelled_{false};
    std::stop_token stop_;
    // Per-transfer state, touched only by the request thread (and its callbacks).
    std::string* sink_ = nullptr;
    bool too_large_ = false;
    char error_buffer_[CURL_ERROR_SIZE] = {};
};

}  // namespace presenceagg::detail

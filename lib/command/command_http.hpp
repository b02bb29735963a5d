// SPDX-License-Identifier: MIT
#pragma once

/// The command channel's private libcurl layer: RAII handles and a one-request-at-a-time HTTP
/// client that runs every transfer on a multi handle, so that a stop request wakes it at once
/// (curl_multi_wakeup) instead of waiting for a progress callback. Names are prefixed "Command"
/// to stay distinct from lib/rest's wrappers until the two are merged.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include <curl/curl.h>

#include <presenceagg/ably.hpp>

namespace presenceagg::detail {

/// curl_global_init / curl_global_cleanup (reference-counted by libcurl >= 7.84).
class CommandCurlGlobal {
public:
    CommandCurlGlobal();  ///< throws Error(HttpTransport) when libcurl cannot initialise
    ~CommandCurlGlobal();
    CommandCurlGlobal(const CommandCurlGlobal&) = delete;
    CommandCurlGlobal& operator=(const CommandCurlGlobal&) = delete;
};

struct CommandCurlEasyDeleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using CommandCurlEasyPtr = std::unique_ptr<CURL, CommandCurlEasyDeleter>;

struct CommandCurlMultiDeleter {
    void operator()(CURLM* handle) const noexcept { curl_multi_cleanup(handle); }
};
using CommandCurlMultiPtr = std::unique_ptr<CURLM, CommandCurlMultiDeleter>;

struct CommandCurlSlistDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using CommandCurlSlistPtr = std::unique_ptr<curl_slist, CommandCurlSlistDeleter>;

/// Percent-encodes everything but RFC 3986 unreserved characters (like encodeURIComponent).
[[nodiscard]] std::string command_url_encode(std::string_view text);

struct CommandHttpRequest {
    std::string url;
    std::string accept = "application/json";
    /// Streaming: no total timeout; the body of a 2xx text/event-stream answer goes to `on_body`.
    bool streaming = false;
    /// Whole-request bound for non-streaming requests (0: none).
    std::chrono::milliseconds total_timeout{0};
    /// Abort when no byte (headers or body) arrived for this long (0: never).
    std::chrono::milliseconds idle_timeout{0};
    /// Bodies collected in `CommandHttpResult::body` are cut off (TooLarge) beyond this.
    std::size_t max_body_bytes = std::size_t{1} << 20;
};

enum class CommandHttpOutcome {
    Completed,       ///< the server finished the response (any HTTP status)
    Stopped,         ///< the stop token fired
    IdleTimeout,     ///< no byte for `idle_timeout`
    TransportError,  ///< DNS, connect, TLS, reset, timeout...; see `curl_code` / `error`
    Ended,           ///< `on_body` or `on_poll` asked to end the transfer
    TooLarge,        ///< a collected body exceeded `max_body_bytes`
};

struct CommandHttpResult {
    CommandHttpOutcome outcome = CommandHttpOutcome::TransportError;
    long http_status = 0;       ///< 0 when no response line arrived
    std::string content_type;   ///< as sent, lowercased
    bool event_stream = false;  ///< a 2xx text/event-stream answer (body went to on_body)
    std::string body;           ///< the body when it did not go to on_body (bounded)
    int curl_code = 0;
    std::string error;  ///< libcurl's message for transport errors (never holds secrets)
};

/// One request at a time, on the thread that owns this object; not thread-safe. The easy and
/// multi handles are reused so keep-alive connections survive between requests.
class CommandHttpClient {
public:
    /// Called from inside libcurl's write callback with body bytes of an event-stream answer;
    /// must not throw (exceptions are caught and end the transfer). Return false to end it.
    using BodyFn = std::function<bool(std::string_view)>;
    /// Called between I/O rounds (outside libcurl callbacks) at least every ~250 ms, and once
    /// more when the transfer is over. Return false to end the transfer.
    using PollFn = std::function<bool()>;

    explicit CommandHttpClient(const AblyEndpoint& endpoint);
    ~CommandHttpClient();
    CommandHttpClient(const CommandHttpClient&) = delete;
    CommandHttpClient& operator=(const CommandHttpClient&) = delete;

    /// Runs one GET until it completes, fails, idles out, is ended, or `stop` fires (promptly).
    [[nodiscard]] CommandHttpResult get(const CommandHttpRequest& request,
                                        std::stop_token stop,
                                        const BodyFn& on_body = {},
                                        const PollFn& on_poll = {});

    /// True once the current transfer's headers announced a 2xx text/event-stream answer; for
    /// `on_poll` to notice an open stream before its first byte of body.
    [[nodiscard]] bool stream_open() const noexcept { return stream_open_; }
    /// Bytes received (headers and body) by the current or last transfer.
    [[nodiscard]] std::uint64_t bytes_received() const noexcept { return bytes_received_; }

private:
    struct Transfer;
    static std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) noexcept;
    static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) noexcept;
    void configure(const CommandHttpRequest& request, Transfer& transfer, curl_slist* headers);

    const AblyEndpoint& endpoint_;
    CommandCurlGlobal global_;  // first in, last out
    CommandCurlMultiPtr multi_;
    CommandCurlEasyPtr easy_;
    std::uint64_t bytes_received_ = 0;
    bool stream_open_ = false;
};

}  // namespace presenceagg::detail

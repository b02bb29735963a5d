// SPDX-License-Identifier: MIT
#include "command/command_http.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <presenceagg/error.hpp>

namespace presenceagg::detail {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kPollSlice{250};
constexpr std::size_t kMaxErrorBody = 64 * 1024;

template <class T>
void set_option(CURL* easy, CURLoption option, T value) {
    // Option failures here are programming errors or an old libcurl; the transfer then reports
    // the problem itself, so the return code is deliberately not escalated.
    (void)curl_easy_setopt(easy, option, value);
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

/// Per-transfer state reached from libcurl's callbacks.
struct CommandHttpClient::Transfer {
    CommandHttpClient* client = nullptr;
    const CommandHttpRequest* request = nullptr;
    const BodyFn* on_body = nullptr;
    CommandHttpResult* result = nullptr;
    bool ended = false;  // on_body asked to stop (or threw)
    bool too_large = false;
    Clock::time_point last_activity = Clock::now();
    std::array<char, CURL_ERROR_SIZE> error_buffer{};
};

CommandCurlGlobal::CommandCurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        throw Error(Errc::HttpTransport, "command channel: libcurl global initialisation failed");
    }
}

CommandCurlGlobal::~CommandCurlGlobal() {
    curl_global_cleanup();
}

std::string command_url_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    }
    return out;
}

CommandHttpClient::CommandHttpClient(const AblyEndpoint& endpoint)
    : endpoint_(endpoint),
      multi_(curl_multi_init()),
      easy_(curl_easy_init()) {
    if (!multi_ || !easy_) {
        throw Error(Errc::HttpTransport, "command channel: cannot create libcurl handles");
    }
}

CommandHttpClient::~CommandHttpClient() = default;

std::size_t CommandHttpClient::on_header(char* data,
                                         std::size_t size,
                                         std::size_t n,
                                         void* user) noexcept {
    auto& t = *static_cast<Transfer*>(user);
    const std::size_t total = size * n;
    t.last_activity = Clock::now();
    t.client->bytes_received_ += total;
    const std::string_view line(data, total);
    if (line != "\r\n" && line != "\n") return total;
    // End of a header block: decide how the body is handled. Interim 1xx blocks are skipped.
    CURL* easy = t.client->easy_.get();
    long status = 0;
    (void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200) return total;
    char* type = nullptr;
    (void)curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type);
    CommandHttpResult& r = *t.result;
    r.http_status = status;
    try {
        r.content_type = lowercase(type != nullptr ? std::string_view(type) : "");
    } catch (...) {
        return 0;
    }
    r.event_stream = t.request->streaming && status >= 200 && status < 300 &&
                     r.content_type.rfind("text/event-stream", 0) == 0;
    t.client->stream_open_ = r.event_stream;
    return total;
}

std::size_t CommandHttpClient::on_write(char* data,
                                        std::size_t size,
                                        std::size_t n,
                                        void* user) noexcept {
    auto& t = *static_cast<Transfer*>(user);
    const std::size_t total = size * n;
    t.last_activity = Clock::now();
    t.client->bytes_received_ += total;
    CommandHttpResult& r = *t.result;
    const std::string_view bytes(data, total);
    if (r.event_stream) {
        bool keep = false;
        try {
            keep = t.on_body != nullptr && *t.on_body && (*t.on_body)(bytes);
        } catch (...) {
            keep = false;
        }
        if (!keep) {
            t.ended = true;
            return 0;
        }
        return total;
    }
    const std::size_t cap = t.request->streaming ? kMaxErrorBody : t.request->max_body_bytes;
    if (r.body.size() + total > cap) {
        t.too_large = true;
        return 0;
    }
    try {
        r.body.append(bytes);
    } catch (...) {
        return 0;
    }
    return total;
}

void CommandHttpClient::configure(const CommandHttpRequest& request,
                                  Transfer& transfer,
                                  curl_slist* headers) {
    CURL* easy = easy_.get();
    curl_easy_reset(easy);  // keeps live connections and caches
    set_option(easy, CURLOPT_URL, request.url.c_str());
    set_option(easy, CURLOPT_HTTPGET, 1L);
    set_option(easy, CURLOPT_NOSIGNAL, 1L);
    set_option(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    set_option(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    set_option(easy, CURLOPT_CONNECTTIMEOUT_MS,
               static_cast<long>(std::max<std::int64_t>(endpoint_.connect_timeout.count(), 1)));
    // Never a total timeout on the stream: it would cut a healthy connection. The idle watchdog
    // in get() covers a silent one.
    if (!request.streaming && request.total_timeout.count() > 0) {
        set_option(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
    }
    if (!endpoint_.tls_verify) {
        set_option(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        set_option(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!endpoint_.key.empty()) {
        // Basic auth header; the key never goes into the URL (proxy and debug logs).
        set_option(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        set_option(easy, CURLOPT_USERNAME, endpoint_.key.key_name.c_str());
        set_option(easy, CURLOPT_PASSWORD, endpoint_.key.secret.reveal().c_str());
    }
    set_option(easy, CURLOPT_HTTPHEADER, headers);
    set_option(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer.data());
    set_option(easy, CURLOPT_WRITEFUNCTION, &CommandHttpClient::on_write);
    set_option(easy, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
    set_option(easy, CURLOPT_HEADERFUNCTION, &CommandHttpClient::on_header);
    set_option(easy, CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
}

CommandHttpResult CommandHttpClient::get(const CommandHttpRequest& request,
                                         std::stop_token stop,
                                         const BodyFn& on_body,
                                         const PollFn& on_poll) {
    CommandHttpResult result;
    if (stop.stop_requested()) {
        result.outcome = CommandHttpOutcome::Stopped;
        return result;
    }
    bytes_received_ = 0;
    stream_open_ = false;
    Transfer transfer;
    transfer.client = this;
    transfer.request = &request;
    transfer.on_body = &on_body;
    transfer.result = &result;

    curl_slist* raw = nullptr;
    CommandCurlSlistPtr headers;
    for (const std::string& line :
         {std::string("Accept: ") + request.accept, std::string("Cache-Control: no-cache")}) {
        raw = curl_slist_append(headers.get(), line.c_str());
        if (raw == nullptr) {
            result.error = "out of memory";
            return result;
        }
        (void)headers.release();
        headers.reset(raw);
    }
    configure(request, transfer, headers.get());

    CURLM* multi = multi_.get();
    CURL* easy = easy_.get();
    if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
        result.error = "curl_multi_add_handle failed";
        return result;
    }
    // stop() on another thread interrupts curl_multi_poll at once.
    const std::stop_callback wake(stop, [multi]() noexcept { (void)curl_multi_wakeup(multi); });

    bool done = false;
    CURLcode code = CURLE_OK;
    bool poll_ended = false;
    for (;;) {
        int running = 0;
        const CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc != CURLM_OK) {
            result.error = curl_multi_strerror(mc);
            code = CURLE_FAILED_INIT;
            done = true;
        }
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
                done = true;
                code = msg->data.result;
            }
        }
        if (on_poll) {
            bool keep = false;
            try {
                keep = on_poll();
            } catch (...) {
                keep = false;
            }
            if (!keep) poll_ended = true;
        }
        if (done || poll_ended || stop.stop_requested()) break;
        const auto idle = Clock::now() - transfer.last_activity;
        if (request.idle_timeout.count() > 0 && idle >= request.idle_timeout) {
            result.outcome = CommandHttpOutcome::IdleTimeout;
            (void)curl_multi_remove_handle(multi, easy);
            stream_open_ = false;
            return result;
        }
        auto wait = kPollSlice;
        if (request.idle_timeout.count() > 0) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(request.idle_timeout - idle);
            wait = std::clamp(left, std::chrono::milliseconds(1), kPollSlice);
        }
        (void)curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
    }
    (void)curl_multi_remove_handle(multi, easy);
    stream_open_ = false;

    if (result.http_status == 0) {
        long status = 0;
        (void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        result.http_status = status;
    }
    if (stop.stop_requested()) {
        result.outcome = CommandHttpOutcome::Stopped;
    } else if (transfer.too_large) {
        result.outcome = CommandHttpOutcome::TooLarge;
    } else if (transfer.ended || poll_ended) {
        result.outcome = CommandHttpOutcome::Ended;
    } else if (code == CURLE_OK) {
        result.outcome = CommandHttpOutcome::Completed;
    } else {
        result.outcome = CommandHttpOutcome::TransportError;
        result.curl_code = static_cast<int>(code);
        result.error = transfer.error_buffer[0] != '\0' ? std::string(transfer.error_buffer.data())
                                                        : std::string(curl_easy_strerror(code));
    }
    return result;
}

}  // namespace presenceagg::detail

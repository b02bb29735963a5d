// SPDX-License-Identifier: MIT
#include "rest/http_client.hpp"

#include <presenceagg/error.hpp>
#include <presenceagg/version.hpp>

namespace presenceagg::detail {
namespace {

// curl_multi_poll waits at most this long between checks of the cancel flag; wakeups make
// cancellation immediate, this is only a backstop.
constexpr int kPollTimeoutMs = 250;

template <typename T>
void setopt(CURL* easy, CURLoption option, T value) {
    // Options set here are all valid for this libcurl; a failure would be a programming error
    // and surfaces as a transfer error later.
    (void)curl_easy_setopt(easy, option, value);
}

std::string header_value(CURL* easy, const char* name) {
    curl_header* h = nullptr;
    if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == nullptr) {
        return {};
    }
    return h->value != nullptr ? std::string(h->value) : std::string();
}

std::string describe(CURLcode code, const char* error_buffer) {
    std::string message = curl_easy_strerror(code);
    if (error_buffer != nullptr && error_buffer[0] != '\0') {
        message += ": ";
        message += error_buffer;
    }
    return message;
}

}  // namespace

HttpClient::HttpClient(AblyEndpoint endpoint, std::size_t max_response_bytes)
    : endpoint_(std::move(endpoint)),
      base_url_(endpoint_.base_url()),
      agent_header_("Ably-Agent: presenceagg/" + std::string(kVersion)),
      max_response_bytes_(max_response_bytes),
      multi_(curl_multi_init()),
      easy_(curl_easy_init()) {
    if (!multi_ || !easy_) throw Error(Errc::HttpTransport, "libcurl handle creation failed");
    CURL* e = easy_.get();
    setopt(e, CURLOPT_NOSIGNAL, 1L);
    setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    setopt(e, CURLOPT_ERRORBUFFER, error_buffer_);
    setopt(e, CURLOPT_WRITEFUNCTION, &HttpClient::on_write);
    setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(this));
    setopt(e, CURLOPT_NOPROGRESS, 0L);
    setopt(e, CURLOPT_XFERINFOFUNCTION, &HttpClient::on_progress);
    setopt(e, CURLOPT_XFERINFODATA, static_cast<void*>(this));
    setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(endpoint_.connect_timeout.count()));
    setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(endpoint_.request_timeout.count()));
    setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode (gzip, ...)
    if (!endpoint_.tls_verify) {
        setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!endpoint_.key.empty()) {
        // Separate fields: CURLOPT_USERPWD would split at the first ':' of the whole key.
        setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        setopt(e, CURLOPT_USERNAME, endpoint_.key.key_name.c_str());
        setopt(e, CURLOPT_PASSWORD, endpoint_.key.secret.reveal().c_str());
    }
}

HttpClient::~HttpClient() = default;

void HttpClient::cancel() noexcept {
    cancelled_.store(true, std::memory_order_release);
    wake();
}

void HttpClient::reset_cancel() noexcept {
    cancelled_.store(false, std::memory_order_release);
}

bool HttpClient::cancelled() const noexcept {
    return cancelled_.load(std::memory_order_acquire) || stop_.stop_requested();
}

void HttpClient::set_stop_token(std::stop_token stop) {
    stop_ = std::move(stop);
}

void HttpClient::wake() noexcept {
    if (multi_) (void)curl_multi_wakeup(multi_.get());
}

std::size_t HttpClient::on_write(char* data, std::size_t size, std::size_t n, void* self) noexcept {
    auto* client = static_cast<HttpClient*>(self);
    const std::size_t bytes = size * n;
    if (client->sink_ == nullptr) return bytes;
    if (client->sink_->size() + bytes > client->max_response_bytes_) {
        client->too_large_ = true;
        return CURL_WRITEFUNC_ERROR;
    }
    try {
        client->sink_->append(data, bytes);
    } catch (...) {
        return CURL_WRITEFUNC_ERROR;
    }
    return bytes;
}

int HttpClient::on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
    return static_cast<HttpClient*>(self)->cancelled() ? 1 : 0;
}

void HttpClient::read_headers(HttpResponse& out) const {
    CURL* e = easy_.get();
    curl_header* h = nullptr;
    if (curl_easy_header(e, "Link", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h != nullptr) {
        const std::size_t amount = h->amount;
        for (std::size_t i = 0; i < amount; ++i) {
            if (curl_easy_header(e, "Link", i, CURLH_HEADER, -1, &h) == CURLHE_OK && h != nullptr &&
                h->value != nullptr) {
                out.links.emplace_back(h->value);
            }
        }
    }
    out.content_type = header_value(e, "Content-Type");
    out.ably_error_code = header_value(e, "X-Ably-ErrorCode");
    out.ably_error_message = header_value(e, "X-Ably-ErrorMessage");
    out.retry_after = header_value(e, "Retry-After");
}

HttpResponse HttpClient::request(HttpMethod method,
                                 std::string_view path,
                                 std::span<const std::string> headers,
                                 std::string_view body) {
    HttpResponse out;
    if (cancelled()) {
        out.error = make_error_code(Errc::Cancelled);
        out.message = "request cancelled";
        return out;
    }
    CURL* e = easy_.get();
    const std::string url = base_url_ + std::string(path);

    CurlSlistPtr list;
    auto add_header = [&list](const char* line) -> bool {
        curl_slist* grown = curl_slist_append(list.get(), line);
        if (grown == nullptr) return false;
        (void)list.release();  // ownership moves into `grown`, which starts with the old list
        list.reset(grown);
        return true;
    };
    const std::string version = "X-Ably-Version: " + std::string(kAblyProtocolVersion);
    bool headers_ok = add_header(version.c_str()) && add_header(agent_header_.c_str()) &&
                      add_header("Accept: application/json");
    for (const auto& h : headers) headers_ok = headers_ok && add_header(h.c_str());
    if (!headers_ok) {
        out.error = make_error_code(Errc::HttpTransport);
        out.message = "out of memory building request headers";
        return out;
    }

    setopt(e, CURLOPT_URL, url.c_str());
    setopt(e, CURLOPT_HTTPHEADER, list.get());
    if (method == HttpMethod::Post) {
        setopt(e, CURLOPT_POST, 1L);
        setopt(e, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
        setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else {
        setopt(e, CURLOPT_HTTPGET, 1L);
    }
    error_buffer_[0] = '\0';
    too_large_ = false;
    sink_ = &out.body;

    CURLcode result = CURLE_OK;
    bool aborted = false;
    {
        // A stop request wakes the poll below at once; the callback is unregistered (and waits
        // for a running invocation) before `this` can go away.
        std::stop_callback on_stop(stop_, [this]() noexcept { wake(); });
        if (curl_multi_add_handle(multi_.get(), e) != CURLM_OK) {
            sink_ = nullptr;
            out.error = make_error_code(Errc::HttpTransport);
            out.message = "curl_multi_add_handle failed";
            return out;
        }
        int running = 1;
        bool done = false;
        while (!done) {
            if (cancelled()) {
                aborted = true;
                break;
            }
            if (curl_multi_perform(multi_.get(), &running) != CURLM_OK) {
                result = CURLE_FAILED_INIT;
                break;
            }
            int queued = 0;
            while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &queued)) {
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) {
                    result = msg->data.result;
                    done = true;
                }
            }
            if (done || running == 0) break;
            if (curl_multi_poll(multi_.get(), nullptr, 0, kPollTimeoutMs, nullptr) != CURLM_OK) {
                result = CURLE_FAILED_INIT;
                break;
            }
        }
        (void)curl_multi_remove_handle(multi_.get(), e);
        if (!done && !aborted && result == CURLE_OK) result = CURLE_GOT_NOTHING;
    }
    sink_ = nullptr;
    // The header list dies with this call: make sure the handle no longer points at it.
    setopt(e, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
    setopt(e, CURLOPT_POSTFIELDS, static_cast<const char*>(nullptr));

    if (aborted || result == CURLE_ABORTED_BY_CALLBACK) {
        out.error = make_error_code(Errc::Cancelled);
        out.message = "request cancelled";
        out.body.clear();
        return out;
    }
    if (too_large_) {
        out.error = make_error_code(Errc::TooLarge);
        out.message = "response body exceeds " + std::to_string(max_response_bytes_) + " bytes";
        out.body.clear();
        return out;
    }
    if (result != CURLE_OK) {
        out.error = make_error_code(Errc::HttpTransport);
        out.message = describe(result, error_buffer_);
        out.body.clear();
        return out;
    }
    long status = 0;
    (void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    out.status = static_cast<int>(status);
    read_headers(out);
    return out;
}

}  // namespace presenceagg::detail

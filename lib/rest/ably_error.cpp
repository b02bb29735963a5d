// SPDX-License-Identifier: MIT
#include "rest/ably_error.hpp"

#include <charconv>

#include <presenceagg/error.hpp>

#include "rest/rest_json.hpp"

namespace presenceagg::detail {
namespace {

// Error bodies are small; a larger one is not parsed (the status still classifies it).
constexpr std::size_t kMaxErrorBodyBytes = 64 * 1024;
// Messages from the server are kept short in logs and results.
constexpr std::size_t kMaxMessageBytes = 512;
constexpr std::chrono::milliseconds kMaxRetryAfter{3'600'000};

std::string clip(std::string_view text) {
    return std::string(text.substr(0, kMaxMessageBytes));
}

int parse_int(std::string_view text) noexcept {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    int value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && ptr != text.data() ? value : 0;
}

// Fills code/message/href from `{"error":{...}}` when the body carries one.
void read_error_body(std::string_view body, AblyError& out) {
    if (body.empty() || body.size() > kMaxErrorBodyBytes) return;
    ErrorBody parsed;
    if (!parse_error_body(body, parsed)) return;
    out.code = parsed.code;
    out.message = clip(parsed.message);
    out.href = clip(parsed.href);
}

}  // namespace

bool AblyError::retryable() const noexcept {
    if (!error) return false;
    if (error == Errc::HttpTransport || error == Errc::AblyServerError ||
        error == Errc::AblyRateLimited) {
        return true;
    }
    return http_status == 408;
}

std::string AblyError::describe() const {
    if (!error) return "ok";
    std::string text;
    if (http_status != 0) text = "HTTP " + std::to_string(http_status);
    if (code != 0) {
        if (!text.empty()) text += ", ";
        text += "Ably error " + std::to_string(code);
    }
    if (text.empty()) text = error.message();
    if (!message.empty()) text += ": " + message;
    return text;
}

std::chrono::milliseconds parse_retry_after(std::string_view value) noexcept {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) return std::chrono::milliseconds{0};
    long long seconds = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range) return kMaxRetryAfter;
    if (ec != std::errc() || ptr != value.data() + value.size() || seconds < 0) {
        return std::chrono::milliseconds{0};
    }
    if (seconds >= kMaxRetryAfter.count() / 1000) return kMaxRetryAfter;
    return std::chrono::milliseconds{seconds * 1000};
}

AblyError make_ably_error(std::error_code error, std::string message) {
    AblyError out;
    out.error = error;
    out.message = std::move(message);
    return out;
}

AblyError classify_response(const HttpResponse& response) {
    AblyError out;
    if (response.error) {
        out.error = response.error;
        out.message = response.message;
        return out;
    }
    out.http_status = response.status;
    if (response.status >= 200 && response.status < 300) return out;

    read_error_body(response.body, out);
    if (out.code == 0) out.code = parse_int(response.ably_error_code);
    if (out.message.empty()) out.message = clip(response.ably_error_message);
    out.retry_after = parse_retry_after(response.retry_after);

    const int s = response.status;
    if (out.code == kAblyMessageTooLarge || s == 413) {
        out.error = make_error_code(Errc::MessageTooLarge);
    } else if (s == 401) {
        out.error = make_error_code(Errc::AblyUnauthorized);
    } else if (s == 429) {
        out.error = make_error_code(Errc::AblyRateLimited);
    } else if (s >= 500) {
        out.error = make_error_code(Errc::AblyServerError);
    } else {
        out.error = make_error_code(Errc::AblyRejected);
    }
    if (out.message.empty()) out.message = "unexpected HTTP status " + std::to_string(s);
    return out;
}

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

/// Injected failures for the stand-in's Ably endpoints (POST /_control/faults).

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace presenceagg::standin {

/// One queued fault: applies to the next `times` requests whose method and path match.
struct Fault {
    std::string method = "*";  ///< "GET", "POST", ... or "*"
    std::string path_pattern;  ///< ECMAScript regex searched in the decoded path
    std::regex path;
    int status = 0;  ///< HTTP status of the error answer; 0: no error answer (delay or drop only)
    int code = 0;    ///< Ably error code; 0: derived from status
    std::string message;
    int times = 1;  ///< -1: every matching request until cleared
    int delay_ms = 0;
    bool drop = false;     ///< close the connection without an answer (SSE: cut the stream)
    int retry_after = -1;  ///< seconds for a Retry-After header; -1: none

    /// Parses the control API's JSON; nullopt with `error` set when it is invalid.
    [[nodiscard]] static std::optional<Fault> parse(const rapidjson::Value& v, std::string& error);
};

/// Thread-safe FIFO of faults; the first matching fault with requests left applies.
class FaultQueue {
public:
    void add(Fault fault);
    void clear();
    /// The fault for this request, counting it as served; nullopt when none matches.
    [[nodiscard]] std::optional<Fault> take(std::string_view method, const std::string& path);
    [[nodiscard]] std::size_t pending() const;

private:
    mutable std::mutex mutex_;
    std::deque<Fault> faults_;
};

}  // namespace presenceagg::standin

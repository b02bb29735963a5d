// SPDX-License-Identifier: MIT
#pragma once

/// Counters the stand-in reports on GET /_control/stats.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace presenceagg::standin {

/// Thread-safe counters, grouped for the JSON report.
class RequestStats {
public:
    /// Counts one request to `endpoint` ("GET /channels/:id/presence") and its per-second rate.
    void request(const std::string& endpoint);
    /// Counts one answer status (and Ably error code when non-zero).
    void response(int status, int code);
    /// Counts one publish request: its recorded messages, duplicates, message bytes and body.
    /// Returns the number of publish requests on `channel` in the current second.
    std::uint64_t publish(const std::string& channel,
                          std::size_t recorded,
                          std::size_t duplicates,
                          std::size_t message_bytes,
                          std::size_t body_bytes);
    /// Adds `delta` to the counter `name` in `group` ("sse", "enumeration", "faults", ...).
    void add(const std::string& group, const std::string& name, std::int64_t delta = 1);

    /// The whole report as JSON.
    [[nodiscard]] std::string json() const;

private:
    struct Rate {
        std::uint64_t total = 0;
        std::int64_t second = -1;
        std::uint64_t in_second = 0;
        std::uint64_t max_per_second = 0;
        void tick(std::int64_t now_second);
    };
    struct Published {
        std::uint64_t messages = 0;
        std::uint64_t duplicates = 0;
        std::uint64_t bytes = 0;
        std::uint64_t body_bytes = 0;
        std::uint64_t max_body_bytes = 0;
        Rate requests;
    };

    mutable std::mutex mutex_;
    std::map<std::string, Rate, std::less<>> endpoints_;
    std::map<int, std::uint64_t> statuses_;
    std::map<int, std::uint64_t> codes_;
    std::map<std::string, Published, std::less<>> published_;
    std::map<std::string, std::map<std::string, std::int64_t, std::less<>>, std::less<>> groups_;
};

}  // namespace presenceagg::standin

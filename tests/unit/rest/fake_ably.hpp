// SPDX-License-Identifier: MIT
#pragma once

// A scripted Ably REST double for bootstrap and drift-repair tests: channel enumeration pages
// (with injected errors), batch and per-channel presence (with a channel cap, per-channel and
// whole-request failures), all on TestServer.

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/presence_store.hpp>

#include "rest_test_server.hpp"

namespace presenceagg::test {

inline std::string member_json(const std::string& client, const std::string& conn, int serial = 0) {
    return R"({"id":")" + conn + ":" + std::to_string(serial) + R"(:0","clientId":")" + client +
           R"(","connectionId":")" + conn +
           R"(","timestamp":1700000000000,"action":1,"data":{"n":1}})";
}

/// True when the Counts view flags `channel` suspect.
inline bool is_suspect(const PresenceStore& store, std::string_view channel) {
    bool suspect = false;
    store.visit(View::Counts, [&](std::span<const std::string_view> path, std::string_view leaf) {
        if (path.size() == 2 && path[0] == "channels" && path[1] == channel) {
            suspect = leaf.find("\"suspect\":true") != std::string_view::npos;
        }
    });
    return suspect;
}

class FakeAbly {
public:
    struct InjectedError {
        int status;
        int code;
    };

    FakeAbly() {
        server_.handle(
            [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
    }

    // --- script (call before the code under test runs) -------------------------------------
    std::vector<std::vector<std::string>> pages;                    ///< GET /channels, page by page
    std::map<std::size_t, std::vector<InjectedError>> page_errors;  ///< consumed in order
    std::map<std::string, std::vector<std::string>> members;        ///< channel -> member JSON
    std::size_t batch_cap = 1000;                                   ///< more channels -> 400/90010
    std::map<std::string, int> channel_failures;  ///< per-channel errors left; -1 forever
    int batch_failures = 0;                       ///< whole batch requests answered 500
    std::size_t presence_page_size = 1000;        ///< per-channel presence pagination
    std::function<void(const std::string&)> before_presence;  ///< runs before a channel answer
    bool hold_batches = false;                                ///< batch requests hang until release

    // --- observations ------------------------------------------------------------------------
    [[nodiscard]] std::vector<std::vector<std::string>> batches() const {
        const std::lock_guard lock(mutex_);
        return batches_;
    }
    [[nodiscard]] std::vector<std::string> single_fetches() const {
        const std::lock_guard lock(mutex_);
        return singles_;
    }
    [[nodiscard]] std::vector<std::size_t> page_requests() const {
        const std::lock_guard lock(mutex_);
        return page_requests_;
    }

    TestServer& server() noexcept { return server_; }
    [[nodiscard]] AblyEndpoint endpoint() const { return server_.endpoint(); }

private:
    static std::vector<std::string> split(const std::string& s) {
        std::vector<std::string> out;
        std::size_t pos = 0;
        while (true) {
            const auto comma = s.find(',', pos);
            out.push_back(s.substr(pos, comma - pos));
            if (comma == std::string::npos) break;
            pos = comma + 1;
        }
        return out;
    }

    void serve(const httplib::Request& req, httplib::Response& res) {
        if (req.path == "/channels") return serve_page(req, res);
        if (req.path == "/presence") return serve_batch(req, res);
        constexpr std::string_view kPrefix = "/channels/";
        constexpr std::string_view kSuffix = "/presence";
        const std::string_view path = req.path;
        if (path.starts_with(kPrefix) && path.ends_with(kSuffix)) {
            const std::string channel(
                path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
            return serve_channel(req, res, channel);
        }
        res.status = 404;
    }

    void serve_page(const httplib::Request& req, httplib::Response& res) {
        const auto cursor = req.get_param_value("cursor");
        const std::size_t index = cursor.empty() ? 0 : std::stoul(cursor);
        {
            const std::lock_guard lock(mutex_);
            page_requests_.push_back(index);
            auto it = page_errors.find(index);
            if (it != page_errors.end() && !it->second.empty()) {
                const auto e = it->second.front();
                it->second.erase(it->second.begin());
                ably_error(res, e.status, e.code, "injected");
                if (e.status == 429) res.set_header("Retry-After", "0");
                return;
            }
        }
        if (index + 1 < pages.size()) {
            res.set_header("Link", "<./channels?limit=" + req.get_param_value("limit") +
                                       "&by=id&cursor=" + std::to_string(index + 1) +
                                       ">; rel=\"next\"");
        }
        std::string body = "[";
        if (index < pages.size()) {
            for (std::size_t i = 0; i < pages[index].size(); ++i) {
                if (i > 0) body += ",";
                body += "\"" + pages[index][i] + "\"";
            }
        }
        body += "]";
        res.set_content(body, "application/json");
    }

    void serve_batch(const httplib::Request& req, httplib::Response& res) {
        const auto names = split(req.get_param_value("channels"));
        {
            const std::lock_guard lock(mutex_);
            batches_.push_back(names);
            if (batch_failures > 0) {
                --batch_failures;
                ably_error(res, 500, 50000, "injected");
                return;
            }
        }
        if (hold_batches) server_.hold();
        if (names.size() > batch_cap) {
            ably_error(res, 400, 90010, "Max number of channels permitted exceeded");
            return;
        }
        std::string results;
        int ok = 0;
        int failed = 0;
        for (const auto& name : names) {
            if (!results.empty()) results += ",";
            bool fail = false;
            {
                const std::lock_guard lock(mutex_);
                auto it = channel_failures.find(name);
                if (it != channel_failures.end() && it->second != 0) {
                    fail = true;
                    if (it->second > 0) --it->second;
                }
            }
            if (fail) {
                ++failed;
                results += R"({"channel":")" + name +
                           R"(","error":{"code":50001,"statusCode":500,"message":"injected"}})";
                continue;
            }
            ++ok;
            results += R"({"channel":")" + name + R"(","presence":[)" + joined(name) + "]}";
        }
        res.set_content(R"({"successCount":)" + std::to_string(ok) + R"(,"failureCount":)" +
                            std::to_string(failed) + R"(,"results":[)" + results + "]}",
                        "application/json");
    }

    void serve_channel(const httplib::Request& req,
                       httplib::Response& res,
                       const std::string& channel) {
        {
            const std::lock_guard lock(mutex_);
            singles_.push_back(channel);
            auto it = channel_failures.find(channel);
            if (it != channel_failures.end() && it->second != 0) {
                if (it->second > 0) --it->second;
                ably_error(res, 500, 50000, "injected");
                return;
            }
        }
        if (before_presence) before_presence(channel);
        const auto cursor = req.get_param_value("cursor");
        const std::size_t offset = cursor.empty() ? 0 : std::stoul(cursor);
        const auto it = members.find(channel);
        const std::size_t total = it == members.end() ? 0 : it->second.size();
        const std::size_t end = std::min(total, offset + presence_page_size);
        std::string body = "[";
        for (std::size_t i = offset; i < end; ++i) {
            if (i > offset) body += ",";
            body += it->second[i];
        }
        body += "]";
        if (end < total) {
            res.set_header(
                "Link", "<./presence?limit=1000&cursor=" + std::to_string(end) + ">; rel=\"next\"");
        }
        res.set_content(body, "application/json");
    }

    std::string joined(const std::string& channel) const {
        const auto it = members.find(channel);
        if (it == members.end()) return {};
        std::string out;
        for (const auto& m : it->second) {
            if (!out.empty()) out += ",";
            out += m;
        }
        return out;
    }

    mutable std::mutex mutex_;
    std::vector<std::vector<std::string>> batches_;
    std::vector<std::string> singles_;
    std::vector<std::size_t> page_requests_;
    TestServer server_;  // last: stopped (and its handler threads joined) first
};

}  // namespace presenceagg::test

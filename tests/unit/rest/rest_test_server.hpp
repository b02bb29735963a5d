// SPDX-License-Identifier: MIT
#pragma once

// A loopback HTTP server for the REST tests: cpp-httplib on 127.0.0.1, an ephemeral port, one
// replaceable handler, and a record of every request as it arrived on the wire.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <httplib.h>

#include <presenceagg/ably.hpp>
#include <presenceagg/secret.hpp>

namespace presenceagg::test {

struct RecordedRequest {
    std::string method;
    std::string target;  ///< raw request-target: path and query exactly as sent
    std::string path;    ///< decoded path
    std::string authorization;
    std::string version;  ///< X-Ably-Version
    std::string agent;    ///< Ably-Agent
    std::string content_type;
    std::string body;
    int remote_port = 0;
    std::chrono::steady_clock::time_point at;
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

/// Sets an Ably-style JSON error response.
inline void ably_error(httplib::Response& res, int status, int code, const std::string& message) {
    res.status = status;
    res.set_header("X-Ably-ErrorCode", std::to_string(code));
    res.set_header("X-Ably-ErrorMessage", message);
    res.set_content("{\"error\":{\"code\":" + std::to_string(code) +
                        ",\"statusCode\":" + std::to_string(status) + ",\"message\":\"" + message +
                        "\",\"href\":\"https://help.ably.io/error/" + std::to_string(code) + "\"}}",
                    "application/json");
}

class TestServer {
public:
    static constexpr std::string_view kKey = "appid.keyid:s3cr3t-value";

    TestServer() {
        auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
            Handler handler;
            {
                const std::lock_guard lock(mutex_);
                RecordedRequest r;
                r.method = req.method;
                r.target = req.target;
                r.path = req.path;
                r.authorization = req.get_header_value("Authorization");
                r.version = req.get_header_value("X-Ably-Version");
                r.agent = req.get_header_value("Ably-Agent");
                r.content_type = req.get_header_value("Content-Type");
                r.body = req.body;
                r.remote_port = req.remote_port;
                r.at = std::chrono::steady_clock::now();
                requests_.push_back(std::move(r));
                handler = handler_;
            }
            cv_.notify_all();
            if (handler) {
                handler(req, res);
            } else {
                res.status = 404;
            }
        };
        server_.Get(".*", dispatch);
        server_.Post(".*", dispatch);
        port_ = server_.bind_to_any_port("127.0.0.1");
        REQUIRE(port_ > 0);
        thread_ = std::jthread([this] { server_.listen_after_bind(); });
        // stop() is a no-op before the accept loop runs: wait for it (bounded).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
        REQUIRE(server_.is_running());
    }

    ~TestServer() {
        release();
        server_.stop();
    }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    void handle(Handler handler) {
        const std::lock_guard lock(mutex_);
        handler_ = std::move(handler);
    }

    [[nodiscard]] AblyEndpoint endpoint() const {
        AblyEndpoint e;
        e.key = ApiKey::parse(kKey);
        e.endpoint = "127.0.0.1:" + std::to_string(port_);
        e.tls = false;
        e.connect_timeout = std::chrono::milliseconds(5'000);
        e.request_timeout = std::chrono::milliseconds(30'000);
        return e;
    }

    [[nodiscard]] std::vector<RecordedRequest> requests() const {
        const std::lock_guard lock(mutex_);
        return requests_;
    }

    /// Waits (bounded) until at least `n` requests arrived.
    bool wait_for_requests(std::size_t n, std::chrono::seconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    }

    /// For handlers that must hang: blocks until release() or `timeout`.
    void hold(std::chrono::seconds timeout = std::chrono::seconds(20)) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, timeout, [this] { return released_; });
    }
    void release() {
        {
            const std::lock_guard lock(mutex_);
            released_ = true;
        }
        cv_.notify_all();
    }

    [[nodiscard]] int port() const noexcept { return port_; }

private:
    httplib::Server server_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    Handler handler_;                        // guarded by mutex_
    std::vector<RecordedRequest> requests_;  // guarded by mutex_
    bool released_ = false;                  // guarded by mutex_
    std::jthread thread_;                    // last: joined after stop()
};

/// `Authorization` for TestServer::kKey (base64 computed with coreutils' base64).
inline constexpr std::string_view kExpectedBasicAuth = "Basic YXBwaWQua2V5aWQ6czNjcjN0LXZhbHVl";

}  // namespace presenceagg::test

// SPDX-License-Identifier: MIT
#pragma once

/// The Ably stand-in's HTTP server: Ably REST endpoints (time, channel enumeration and status,
/// presence, batch presence, publish, history), the SSE endpoint, and a control API under
/// /_control for tests. The behaviour is documented in tests/support/standin/README.md.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "channel_enumerator.hpp"
#include "channel_store.hpp"
#include "fault_queue.hpp"
#include "request_stats.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace presenceagg::standin {

struct StandinOptions {
    int port = 0;  ///< 0: any free port
    std::vector<std::string> keys{"appid.keyid:secret"};
    std::size_t max_message_size = 65'536;
    std::size_t max_body_size = 0;  ///< publish bodies; 0: max_message_size
    std::size_t batch_presence_cap = 100;
    std::size_t page_cap = 1'000;  ///< largest `limit` honoured on list endpoints
    int sse_keepalive_ms = 5'000;
    std::size_t threads = 64;  ///< concurrent connections served (each SSE stream holds one)
    std::size_t max_stored_messages = 1'000'000;
    int channel_publish_rate = 0;  ///< > 0: publishes per second per channel before 42913
    bool verbose = false;          ///< log every request to stderr
};

/// Thread-safe. bind() then serve() (blocks); shutdown() from any other thread ends serve().
class StandinServer {
public:
    explicit StandinServer(StandinOptions options);
    ~StandinServer();
    StandinServer(const StandinServer&) = delete;
    StandinServer& operator=(const StandinServer&) = delete;

    /// Binds 127.0.0.1:options.port; returns the port. Throws std::runtime_error on failure.
    int bind();
    /// Serves until shutdown().
    void serve();
    /// Stops accepting, ends SSE streams and idle keep-alive connections; serve() returns soon
    /// after. Idempotent.
    void shutdown();

    /// Called (once) when POST /_control/shutdown arrives.
    void on_shutdown_request(std::function<void()> callback);

private:
    using Request = httplib::Request;
    using Response = httplib::Response;
    struct Route;
    struct SseSession;

    void dispatch(const Request& req, Response& res);
    void control(const Request& req, Response& res, const std::vector<std::string>& segments);
    [[nodiscard]] bool authorized(const Request& req) const;
    void send_error(Response& res, int status, int code, const std::string& message);
    void send_json(Response& res, int status, std::string body);
    [[nodiscard]] bool check_channel_error(Response& res, const std::string& channel);

    void handle_time(const Request& req, Response& res);
    void handle_channels(const Request& req, Response& res);
    void handle_channel_status(Response& res, const std::string& channel);
    void handle_presence(const Request& req, Response& res, const std::string& channel);
    void handle_batch_presence(const Request& req, Response& res);
    void handle_publish(const Request& req, Response& res, const std::string& channel);
    void handle_history(const Request& req,
                        Response& res,
                        const std::string& channel,
                        const std::string& link_name);
    void handle_sse(const Request& req, Response& res, std::optional<Fault> fault);

    void control_presence(const Request& req, Response& res);
    void control_channels(const Request& req, Response& res);
    void control_faults(const Request& req, Response& res);
    void control_enumeration(const Request& req, Response& res);
    void control_channel_errors(const Request& req, Response& res);
    void control_sse(const Request& req, Response& res, bool drop);
    void control_published(const Request& req, Response& res);

    [[nodiscard]] bool sleep_unless_stopping(int ms) const;
    [[nodiscard]] std::size_t max_body_size() const;

    StandinOptions options_;
    std::unique_ptr<httplib::Server> http_;
    int port_ = 0;
    ChannelStore store_;
    RequestStats stats_;
    FaultQueue faults_;
    ChannelEnumerator enumerator_;
    std::atomic<bool> stopping_{false};

    mutable std::mutex mutex_;  // guards the members below
    std::condition_variable served_cv_;
    bool serving_ = false;
    std::function<void()> on_shutdown_;
    int sse_keepalive_ms_;
    bool sse_echo_qualified_ = true;
    std::uint64_t sse_drop_generation_ = 0;
    std::string sse_drop_error_;  ///< JSON ErrorInfo sent as `event: error`; empty: cut
    std::map<std::string, std::pair<std::int64_t, std::uint64_t>, std::less<>> channel_rates_;
};

}  // namespace presenceagg::standin

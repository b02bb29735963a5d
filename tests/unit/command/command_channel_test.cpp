// SPDX-License-Identifier: MIT
#include "command/command_channel.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <httplib.h>

#include <presenceagg/error.hpp>

#include "command/command_http.hpp"

namespace {

using namespace std::chrono_literals;
using presenceagg::AblyEndpoint;
using presenceagg::ApiKey;
using presenceagg::Logger;
using presenceagg::detail::Command;
using presenceagg::detail::CommandChannel;
using presenceagg::detail::CommandChannelSettings;
using presenceagg::detail::CommandInfo;
using presenceagg::detail::CommandSource;

constexpr auto kDeadline = 15s;
constexpr const char* kChannel = "commands";
constexpr const char* kKey = "app.key:s3cret";

/// Polls `pred` until it holds or a generous deadline passes; real I/O is involved, so this is
/// bounded waiting, not timing.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds deadline = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

std::string msg_json(const std::string& id,
                     const std::string& data,
                     long long ts,
                     const std::string& channel = kChannel) {
    return R"({"id":")" + id + R"(","name":"update","data":")" + data + R"(","timestamp":)" +
           std::to_string(ts) + R"(,"channel":")" + channel + R"("})";
}

std::string sse_message(const std::string& event_id, const std::string& json) {
    return "id: " + event_id + "\nevent: message\ndata: " + json + "\n\n";
}

struct SseRequest {
    std::string channels;
    std::string last_event;
    bool has_last_event = false;
    bool has_key_param = false;
    std::string authorization;
    std::string accept;
};

/// A minimal Ably stand-in: REST history and an SSE stream fed by the test.
class FakeAbly {
public:
    FakeAbly() {
        server_.set_keep_alive_timeout(1);
        server_.Get(R"(/channels/([^/]+)/messages)", [this](const httplib::Request& req,
                                                            httplib::Response& res) {
            const std::lock_guard lock(mutex_);
            ++history_requests_;
            history_ok_ = req.matches[1] == kChannel && req.get_param_value("limit") == "1" &&
                          req.get_param_value("direction") == "backwards";
            res.status = history_status_;
            res.set_content(history_, "application/json");
            cv_.notify_all();
        });
        server_.Get("/sse", [this](const httplib::Request& req, httplib::Response& res) {
            std::unique_lock lock(mutex_);
            requests_.push_back(
                SseRequest{req.get_param_value("channels"), req.get_param_value("lastEvent"),
                           req.has_param("lastEvent"), req.has_param("key"),
                           req.get_header_value("Authorization"), req.get_header_value("Accept")});
            cv_.notify_all();
            if (sse_status_ != 200) {
                res.status = sse_status_;
                res.set_content(sse_body_, "application/json");
                return;
            }
            const std::uint64_t generation = generation_;
            lock.unlock();
            res.set_chunked_content_provider(
                "text/event-stream", [this, generation](std::size_t, httplib::DataSink& sink) {
                    std::unique_lock l(mutex_);
                    cv_.wait_for(l, 20ms, [&] {
                        return shutdown_ || generation_ != generation || !pending_.empty();
                    });
                    if (shutdown_ || generation_ != generation) return false;  // drop
                    while (!pending_.empty()) {
                        const std::string chunk = std::move(pending_.front());
                        pending_.pop_front();
                        if (!sink.write(chunk.data(), chunk.size())) return false;
                    }
                    return true;
                });
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        REQUIRE(port_ > 0);
        thread_ = std::jthread([this] { server_.listen_after_bind(); });
        REQUIRE(eventually([this] { return server_.is_running(); }));
    }

    ~FakeAbly() {
        {
            const std::lock_guard lock(mutex_);
            shutdown_ = true;
        }
        cv_.notify_all();
        server_.stop();
    }

    FakeAbly(const FakeAbly&) = delete;
    FakeAbly& operator=(const FakeAbly&) = delete;

    [[nodiscard]] AblyEndpoint endpoint() const {
        AblyEndpoint e;
        e.key = ApiKey::parse(kKey);
        e.endpoint = "127.0.0.1:" + std::to_string(port_);
        e.tls = false;
        e.connect_timeout = 5s;
        e.request_timeout = 5s;
        return e;
    }

    void set_history(std::string json, int status = 200) {
        const std::lock_guard lock(mutex_);
        history_ = std::move(json);
        history_status_ = status;
    }
    void set_sse_failure(int status, std::string body) {
        const std::lock_guard lock(mutex_);
        sse_status_ = status;
        sse_body_ = std::move(body);
    }
    void push(std::string chunk) {
        {
            const std::lock_guard lock(mutex_);
            pending_.push_back(std::move(chunk));
        }
        cv_.notify_all();
    }
    /// Ends every open stream (the server drops the connection).
    void drop_streams() {
        {
            const std::lock_guard lock(mutex_);
            ++generation_;
            pending_.clear();
        }
        cv_.notify_all();
    }
    [[nodiscard]] std::vector<SseRequest> sse_requests() const {
        const std::lock_guard lock(mutex_);
        return requests_;
    }
    [[nodiscard]] std::size_t history_requests() const {
        const std::lock_guard lock(mutex_);
        return history_requests_;
    }
    [[nodiscard]] bool history_request_ok() const {
        const std::lock_guard lock(mutex_);
        return history_ok_;
    }

private:
    httplib::Server server_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::string history_ = "[]";
    int history_status_ = 200;
    int sse_status_ = 200;
    std::string sse_body_;
    std::deque<std::string> pending_;
    std::uint64_t generation_ = 0;
    bool shutdown_ = false;
    std::vector<SseRequest> requests_;
    std::size_t history_requests_ = 0;
    bool history_ok_ = false;
    std::jthread thread_;  // last: joined before the server is destroyed
};

struct Applied {
    Command command;
    CommandInfo info;
};

/// Records callbacks; thread-safe.
class Recorder {
public:
    void operator()(Command command, const CommandInfo& info) {
        const std::lock_guard lock(mutex_);
        applied_.push_back({command, info});
    }
    [[nodiscard]] std::vector<Applied> applied() const {
        const std::lock_guard lock(mutex_);
        return applied_;
    }
    [[nodiscard]] std::size_t count() const { return applied().size(); }

private:
    mutable std::mutex mutex_;
    std::vector<Applied> applied_;
};

CommandChannelSettings test_settings() {
    CommandChannelSettings s;
    s.history_poll_interval = 50ms;
    s.idle_timeout = 30s;
    s.backoff_initial = 20ms;
    s.backoff_max = 100ms;
    s.fatal_backoff = 1h;
    s.sse_retry_interval = 1h;
    s.failures_before_fallback = 3;
    return s;
}

std::string basic_auth_header() {
    // base64("app.key:s3cret")
    return "Basic YXBwLmtleTpzM2NyZXQ=";
}

}  // namespace

TEST_SUITE("CommandChannel") {
    TEST_CASE("the last message is applied at start and a following stop event is applied") {
        FakeAbly ably;
        ably.set_history("[" + msg_json("m1", "start", 1000) + "]");
        Recorder rec;
        CommandChannel channel(ably.endpoint(), kChannel, Logger{}, std::ref(rec), test_settings());
        channel.start();

        REQUIRE(eventually([&] { return rec.count() == 1; }));
        CHECK(rec.applied()[0].command == Command::Start);
        CHECK(rec.applied()[0].info.id == "m1");
        CHECK(rec.applied()[0].info.timestamp == 1000);
        CHECK(rec.applied()[0].info.source == CommandSource::History);
        CHECK(ably.history_request_ok());

        REQUIRE(eventually([&] { return channel.counters().connected; }));
        const auto requests = ably.sse_requests();
        REQUIRE(requests.size() == 1);
        CHECK(requests[0].channels == "[?rewind=1]commands");
        CHECK_FALSE(requests[0].has_last_event);
        CHECK_FALSE(requests[0].has_key_param);
        CHECK(requests[0].authorization == basic_auth_header());
        CHECK(requests[0].accept == "text/event-stream");

        // rewind=1 replays the last message: already applied, so not applied again.
        ably.push(":keepalive\n\n");
        ably.push(sse_message("e1", msg_json("m1", "start", 1000, "[?rewind=1]commands")));
        ably.push(sse_message("e2", msg_json("m2", "stop", 2000, "[?rewind=1]commands")));
        REQUIRE(eventually([&] { return rec.count() == 2; }));
        const auto applied = rec.applied();
        CHECK(applied[1].command == Command::Stop);
        CHECK(applied[1].info.id == "m2");
        CHECK(applied[1].info.source == CommandSource::Stream);
        CHECK(eventually([&] { return channel.last_event_id() == "e2"; }));

        const auto c = channel.counters();
        CHECK(c.commands_applied == 2);
        CHECK(c.duplicates == 1);
        CHECK(c.connects == 1);
        CHECK(c.events == 2);
        CHECK(c.errors == 0);
        channel.stop();
        CHECK_FALSE(channel.running());
    }

    TEST_CASE("a dropped stream is resumed with lastEvent and replays are not applied twice") {
        FakeAbly ably;
        Recorder rec;
        CommandChannel channel(ably.endpoint(), kChannel, Logger{}, std::ref(rec), test_settings());
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().connected; }));
        ably.push(sse_message("e1", msg_json("m1", "start", 1000)));
        REQUIRE(eventually([&] { return rec.count() == 1; }));

        ably.drop_streams();
        REQUIRE(eventually([&] { return ably.sse_requests().size() >= 2; }));
        const auto second = ably.sse_requests()[1];
        CHECK(second.has_last_event);
        CHECK(second.last_event == "e1");
        CHECK(second.channels == "commands");  // rewind only on the first connect
        REQUIRE(eventually([&] { return channel.counters().connects == 2; }));

        // The server replays from lastEvent inclusively (worst case) and then sends news.
        ably.push(sse_message("e1", msg_json("m1", "start", 1000)));
        ably.push(sse_message("e2", msg_json("m0", "stop", 900)));  // older: stale
        ably.push(sse_message("e3", msg_json("m3", "stop", 3000)));
        REQUIRE(eventually([&] { return rec.count() == 2; }));
        REQUIRE(eventually([&] { return channel.last_event_id() == "e3"; }));
        const auto applied = rec.applied();
        CHECK(applied[0].command == Command::Start);
        CHECK(applied[1].command == Command::Stop);
        CHECK(applied[1].info.id == "m3");
        CHECK(channel.counters().duplicates == 2);
        CHECK(rec.count() == 2);
    }

    TEST_CASE("messages for other channels and non-commands are ignored") {
        FakeAbly ably;
        Recorder rec;
        CommandChannel channel(ably.endpoint(), kChannel, Logger{}, std::ref(rec), test_settings());
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().connected; }));
        ably.push(sse_message("e1", msg_json("x1", "start", 1000, "elsewhere")));
        ably.push(sse_message("e2", msg_json("x2", "pause", 1001)));
        ably.push("event: presence\ndata: {}\n\nevent: heartbeat\n\n");
        ably.push(sse_message("e3", "{not json"));
        ably.push(sse_message("e4", msg_json("x4", "start", 1002)));
        REQUIRE(eventually([&] { return rec.count() == 1; }));
        CHECK(rec.applied()[0].info.id == "x4");
        REQUIRE(eventually([&] { return channel.counters().events == 5; }));
        CHECK(channel.counters().errors == 1);  // the undecodable message
        CHECK(channel.counters().messages == 3);
    }

    TEST_CASE("error events end the stream and are classified") {
        FakeAbly ably;
        Recorder rec;
        CommandChannel channel(ably.endpoint(), kChannel, Logger{}, std::ref(rec), test_settings());
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().connected; }));
        ably.push(sse_message("e1", msg_json("m1", "start", 1000)));
        REQUIRE(eventually([&] { return rec.count() == 1; }));

        SUBCASE("a 5xx error is retried with backoff") {
            ably.push(
                "event: error\ndata: {\"code\":50000,\"statusCode\":500,\"message\":"
                "\"boom\"}\n\n");
            REQUIRE(eventually([&] { return ably.sse_requests().size() >= 2; }));
            CHECK(ably.sse_requests()[1].last_event == "e1");
            CHECK(channel.counters().errors >= 1);
            CHECK_FALSE(channel.counters().polling);
        }
        SUBCASE("a token error is retried") {
            ably.push("event: error\ndata: {\"code\":40142,\"statusCode\":401}\n\n");
            REQUIRE(eventually([&] { return ably.sse_requests().size() >= 2; }));
            CHECK_FALSE(channel.counters().polling);
        }
        SUBCASE("a configuration error backs off long and polls history meanwhile") {
            ably.set_history("[" + msg_json("m2", "stop", 2000) + "]");
            ably.push("event: error\ndata: {\"code\":40160,\"statusCode\":401}\n\n");
            REQUIRE(eventually([&] { return channel.counters().polling; }));
            REQUIRE(eventually([&] { return rec.count() == 2; }));
            CHECK(rec.applied()[1].command == Command::Stop);
            CHECK(rec.applied()[1].info.source == CommandSource::Poll);
            CHECK(ably.sse_requests().size() == 1);  // fatal_backoff is an hour here
        }
    }

    TEST_CASE("SSE answering 404 falls back to history polling") {
        FakeAbly ably;
        ably.set_sse_failure(404, R"({"error":{"code":40400,"statusCode":404,"message":"no"}})");
        Recorder rec;
        CommandChannel channel(ably.endpoint(), kChannel, Logger{}, std::ref(rec), test_settings());
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().polling; }));
        CHECK(rec.count() == 0);

        ably.set_history("[" + msg_json("m5", "start", 5000) + "]");
        REQUIRE(eventually([&] { return rec.count() == 1; }));
        CHECK(rec.applied()[0].info.source == CommandSource::Poll);
        CHECK(rec.applied()[0].info.id == "m5");

        // Later polls see the same message: not applied again.
        const std::size_t seen = ably.history_requests();
        REQUIRE(eventually([&] { return channel.counters().duplicates >= 3; }));
        CHECK(ably.history_requests() >= seen + 3);
        CHECK(rec.count() == 1);
        CHECK(ably.sse_requests().size() == 1);
        CHECK(channel.counters().connect_failures == 1);
    }

    TEST_CASE("repeated SSE failures fall back to polling, and SSE is tried again") {
        FakeAbly ably;
        ably.set_sse_failure(503, R"({"error":{"code":50300,"statusCode":503}})");
        Recorder rec;
        auto settings = test_settings();
        settings.sse_retry_interval = 100ms;
        CommandChannel channel(ably.endpoint(), kChannel, Logger{}, std::ref(rec), settings);
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().polling; }));
        CHECK(ably.sse_requests().size() >= 3);

        ably.set_sse_failure(200, "");
        REQUIRE(eventually([&] { return channel.counters().connected; }));
        ably.push(sse_message("e1", msg_json("m1", "start", 1000)));
        REQUIRE(eventually([&] { return !channel.counters().polling; }));
        REQUIRE(eventually([&] { return rec.count() == 1; }));
    }

    TEST_CASE("a silent stream is dropped by the idle watchdog and resumed") {
        FakeAbly ably;
        Recorder rec;
        auto settings = test_settings();
        settings.idle_timeout = 300ms;
        CommandChannel channel(ably.endpoint(), kChannel, Logger{}, std::ref(rec), settings);
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().connected; }));
        ably.push("id: e1\ndata: {}\n\n");
        REQUIRE(eventually([&] { return channel.counters().idle_timeouts >= 1; }));
        REQUIRE(eventually([&] { return ably.sse_requests().size() >= 2; }));
        CHECK(ably.sse_requests()[1].last_event == "e1");
    }

    TEST_CASE("stop() while connected returns promptly and is idempotent") {
        FakeAbly ably;
        Recorder rec;
        auto settings = test_settings();
        settings.idle_timeout = 1h;
        CommandChannel channel(ably.endpoint(), kChannel, Logger{}, std::ref(rec), settings);
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().connected; }));
        const auto before = std::chrono::steady_clock::now();
        channel.stop();
        const auto took = std::chrono::steady_clock::now() - before;
        // Generous bound: the stream is woken by curl_multi_wakeup, typically within ms.
        CHECK(took < 2s);
        CHECK_FALSE(channel.running());
        CHECK_FALSE(channel.counters().connected);
        channel.stop();
        CHECK_FALSE(channel.running());
    }

    TEST_CASE("stop() from inside the callback does not deadlock") {
        FakeAbly ably;
        ably.set_history("[" + msg_json("m1", "start", 1000) + "]");
        std::atomic<int> calls{0};
        CommandChannel* self = nullptr;
        CommandChannel channel(
            ably.endpoint(), kChannel, Logger{},
            [&](Command, const CommandInfo&) {
                ++calls;
                self->stop();
            },
            test_settings());
        self = &channel;
        channel.start();
        REQUIRE(eventually([&] { return !channel.running(); }));
        CHECK(calls == 1);
        channel.stop();
    }

    TEST_CASE("a throwing callback is counted and the channel carries on") {
        FakeAbly ably;
        ably.set_history("[" + msg_json("m1", "start", 1000) + "]");
        std::atomic<int> calls{0};
        CommandChannel channel(
            ably.endpoint(), kChannel, Logger{},
            [&](Command, const CommandInfo&) {
                ++calls;
                throw std::runtime_error("handler broke");
            },
            test_settings());
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().connected; }));
        ably.push(sse_message("e1", msg_json("m2", "stop", 2000)));
        REQUIRE(eventually([&] { return calls == 2; }));
        CHECK(channel.counters().errors == 2);
        CHECK(channel.running());
    }

    TEST_CASE("bad settings are rejected at construction") {
        AblyEndpoint endpoint;
        endpoint.key = ApiKey::parse(kKey);
        endpoint.endpoint = "127.0.0.1:9";
        CHECK_THROWS_AS(CommandChannel(endpoint, "", Logger{}, {}), presenceagg::Error);
        CHECK_THROWS_AS(CommandChannel(AblyEndpoint{}, kChannel, Logger{}, {}), presenceagg::Error);
        auto s = test_settings();
        s.backoff_initial = 0ms;
        CHECK_THROWS_AS(CommandChannel(endpoint, kChannel, Logger{}, {}, s), presenceagg::Error);
        s = test_settings();
        s.backoff_max = 1ms;
        CHECK_THROWS_AS(CommandChannel(endpoint, kChannel, Logger{}, {}, s), presenceagg::Error);
    }

    TEST_CASE("the secret never reaches the log") {
        FakeAbly ably;
        ably.set_sse_failure(401, R"({"error":{"code":40101,"statusCode":401}})");
        std::mutex m;
        std::string all;
        Logger log(
            [&](const presenceagg::LogRecord& r) {
                const std::lock_guard lock(m);
                all.append(r.message);
                for (const auto& f : r.fields) all.append(" ").append(f.value);
                all.append("\n");
            },
            presenceagg::LogLevel::Trace);
        Recorder rec;
        CommandChannel channel(ably.endpoint(), kChannel, log, std::ref(rec), test_settings());
        channel.start();
        REQUIRE(eventually([&] { return channel.counters().polling; }));
        channel.stop();
        const std::lock_guard lock(m);
        CHECK(all.find("stream unavailable") != std::string::npos);
        CHECK(all.find("s3cret") == std::string::npos);
    }

    TEST_CASE("URL encoding follows encodeURIComponent") {
        using presenceagg::detail::command_url_encode;
        CHECK(command_url_encode("[?rewind=1]cmds") == "%5B%3Frewind%3D1%5Dcmds");
        CHECK(command_url_encode("a-b_c.d~e") == "a-b_c.d~e");
        CHECK(command_url_encode("x y,z:&/") == "x%20y%2Cz%3A%26%2F");
        CHECK(command_url_encode("\xC3\xA9") == "%C3%A9");
    }
}

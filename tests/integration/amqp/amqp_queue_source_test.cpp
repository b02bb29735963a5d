// SPDX-License-Identifier: MIT
// AmqpQueueSource against a real RabbitMQ (tests/support/rabbitmq.sh starts one). The broker
// comes from PRESENCEAGG_TEST_AMQP_URL; an unreachable broker fails every test, and the literal
// value "skip" skips the whole binary (exit 77). Each test uses its own queues.
#include "amqp/amqp_queue_source.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <ostream>  // doctest prints std::error_code
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>
#include <presenceagg/queue_source.hpp>

#include "support/amqp/test_broker.hpp"

using namespace std::chrono_literals;
using presenceagg::AmqpQueueSourceConfig;
using presenceagg::Delivery;
using presenceagg::Disposition;
using presenceagg::Errc;
using presenceagg::Error;
using presenceagg::Header;
using presenceagg::QueueSource;
using presenceagg::StreamKind;
using presenceagg::test::eventually;
using presenceagg::test::ScopedQueue;
using presenceagg::test::TestBroker;

namespace {

// Meson reports exit status 77 as "skipped".
[[maybe_unused]] const bool kSkipAll = [] {
    if (presenceagg::test::amqp_tests_disabled()) {
        std::fputs("PRESENCEAGG_TEST_AMQP_URL=skip: skipping the AMQP integration tests\n", stderr);
        std::exit(77);
    }
    return false;
}();

/// What the handler saw of one delivery (copied: the views die with the call).
struct Seen {
    std::string body;
    std::vector<Header> headers;
    std::string content_type;
    bool redelivered = false;
    StreamKind stream = StreamKind::Presence;

    [[nodiscard]] std::string header(std::string_view name) const {
        for (const auto& h : headers) {
            if (h.name == name) return h.value;
        }
        return "<missing>";
    }
};

/// Records deliveries and answers with a per-test policy. Thread-safe.
class Recorder {
public:
    using Policy = std::function<Disposition(const Seen&, std::size_t index)>;

    explicit Recorder(Policy policy = {})
        : policy_(std::move(policy)) {}

    Disposition operator()(const Delivery& delivery) {
        Seen seen{std::string(delivery.body),
                  std::vector<Header>(delivery.headers.begin(), delivery.headers.end()),
                  std::string(delivery.content_type), delivery.redelivered, delivery.stream};
        std::size_t index = 0;
        {
            const std::lock_guard lock(mutex_);
            index = seen_.size();
            seen_.push_back(seen);
        }
        return policy_ ? policy_(seen, index) : Disposition::Ack;
    }

    [[nodiscard]] std::vector<Seen> seen() const {
        const std::lock_guard lock(mutex_);
        return seen_;
    }
    [[nodiscard]] std::size_t count() const {
        const std::lock_guard lock(mutex_);
        return seen_.size();
    }

private:
    Policy policy_;
    mutable std::mutex mutex_;
    std::vector<Seen> seen_;
};

/// Runs a source on its own thread; stop() joins. Captures what run() throws.
class SourceRunner {
public:
    SourceRunner(std::unique_ptr<QueueSource> source, Recorder& recorder)
        : source_(std::move(source)),
          thread_([this, &recorder](std::stop_token stop) {
              try {
                  source_->run(stop, [&recorder](const Delivery& d) { return recorder(d); });
              } catch (...) {
                  error_ = std::current_exception();
              }
              finished_.store(true);
          }) {}
    ~SourceRunner() { stop(); }
    SourceRunner(const SourceRunner&) = delete;
    SourceRunner& operator=(const SourceRunner&) = delete;

    void stop() {
        thread_.request_stop();
        if (thread_.joinable()) thread_.join();
    }
    [[nodiscard]] QueueSource& source() { return *source_; }
    [[nodiscard]] bool finished() const { return finished_.load(); }
    /// Only after stop() or finished().
    [[nodiscard]] std::exception_ptr error() const { return error_; }

private:
    std::unique_ptr<QueueSource> source_;
    std::exception_ptr error_;
    std::atomic<bool> finished_{false};
    std::jthread thread_;
};

AmqpQueueSourceConfig config_for(const std::string& queue) {
    AmqpQueueSourceConfig config;
    config.url = presenceagg::test::amqp_test_url();
    config.queue = queue;
    config.prefetch = 50;
    config.heartbeat = 10s;
    config.reconnect_min = 20ms;
    config.reconnect_max = 200ms;
    return config;
}

TestBroker connect_broker() {
    return TestBroker::connect(presenceagg::test::amqp_test_url());
}

/// `url` with its password replaced (the URL must carry user:password@).
std::string with_password(const std::string& url, const std::string& password) {
    const auto user_start = url.find("://") + 3;
    const auto at = url.find('@', user_start);
    const auto colon = url.find(':', user_start);
    REQUIRE(at != std::string::npos);
    REQUIRE(colon < at);
    return url.substr(0, colon + 1) + password + url.substr(at);
}

/// Runs a source that is expected to give up, and returns what it threw.
std::exception_ptr run_until_error(AmqpQueueSourceConfig config) {
    auto source = presenceagg::make_amqp_queue_source(std::move(config));
    std::stop_source stop;
    try {
        source->run(stop.get_token(), [](const Delivery&) { return Disposition::Ack; });
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

}  // namespace

TEST_SUITE("AmqpQueueSource") {
    TEST_CASE("messages are handed over in order with headers and content type, then acked") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-consume");
        constexpr int kCount = 25;
        for (int i = 0; i < kCount; ++i) {
            broker.publish(queue.name(), "message " + std::to_string(i),
                           {{"X-Ably-Envelope-Channel", std::string("lobby")},
                            {"x-ably-message-timestamp", std::int64_t{1700000000000} + i},
                            {"x-int32", std::int32_t{-7}},
                            {"x-double", 0.25},
                            {"x-flag", true}},
                           "application/json");
        }
        Recorder recorder;
        SourceRunner runner(presenceagg::make_amqp_queue_source(config_for(queue.name())),
                            recorder);
        REQUIRE(eventually([&] { return runner.source().stats().acks == kCount; }));
        CHECK(runner.source().stats().connected);
        runner.stop();
        REQUIRE(runner.error() == nullptr);

        const auto seen = recorder.seen();
        REQUIRE(seen.size() == kCount);
        for (int i = 0; i < kCount; ++i) {
            CAPTURE(i);
            const auto& s = seen[static_cast<std::size_t>(i)];
            CHECK(s.body == "message " + std::to_string(i));
            CHECK(s.content_type == "application/json");
            CHECK_FALSE(s.redelivered);
            CHECK(s.stream == StreamKind::Presence);
            CHECK(s.header("X-Ably-Envelope-Channel") == "lobby");
            CHECK(s.header("x-ably-message-timestamp") == std::to_string(1700000000000 + i));
            CHECK(s.header("x-int32") == "-7");
            CHECK(s.header("x-double") == "0.25");
            CHECK(s.header("x-flag") == "true");
        }
        const auto stats = runner.source().stats();
        CHECK(stats.deliveries == kCount);
        CHECK(stats.rejects == 0);
        CHECK(stats.requeues == 0);
        CHECK(stats.reconnects == 0);
        CHECK_FALSE(stats.connected);
        CHECK(broker.message_count(queue.name()) == 0);  // nothing unacked came back on close
        CHECK(broker.consumer_count(queue.name()) == 0);
    }

    TEST_CASE("a rejected delivery goes to the dead-letter queue") {
        auto broker = connect_broker();
        ScopedQueue dead_letters(broker, "pa-dlq");
        presenceagg::test::QueueArgs args;
        args.dead_letter_exchange = "";
        args.dead_letter_routing_key = dead_letters.name();
        ScopedQueue queue(broker, "pa-reject", args);
        broker.publish(queue.name(), "poison", {}, "application/json");
        broker.publish(queue.name(), "fine", {}, "application/json");

        Recorder recorder([](const Seen& s, std::size_t) {
            return s.body == "poison" ? Disposition::Reject : Disposition::Ack;
        });
        SourceRunner runner(presenceagg::make_amqp_queue_source(config_for(queue.name())),
                            recorder);
        REQUIRE(eventually([&] { return runner.source().stats().deliveries == 2; }));
        REQUIRE(eventually([&] { return broker.message_count(dead_letters.name()) == 1; }));
        runner.stop();
        const auto stats = runner.source().stats();
        CHECK(stats.rejects == 1);
        CHECK(stats.acks == 1);
        CHECK(stats.requeues == 0);
        const auto dead = broker.get(dead_letters.name());
        REQUIRE(dead.has_value());
        CHECK(dead->body == "poison");
        CHECK(broker.message_count(queue.name()) == 0);
    }

    TEST_CASE("a requeued delivery comes back marked redelivered") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-requeue");
        broker.publish(queue.name(), "again");
        Recorder recorder([](const Seen&, std::size_t index) {
            return index == 0 ? Disposition::Requeue : Disposition::Ack;
        });
        SourceRunner runner(presenceagg::make_amqp_queue_source(config_for(queue.name())),
                            recorder);
        REQUIRE(eventually([&] { return runner.source().stats().acks == 1; }));
        runner.stop();
        const auto seen = recorder.seen();
        REQUIRE(seen.size() == 2);
        CHECK_FALSE(seen[0].redelivered);
        CHECK(seen[1].redelivered);
        CHECK(seen[1].body == "again");
        CHECK(runner.source().stats().requeues == 1);
        CHECK(broker.message_count(queue.name()) == 0);
    }

    TEST_CASE("a handler that throws has its delivery requeued") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-throw");
        broker.publish(queue.name(), "boom");
        Recorder recorder([](const Seen&, std::size_t index) {
            if (index == 0) throw std::runtime_error("handler failure");
            return Disposition::Ack;
        });
        SourceRunner runner(presenceagg::make_amqp_queue_source(config_for(queue.name())),
                            recorder);
        REQUIRE(eventually([&] { return runner.source().stats().acks == 1; }));
        runner.stop();
        REQUIRE(runner.error() == nullptr);
        const auto seen = recorder.seen();
        REQUIRE(seen.size() == 2);
        CHECK(seen[1].redelivered);
        CHECK(runner.source().stats().requeues == 1);
    }

    TEST_CASE(
        "a connection closed by the broker is re-established and unacked messages are "
        "redelivered") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-reconnect");
        // A user of its own, so closing "its" connections touches nothing else on the broker.
        presenceagg::test::ScopedBrokerUser user(presenceagg::test::unique_queue_name("pa-user"),
                                                 "pw-reconnect-test");
        for (int i = 0; i < 3; ++i) broker.publish(queue.name(), "m" + std::to_string(i));

        std::atomic<bool> dropped{false};
        Recorder recorder([&](const Seen& s, std::size_t) {
            if (s.body == "m0" && !dropped.exchange(true)) {
                // Close the connection under the handler, and return only once the broker has
                // dropped the consumer: this ack can then never reach it.
                CHECK(user.close_connections() == 0);
                auto observer = connect_broker();
                CHECK(eventually([&] { return observer.consumer_count(queue.name()) == 0; }));
            }
            return Disposition::Ack;
        });
        auto config = config_for(queue.name());
        config.username = user.name();
        config.password = presenceagg::Secret(user.password());
        SourceRunner runner(presenceagg::make_amqp_queue_source(std::move(config)), recorder);
        REQUIRE(eventually([&] { return runner.source().stats().reconnects >= 1; }, 60s));
        REQUIRE(eventually(
            [&] {
                return broker.message_count(queue.name()) == 0 &&
                       runner.source().stats().connected && runner.source().stats().acks >= 4;
            },
            60s));
        runner.stop();
        REQUIRE(runner.error() == nullptr);

        std::map<std::string, std::vector<bool>> deliveries;  // body -> redelivered flags
        for (const auto& s : recorder.seen()) deliveries[s.body].push_back(s.redelivered);
        REQUIRE(deliveries.size() == 3);  // nothing lost
        REQUIRE(deliveries["m0"].size() == 2);
        CHECK_FALSE(deliveries["m0"][0]);
        CHECK(deliveries["m0"][1]);  // the unacked one came back
        CHECK(broker.message_count(queue.name()) == 0);
    }

    TEST_CASE("stop during an idle consume returns within about a second") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-stop");
        Recorder recorder;
        SourceRunner runner(presenceagg::make_amqp_queue_source(config_for(queue.name())),
                            recorder);
        REQUIRE(eventually([&] { return runner.source().stats().connected; }));
        REQUIRE(eventually([&] { return broker.consumer_count(queue.name()) == 1; }));
        const auto start = std::chrono::steady_clock::now();
        runner.stop();
        const auto elapsed = std::chrono::steady_clock::now() - start;
        CHECK(elapsed < 1500ms);
        CHECK_FALSE(runner.source().stats().connected);
        CHECK(broker.consumer_count(queue.name()) == 0);  // closed, not abandoned
    }

    TEST_CASE("a refused password is a configuration error that does not reveal it") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-auth");
        const std::string password = "Wr0ng-Pa55w0rd-xyz";
        auto config = config_for(queue.name());
        SUBCASE("password given in the config") {
            config.password = presenceagg::Secret(password);
        }
        SUBCASE("password given in the URL") {
            config.url = with_password(config.url, password);
        }
        const auto error = run_until_error(config);
        REQUIRE(error != nullptr);
        try {
            std::rethrow_exception(error);
        } catch (const Error& e) {
            CHECK(e.code() == Errc::AmqpAuthRefused);
            const std::string what = e.what();
            CHECK(what.find(password) == std::string::npos);
            CHECK(what.find("guest") != std::string::npos);  // names the user
        }
    }

    TEST_CASE("a missing queue is a configuration error after a few attempts") {
        auto broker = connect_broker();
        const std::string missing = presenceagg::test::unique_queue_name("pa-missing");
        REQUIRE_FALSE(broker.queue_exists(missing));
        const auto error = run_until_error(config_for(missing));
        REQUIRE(error != nullptr);
        try {
            std::rethrow_exception(error);
        } catch (const Error& e) {
            CHECK(e.code() == Errc::AmqpChannelClosed);
            CHECK(std::string(e.what()).find(missing) != std::string::npos);
        }
        CHECK_FALSE(broker.queue_exists(missing));  // never declared
    }

    TEST_CASE("a missing occupancy queue is reported by name") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-present");
        auto config = config_for(queue.name());
        config.occupancy_queue = presenceagg::test::unique_queue_name("pa-missing-occupancy");
        const auto error = run_until_error(config);
        REQUIRE(error != nullptr);
        try {
            std::rethrow_exception(error);
        } catch (const Error& e) {
            CHECK(e.code() == Errc::AmqpChannelClosed);
            CHECK(std::string(e.what()).find(config.occupancy_queue) != std::string::npos);
        }
    }

    TEST_CASE("no more than prefetch deliveries are outstanding while the handler is busy") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-prefetch");
        constexpr int kCount = 20;
        constexpr std::uint16_t kPrefetch = 5;
        for (int i = 0; i < kCount; ++i) broker.publish(queue.name(), std::to_string(i));

        std::mutex mutex;
        std::condition_variable cv;
        bool release = false;
        Recorder recorder([&](const Seen&, std::size_t) {
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return release; });
            return Disposition::Ack;
        });
        auto config = config_for(queue.name());
        config.prefetch = kPrefetch;
        config.heartbeat = 60s;  // the handler blocks the connection's thread for a while
        SourceRunner runner(presenceagg::make_amqp_queue_source(std::move(config)), recorder);
        REQUIRE(eventually([&] { return recorder.count() == 1; }));
        // The broker pushes until prefetch deliveries are unacked; wait for the count to settle.
        REQUIRE(
            eventually([&] { return broker.message_count(queue.name()) <= kCount - kPrefetch; }));
        std::uint32_t settled = broker.message_count(queue.name());
        for (int i = 0; i < 10; ++i) {
            std::this_thread::sleep_for(50ms);  // the broker would keep sending; give it the chance
            settled = std::min(settled, broker.message_count(queue.name()));
        }
        CHECK(settled == kCount - kPrefetch);
        CHECK(recorder.count() == 1);
        {
            const std::lock_guard lock(mutex);
            release = true;
        }
        cv.notify_all();
        REQUIRE(eventually([&] { return runner.source().stats().acks == kCount; }));
        runner.stop();
        CHECK(broker.message_count(queue.name()) == 0);
    }

    TEST_CASE("occupancy queue deliveries are tagged Occupancy") {
        auto broker = connect_broker();
        ScopedQueue presence(broker, "pa-presence");
        ScopedQueue occupancy(broker, "pa-occupancy");
        broker.publish(presence.name(), "presence-1");
        broker.publish(occupancy.name(), "occupancy-1");
        broker.publish(presence.name(), "presence-2");
        broker.publish(occupancy.name(), "occupancy-2");
        Recorder recorder;
        auto config = config_for(presence.name());
        config.occupancy_queue = occupancy.name();
        SourceRunner runner(presenceagg::make_amqp_queue_source(std::move(config)), recorder);
        REQUIRE(eventually([&] { return runner.source().stats().acks == 4; }));
        runner.stop();
        const auto seen = recorder.seen();
        REQUIRE(seen.size() == 4);
        for (const auto& s : seen) {
            CAPTURE(s.body);
            const bool is_occupancy = s.body.rfind("occupancy", 0) == 0;
            CHECK(s.stream == (is_occupancy ? StreamKind::Occupancy : StreamKind::Presence));
        }
        CHECK(broker.message_count(presence.name()) == 0);
        CHECK(broker.message_count(occupancy.name()) == 0);
    }

    TEST_CASE("an oversized body is rejected unread and counted") {
        auto broker = connect_broker();
        ScopedQueue dead_letters(broker, "pa-big-dlq");
        presenceagg::test::QueueArgs args;
        args.dead_letter_exchange = "";
        args.dead_letter_routing_key = dead_letters.name();
        ScopedQueue queue(broker, "pa-big", args);
        const std::string big(300 * 1024, 'x');  // several frames
        broker.publish(queue.name(), big);
        broker.publish(queue.name(), "small");

        Recorder recorder;
        presenceagg::detail::AmqpSourceLimits limits;
        limits.max_body_bytes = 64 * 1024;
        auto source = std::make_unique<presenceagg::detail::AmqpQueueSource>(
            config_for(queue.name()), limits);
        auto* raw = source.get();
        SourceRunner runner(std::move(source), recorder);
        REQUIRE(eventually([&] { return raw->stats().deliveries == 2 && raw->stats().acks == 1; }));
        runner.stop();
        CHECK(raw->oversized() == 1);
        CHECK(raw->stats().rejects == 1);
        const auto seen = recorder.seen();
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].body == "small");
        CHECK(broker.message_count(dead_letters.name()) == 1);
    }

    TEST_CASE("a body spanning many frames arrives whole") {
        auto broker = connect_broker();
        ScopedQueue queue(broker, "pa-frames");
        std::string body(1024 * 1024 + 17, '\0');
        for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
        broker.publish(queue.name(), body, {}, "application/octet-stream");
        broker.publish(queue.name(), "");  // and an empty one
        Recorder recorder;
        SourceRunner runner(presenceagg::make_amqp_queue_source(config_for(queue.name())),
                            recorder);
        REQUIRE(eventually([&] { return runner.source().stats().acks == 2; }));
        runner.stop();
        const auto seen = recorder.seen();
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].body.size() == body.size());
        CHECK(seen[0].body == body);
        CHECK(seen[0].content_type == "application/octet-stream");
        CHECK(seen[1].body.empty());
    }

    TEST_CASE("a queue deleted under the consumer is noticed (basic.cancel) and reported missing") {
        auto broker = connect_broker();
        const std::string name = presenceagg::test::unique_queue_name("pa-deleted");
        broker.declare_queue(name);
        Recorder recorder;
        SourceRunner runner(presenceagg::make_amqp_queue_source(config_for(name)), recorder);
        REQUIRE(eventually([&] { return broker.consumer_count(name) == 1; }));
        REQUIRE(broker.delete_queue(name));
        REQUIRE(eventually([&] { return runner.finished(); }));
        runner.stop();
        REQUIRE(runner.error() != nullptr);
        try {
            std::rethrow_exception(runner.error());
        } catch (const Error& e) {
            CHECK(e.code() == Errc::AmqpChannelClosed);
        }
        CHECK(runner.source().stats().reconnects >= 1);
    }
}

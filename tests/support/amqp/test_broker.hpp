// SPDX-License-Identifier: MIT
#pragma once

/// Test-side broker access for tests that need a real RabbitMQ: declare, purge and delete
/// queues, publish with publisher confirms, read message counts, and drive `rabbitmqctl`.
/// Independent of the library under test (it uses librabbitmq-c directly).
///
/// Typical use:
///
///     auto broker = presenceagg::test::TestBroker::connect(presenceagg::test::amqp_test_url());
///     presenceagg::test::ScopedQueue queue(broker, "my-test");   // unique name, deleted after
///     broker.publish(queue.name(), R"({"source":"channel.presence"})", {}, "application/json");
///     CHECK(broker.message_count(queue.name()) == 1);
///
/// The broker comes from PRESENCEAGG_TEST_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/%2f);
/// start one with tests/support/rabbitmq.sh.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace presenceagg::test {

/// PRESENCEAGG_TEST_AMQP_URL, or amqp://guest:guest@127.0.0.1:5672/%2f when unset.
[[nodiscard]] std::string amqp_test_url();

/// True when PRESENCEAGG_TEST_AMQP_URL is the literal "skip": broker tests should not run.
[[nodiscard]] bool amqp_tests_disabled();

/// `url` with the password replaced by "***", for messages.
[[nodiscard]] std::string redact_amqp_url(std::string_view url);

/// "<prefix>-<pid>-<n>-<random>": unique per process and call, so parallel tests never share.
[[nodiscard]] std::string unique_queue_name(std::string_view prefix);

/// Runs `rabbitmqctl -q <args>` (output discarded) and returns its exit status; -1 when it
/// could not be run. Only works when the broker runs on this machine.
int rabbitmqctl(const std::string& args);

/// Arguments for declaring a test queue (the library never declares; tests must).
struct QueueArgs {
    std::optional<std::string> dead_letter_exchange;     ///< x-dead-letter-exchange
    std::optional<std::string> dead_letter_routing_key;  ///< x-dead-letter-routing-key
    std::optional<std::int64_t> max_length;              ///< x-max-length
    bool durable = false;  ///< survives a broker restart (with persistent messages)
};

/// A header value of one of the AMQP field kinds tests exercise.
using HeaderValue = std::variant<std::string, std::int64_t, std::int32_t, double, bool>;

struct TestHeader {
    std::string name;
    HeaderValue value;
};

/// One message as read back with basic.get.
struct FetchedMessage {
    std::string body;
    std::string content_type;
    bool redelivered = false;
};

/// One connection and channel to the broker. Not thread-safe: use one per thread. Every
/// failure throws std::runtime_error with a message naming the operation and the queue.
class TestBroker {
public:
    /// Connects, opening a channel in confirm mode. Throws std::runtime_error naming the
    /// broker (password redacted) and how to start one when it is unreachable.
    [[nodiscard]] static TestBroker connect(const std::string& url);

    TestBroker(TestBroker&&) noexcept;
    TestBroker& operator=(TestBroker&&) noexcept;
    ~TestBroker();

    /// Declares a non-durable, non-exclusive queue (idempotent for equal arguments).
    void declare_queue(const std::string& name, const QueueArgs& args = {});
    /// Deletes the queue; false when it did not exist or the broker refused.
    bool delete_queue(const std::string& name) noexcept;
    /// Removes every ready message; returns how many.
    std::uint32_t purge(const std::string& name);

    /// Publishes to `queue` through the default exchange and waits for the broker's confirm.
    void publish(const std::string& queue,
                 std::string_view body,
                 const std::vector<TestHeader>& headers = {},
                 std::string_view content_type = {});
    /// Publishes later messages persistent (delivery mode 2) instead of transient, so that a
    /// durable queue keeps them across a broker restart.
    void set_persistent(bool persistent) noexcept;
    /// Publishes many bodies, waiting for confirms every `window` messages and at the end.
    void publish_many(const std::string& queue,
                      std::span<const std::string> bodies,
                      std::string_view content_type = {},
                      std::size_t window = 1000);

    /// Ready (not unacknowledged) messages, via a passive declare. Throws when missing.
    [[nodiscard]] std::uint32_t message_count(const std::string& queue);
    /// Consumers attached to the queue, via a passive declare.
    [[nodiscard]] std::uint32_t consumer_count(const std::string& queue);
    /// Whether the queue exists (passive declare).
    [[nodiscard]] bool queue_exists(const std::string& queue);
    /// basic.get with an immediate ack; nullopt when the queue is empty.
    [[nodiscard]] std::optional<FetchedMessage> get(const std::string& queue);

private:
    struct State;
    explicit TestBroker(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

/// Declares a uniquely named queue on construction and deletes it on destruction.
class ScopedQueue {
public:
    ScopedQueue(TestBroker& broker, std::string_view prefix, const QueueArgs& args = {});
    ~ScopedQueue();
    ScopedQueue(const ScopedQueue&) = delete;
    ScopedQueue& operator=(const ScopedQueue&) = delete;
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

private:
    TestBroker& broker_;
    std::string name_;
};

/// A broker user with full permissions on vhost "/", created with rabbitmqctl and deleted on
/// destruction, so a test can close exactly its own connections.
class ScopedBrokerUser {
public:
    /// Throws std::runtime_error when rabbitmqctl is unavailable or fails.
    ScopedBrokerUser(std::string name, std::string password);
    ~ScopedBrokerUser();
    ScopedBrokerUser(const ScopedBrokerUser&) = delete;
    ScopedBrokerUser& operator=(const ScopedBrokerUser&) = delete;
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] const std::string& password() const noexcept { return password_; }
    /// Forcibly closes this user's connections (connection.close 320 CONNECTION_FORCED).
    /// Returns the rabbitmqctl exit status.
    int close_connections() const;

private:
    std::string name_;
    std::string password_;
};

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns its last value.
/// For waiting on real I/O (a broker) only.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return condition();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace presenceagg::test

// SPDX-License-Identifier: MIT
// AmqpQueueSource without a broker: configuration checks and reconnect behaviour against a
// loopback port nobody listens on. Broker behaviour is in tests/integration/amqp.
#include "amqp/amqp_queue_source.hpp"

#include <chrono>
#include <mutex>
#include <ostream>  // doctest prints std::error_code
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>
#include <presenceagg/queue_source.hpp>

using namespace std::chrono_literals;
using presenceagg::AmqpQueueSourceConfig;
using presenceagg::Errc;
using presenceagg::Error;

namespace {

AmqpQueueSourceConfig valid_config() {
    AmqpQueueSourceConfig config;
    config.url = "amqp://user:pa55word@127.0.0.1:1/";
    config.queue = "APP:presence";
    return config;
}

/// Collects log records; thread-safe.
struct LogCapture {
    std::mutex mutex;
    std::vector<std::string> lines;

    presenceagg::Logger logger() {
        return presenceagg::Logger(
            [this](const presenceagg::LogRecord& record) {
                std::string line(record.message);
                for (const auto& field : record.fields) {
                    line += ' ';
                    line += field.key;
                    line += '=';
                    line += field.value;
                }
                const std::lock_guard lock(mutex);
                lines.push_back(std::move(line));
            },
            presenceagg::LogLevel::Trace);
    }
    bool contains(std::string_view text) {
        const std::lock_guard lock(mutex);
        for (const auto& line : lines) {
            if (line.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

void check_rejected(AmqpQueueSourceConfig config, std::string_view names) {
    try {
        (void)presenceagg::make_amqp_queue_source(std::move(config));
        FAIL("expected Error(InvalidConfig)");
    } catch (const Error& e) {
        CHECK(e.code() == Errc::InvalidConfig);
        CHECK(std::string(e.what()).find(names) != std::string::npos);
        CHECK(std::string(e.what()).find("pa55word") == std::string::npos);
    }
}

}  // namespace

TEST_SUITE("AmqpQueueSource") {
    TEST_CASE("the factory accepts a valid configuration") {
        auto source = presenceagg::make_amqp_queue_source(valid_config());
        REQUIRE(source);
        CHECK_FALSE(source->stats().connected);
    }

    TEST_CASE("the factory rejects bad settings, naming them") {
        auto config = valid_config();
        SUBCASE("empty queue") {
            config.queue.clear();
            check_rejected(config, "queue");
        }
        SUBCASE("zero prefetch") {
            config.prefetch = 0;
            check_rejected(config, "prefetch");
        }
        SUBCASE("zero heartbeat") {
            config.heartbeat = 0s;
            check_rejected(config, "heartbeat");
        }
        SUBCASE("zero connect timeout") {
            config.connect_timeout = 0ms;
            check_rejected(config, "connect timeout");
        }
        SUBCASE("inverted reconnect bounds") {
            config.reconnect_min = 5s;
            config.reconnect_max = 1s;
            check_rejected(config, "reconnect_max");
        }
        SUBCASE("malformed URL") {
            config.url = "amqp://user:pa55word@host:port/";
            check_rejected(config, "url");
        }
        SUBCASE("unreadable CA file for amqps") {
            config.url = "amqps://user:pa55word@127.0.0.1:1/";
            config.ca_file = "/nonexistent/ca.pem";
            check_rejected(config, "ca_file");
        }
    }

    TEST_CASE("turning TLS verification off is logged as a warning") {
        LogCapture capture;
        auto config = valid_config();
        config.url = "amqps://user:pa55word@127.0.0.1:1/";
        config.ca_file = "/nonexistent/ca.pem";  // not needed without verification
        config.tls_verify = false;
        config.log = capture.logger();
        (void)presenceagg::make_amqp_queue_source(std::move(config));
        CHECK(capture.contains("TLS verification is off"));
        CHECK_FALSE(capture.contains("pa55word"));
    }

    TEST_CASE(
        "an unreachable broker is retried with backoff until stop, without logging the password") {
        LogCapture capture;
        auto config = valid_config();
        config.reconnect_min = 1ms;
        config.reconnect_max = 5ms;
        config.connect_timeout = 1s;
        config.log = capture.logger();
        auto source = presenceagg::make_amqp_queue_source(std::move(config));
        std::jthread runner([&](std::stop_token stop) {
            source->run(stop,
                        [](const presenceagg::Delivery&) { return presenceagg::Disposition::Ack; });
        });
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (source->stats().reconnects < 3 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(5ms);  // polling real (loopback) I/O
        }
        runner.request_stop();
        runner.join();
        CHECK(source->stats().reconnects >= 3);
        CHECK_FALSE(source->stats().connected);
        CHECK(capture.contains("cannot connect"));
        CHECK(capture.contains("amqp://127.0.0.1:1/"));
        CHECK_FALSE(capture.contains("pa55word"));
    }

    TEST_CASE("run returns at once when stop was already requested") {
        auto source = presenceagg::make_amqp_queue_source(valid_config());
        std::stop_source stop;
        stop.request_stop();
        source->run(stop.get_token(),
                    [](const presenceagg::Delivery&) { return presenceagg::Disposition::Ack; });
        CHECK(source->stats().reconnects == 0);
    }

    TEST_CASE("an empty handler is a configuration error") {
        auto source = presenceagg::make_amqp_queue_source(valid_config());
        std::stop_source stop;
        CHECK_THROWS_AS(source->run(stop.get_token(), presenceagg::DeliveryHandler{}), Error);
    }
}

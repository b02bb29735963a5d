// SPDX-License-Identifier: MIT
// amqp-load: fills a queue and drains it through AmqpQueueSource, for throughput figures that
// can be set beside amqp-bare-consumer's on the same broker.
//
//   amqp-load fill  URL QUEUE COUNT [BODY_BYTES]     declare QUEUE (if needed) and publish COUNT
//   amqp-load drain URL QUEUE PREFETCH COUNT         consume COUNT with AmqpQueueSource, ack each
//   amqp-load delete URL QUEUE

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <presenceagg/error.hpp>
#include <presenceagg/queue_source.hpp>

#include "amqp/amqp_queue_source.hpp"
#include "support/amqp/test_broker.hpp"

namespace {

int fill(const std::string& url, const std::string& queue, std::size_t count, std::size_t size) {
    auto broker = presenceagg::test::TestBroker::connect(url);
    broker.declare_queue(queue);
    std::vector<std::string> bodies;
    bodies.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        std::string body = R"({"n":)" + std::to_string(i) + "}";
        if (body.size() < size) body.append(size - body.size(), ' ');
        bodies.push_back(std::move(body));
    }
    const auto start = std::chrono::steady_clock::now();
    broker.publish_many(queue, bodies, "application/json");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("published %zu messages of %zu bytes in %.3f s (%.0f/s, confirmed)\n", count, size,
                seconds, static_cast<double>(count) / seconds);
    return 0;
}

int drain(const std::string& url,
          const std::string& queue,
          unsigned prefetch,
          std::uint64_t count) {
    presenceagg::AmqpQueueSourceConfig config;
    config.url = url;
    config.queue = queue;
    config.prefetch = static_cast<std::uint16_t>(prefetch);
    presenceagg::detail::AmqpQueueSource source(std::move(config));
    std::uint64_t received = 0;
    std::uint64_t bytes = 0;
    std::chrono::steady_clock::time_point start;
    std::chrono::steady_clock::time_point last;
    std::stop_source stop;
    source.run(stop.get_token(), [&](const presenceagg::Delivery& delivery) {
        if (received == 0) start = std::chrono::steady_clock::now();
        bytes += delivery.body.size();
        if (++received == count) stop.request_stop();
        last = std::chrono::steady_clock::now();
        return presenceagg::Disposition::Ack;
    });
    const double seconds = std::chrono::duration<double>(last - start).count();
    const auto stats = source.stats();
    std::printf(
        "AmqpQueueSource: %llu messages (%llu body bytes) in %.3f s = %.0f messages/s "
        "(prefetch %u, acks %llu)\n",
        static_cast<unsigned long long>(received), static_cast<unsigned long long>(bytes), seconds,
        seconds > 0 ? static_cast<double>(received) / seconds : 0.0, prefetch,
        static_cast<unsigned long long>(stats.acks));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() >= 4 && args[0] == "fill") {
            return fill(args[1], args[2], std::stoul(args[3]),
                        args.size() > 4 ? std::stoul(args[4]) : 64);
        }
        if (args.size() == 5 && args[0] == "drain") {
            return drain(args[1], args[2], static_cast<unsigned>(std::stoul(args[3])),
                         std::stoull(args[4]));
        }
        if (args.size() == 3 && args[0] == "delete") {
            auto broker = presenceagg::test::TestBroker::connect(args[1]);
            return broker.delete_queue(args[2]) ? 0 : 1;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "amqp-load: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr,
                 "usage: amqp-load fill URL QUEUE COUNT [BODY_BYTES]\n"
                 "       amqp-load drain URL QUEUE PREFETCH COUNT\n"
                 "       amqp-load delete URL QUEUE\n");
    return 2;
}

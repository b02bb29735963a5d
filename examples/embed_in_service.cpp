// SPDX-License-Identifier: MIT
// The smallest useful embedding: the default components wired into a Pipeline, configured from
// the same environment variables as `presence-agg run`, running until SIGINT/SIGTERM.
//
//   g++ -std=c++20 embed_in_service.cpp $(pkg-config --cflags --libs presenceagg)
//   ABLY_API_KEY=appid.keyid:secret ./a.out
#include <csignal>
#include <cstdlib>
#include <iostream>

#include <presenceagg/presenceagg.hpp>

namespace {

std::string env(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? v : fallback;
}

}  // namespace

int main() {
    using namespace presenceagg;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

    try {
        const Logger log(
            [](const LogRecord& r) {
                std::clog << to_string(r.level) << ' ' << r.component << ": " << r.message << '\n';
            },
            LogLevel::Info);
        const ApiKey key = ApiKey::parse(env("ABLY_API_KEY", ""));

        PipelineConfig config;
        config.ably.key = key;
        config.namespace_regex = env("NAMESPACE_REGEX", "^presence:.*");
        config.command.consume_on_start = true;
        config.log = log;

        AmqpQueueSourceConfig source;
        source.url = "amqps://" + env("QUEUE_ENDPOINT", "us-east-1-a-queue.ably.io:5671/shared");
        source.username = key.key_name;
        source.password = key.secret;
        source.queue = key.app_id + ":" + env("QUEUE_NAME", "presence-queue");
        source.log = log;

        Pipeline pipeline(config, make_memory_presence_store({.log = log}),
                          make_amqp_queue_source(source),
                          make_curl_ably_rest_sink({.ably = config.ably, .log = log}),
                          make_thread_scheduler(log));
        pipeline.start();
        int sig = 0;
        sigwait(&signals, &sig);
        pipeline.stop();  // publishes once more
        pipeline.wait();
    } catch (const Error& e) {
        std::cerr << e.what() << '\n';
        return 1;
    }
    return 0;
}

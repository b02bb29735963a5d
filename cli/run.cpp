// SPDX-License-Identifier: MIT
// `presence-agg run`: the main job, configured as the original app was.
#include <chrono>
#include <csignal>
#include <iostream>
#include <string>

#include <presenceagg/pipeline.hpp>

#include "commands.hpp"
#include "job_config.hpp"
#include "metrics_server.hpp"
#include "signals.hpp"

namespace presenceagg::cli {
namespace {

// Where to consume: any broker through AMQP_URL, else the Ably Queue at QUEUE_ENDPOINT with the
// API key as credentials and the queue named APPID:QUEUE_NAME (Ably's convention).
AmqpQueueSourceConfig make_source_config(const Settings& s,
                                         const PipelineConfig& pc,
                                         const Logger& log) {
    AmqpQueueSourceConfig c;
    c.log = log;
    c.prefetch = static_cast<std::uint16_t>(s.integer("amqp-prefetch", 1, 65535));
    c.tls_verify = !s.boolean("insecure-skip-tls-verify");
    if (s.is_set("amqp-url")) {
        c.url = s.text("amqp-url");
        c.queue = s.is_set("amqp-queue") ? s.text("amqp-queue") : s.text("queue-name");
        c.occupancy_queue = s.text("amqp-occupancy-queue");
        return c;
    }
    if (pc.ably.key.empty()) {
        throw Error(Errc::InvalidConfig, Settings::label("ably-api-key") + " is required (or set " +
                                             Settings::label("amqp-url") + ")");
    }
    c.url = "amqps://" + s.text("queue-endpoint");
    c.username = pc.ably.key.key_name;
    c.password = pc.ably.key.secret;
    c.queue = pc.ably.key.app_id + ":" + s.text("queue-name");
    if (s.is_set("occupancy-queue-name"))
        c.occupancy_queue = pc.ably.key.app_id + ":" + s.text("occupancy-queue-name");
    return c;
}

}  // namespace

int run_main_job(const CommandLine& line) {
    const Settings& s = line.settings;
    const Logger log = make_logger(s);
    PipelineConfig pc = make_pipeline_config(s, log);
    if (pc.ably.key.empty()) {
        throw Error(Errc::InvalidConfig, Settings::label("ably-api-key") + " is required for run");
    }
    AmqpQueueSourceConfig source_config = make_source_config(s, pc, log);
    // Occupancy events are the trigger for drift repair; without them only periodic
    // verification runs.
    log.log(LogLevel::Info, "cli", "presence-agg run starting",
            {{"queue", source_config.queue},
             {"occupancy_queue",
              source_config.occupancy_queue.empty() ? "(none)" : source_config.occupancy_queue},
             {"namespace", pc.namespace_regex},
             {"ably", pc.ably.base_url()},
             {"key", pc.ably.key.key_name},
             {"command_channel", pc.command.channel.empty() ? "(disabled)" : pc.command.channel},
             {"consume_on_start", pc.command.consume_on_start ? "true" : "false"},
             {"publish_interval_ms", std::to_string(pc.publish.interval.count())},
             {"publish_mode", pc.publish.diff_mode ? "diff" : "snapshot"},
             {"max_message_size", std::to_string(pc.publish.max_message_size)}});

    CurlAblyRestSinkConfig sink_config{pc.ably, log};
    Pipeline pipeline(std::move(pc), make_memory_presence_store({.log = log}),
                      make_amqp_queue_source(std::move(source_config)),
                      make_curl_ably_rest_sink(std::move(sink_config)), make_thread_scheduler(log));
    auto metrics = start_metrics_server(
        s.text("metrics-addr"), [&pipeline] { return pipeline.stats(); }, log);
    pipeline.start();
    for (;;) {
        if (pipeline.wait_for(std::chrono::milliseconds(0))) break;
        const int sig = wait_for_termination_signal(std::chrono::milliseconds(250));
        if (sig != 0) {
            log.log(LogLevel::Info, "cli",
                    sig == SIGINT ? "SIGINT: stopping" : "SIGTERM: stopping");
            break;
        }
    }
    pipeline.stop();
    metrics.reset();
    pipeline.wait();  // rethrows a fatal worker error
    return 0;
}

}  // namespace presenceagg::cli

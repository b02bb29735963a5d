// SPDX-License-Identifier: MIT
// `presence-agg demo`: the main job on a simulated population, with no account or service.
#include <chrono>
#include <csignal>
#include <iostream>

#include <unistd.h>

#include <presenceagg/demo.hpp>
#include <presenceagg/pipeline.hpp>

#include "commands.hpp"
#include "job_config.hpp"
#include "metrics_server.hpp"
#include "signals.hpp"

namespace presenceagg::cli {

int run_demo(const CommandLine& line) {
    const Settings& s = line.settings;
    const DemoOptions& opt = line.demo;
    const Logger log = make_logger(s);

    SimulationConfig sim;
    sim.seed = opt.seed;
    sim.clients = opt.clients;
    sim.channels = opt.channels;
    sim.events_per_second = opt.rate;
    sim.log = log;
    auto source = std::make_unique<SimulatedQueueSource>(sim);
    SimulatedQueueSource* simulation = source.get();

    DemoSinkConfig sink_config;
    sink_config.record_path = opt.output;
    sink_config.log = log;

    PipelineConfig pc;
    pc.log = log;
    pc.namespace_regex = s.text("namespace-regex");
    pc.publish = make_publish_config(s);
    pc.bootstrap.enabled = false;  // nothing to bootstrap from: the simulation starts empty
    pc.repair.enabled = false;
    pc.command.channel.clear();

    Pipeline pipeline(std::move(pc), make_memory_presence_store({.log = log}), std::move(source),
                      make_demo_sink(std::move(sink_config)), make_thread_scheduler(log));
    const bool tty = isatty(STDOUT_FILENO) != 0;
    SummaryExtras extras;
    extras.style = tty ? SummaryStyle::InPlace : SummaryStyle::Plain;
    extras.footer = opt.output.empty()
                        ? "Ctrl-C to stop"
                        : "recording publishes to " + opt.output + "; Ctrl-C to stop";
    EventRateTracker rate;
    const auto started = std::chrono::steady_clock::now();
    const auto refresh = tty ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(5000);
    auto next_refresh = started + refresh;

    auto show = [&](const Stats& stats) {
        const auto now = std::chrono::steady_clock::now();
        extras.uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started);
        extras.events_per_second = rate.update(stats.presence_events, now);
        extras.native_fanout_messages = simulation->native_fanout_messages();
        extras.expected_members = simulation->expected_members();
        std::cout << render_summary(stats, extras) << std::flush;
    };

    auto metrics = start_metrics_server(
        s.text("metrics-addr"), [&pipeline] { return pipeline.stats(); }, log);
    pipeline.start();
    for (;;) {
        if (pipeline.wait_for(std::chrono::milliseconds(0))) break;
        if (wait_for_termination_signal(std::chrono::milliseconds(100)) != 0) break;
        const auto now = std::chrono::steady_clock::now();
        if (opt.duration && now - started >= *opt.duration) break;
        if (now >= next_refresh) {
            show(pipeline.stats());
            next_refresh = now + refresh;
        }
    }
    pipeline.stop();
    metrics.reset();
    extras.style = SummaryStyle::Plain;
    extras.title = "presence-agg demo: final summary";
    extras.footer.clear();
    show(pipeline.stats());
    pipeline.wait();
    return 0;
}

}  // namespace presenceagg::cli

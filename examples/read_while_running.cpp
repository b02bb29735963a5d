// SPDX-License-Identifier: MIT
// Reading views and stats from another thread while the service runs: the store and stats() are
// thread-safe, so a reporting thread can look at them at any time. Uses the built-in simulated
// population so it runs anywhere.
//
//   g++ -std=c++20 read_while_running.cpp $(pkg-config --cflags --libs presenceagg)
#include <chrono>
#include <iostream>
#include <thread>

#include <presenceagg/demo.hpp>
#include <presenceagg/presenceagg.hpp>

int main() {
    using namespace presenceagg;
    PipelineConfig config;
    config.bootstrap.enabled = false;
    config.repair.enabled = false;
    config.command.channel.clear();
    config.publish.interval = std::chrono::milliseconds(500);

    Pipeline pipeline(config, make_memory_presence_store(), make_simulated_queue_source({}),
                      make_demo_sink({}), make_thread_scheduler());
    pipeline.start();

    std::jthread reporter([&pipeline](std::stop_token stop) {
        while (!stop.stop_requested()) {
            const Stats s = pipeline.stats();
            std::size_t lobby = 0;
            pipeline.store().visit(View::ByChannel,
                                   [&](std::span<const std::string_view> path, std::string_view) {
                                       if (path[0] == "presence:lobby") ++lobby;
                                   });
            std::cout << s.counts.members << " members, " << s.counts.clients << " clients, "
                      << lobby << " in presence:lobby, " << s.publish[0].publishes
                      << " by-channel publishes\n";
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
    });
    std::this_thread::sleep_for(std::chrono::seconds(3));
    reporter.request_stop();
    reporter.join();
    pipeline.stop();
    pipeline.wait();
    std::cout << "prometheus exposition:\n"
              << to_prometheus(pipeline.stats()).substr(0, 400) << "...\n";
    return 0;
}

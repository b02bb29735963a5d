// SPDX-License-Identifier: MIT
// A custom AblyRestSink: instead of publishing to Ably, every view's latest messages are written
// to files in a directory (one file per channel, rewritten on each publish). Run with
// --self-test to drive it with the built-in simulated population for two seconds.
//
//   g++ -std=c++20 custom_sink.cpp $(pkg-config --cflags --libs presenceagg)
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <presenceagg/demo.hpp>
#include <presenceagg/presenceagg.hpp>

namespace {

// Thread-compatible like every sink: the publisher calls publish() from one thread at a time.
class DirectorySink final : public presenceagg::AblyRestSink {
public:
    explicit DirectorySink(std::filesystem::path dir)
        : dir_(std::move(dir)) {
        std::filesystem::create_directories(dir_);
    }

    presenceagg::PublishResult publish(
        std::string_view channel, std::span<const presenceagg::OutboundMessage> messages) override {
        std::string name(channel);
        for (char& c : name) {
            if (c == '/' || c == ':') c = '_';
        }
        std::ofstream out(dir_ / (name + ".ndjson"), std::ios::app);
        for (const auto& m : messages) out << m.data << '\n';
        if (!out) {
            presenceagg::PublishResult failed;
            failed.error = presenceagg::make_error_code(presenceagg::Errc::Io);
            failed.message = "cannot write " + name;
            return failed;
        }
        return {};
    }

private:
    std::filesystem::path dir_;
};

}  // namespace

int main(int argc, char** argv) {
    using namespace presenceagg;
    const bool self_test = argc > 1 && std::string_view(argv[1]) == "--self-test";
    const auto dir = std::filesystem::temp_directory_path() / "presenceagg-custom-sink";
    std::filesystem::remove_all(dir);

    PipelineConfig config;
    config.bootstrap.enabled = false;  // no Ably REST in this example
    config.repair.enabled = false;
    config.command.channel.clear();
    config.publish.interval = std::chrono::milliseconds(200);

    SimulationConfig sim;
    sim.events_per_second = 2000;
    Pipeline pipeline(config, make_memory_presence_store(), make_simulated_queue_source(sim),
                      std::make_unique<DirectorySink>(dir), make_thread_scheduler());
    pipeline.start();
    std::this_thread::sleep_for(self_test ? std::chrono::seconds(2) : std::chrono::seconds(10));
    pipeline.stop();
    pipeline.wait();

    const auto written = std::distance(std::filesystem::directory_iterator(dir), {});
    std::cout << "wrote " << written << " view files to " << dir << " ("
              << pipeline.store().counts().members << " members)\n";
    return written == 4 ? 0 : 1;
}

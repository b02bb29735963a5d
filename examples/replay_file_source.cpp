// SPDX-License-Identifier: MIT
// A custom QueueSource: reads a capture (one Ably enveloped queue message per line, as
// `presence-agg replay` takes) and delivers each line as if it came from the broker. Such a
// source plugs into the Pipeline unchanged; here it feeds a store and prints the by-client view.
//
//   g++ -std=c++20 replay_file_source.cpp $(pkg-config --cflags --libs presenceagg)
//   ./a.out capture.ndjson
#include <fstream>
#include <iostream>
#include <string>

#include <presenceagg/presenceagg.hpp>

namespace {

// Thread-bound like every QueueSource: run() owns the calling thread.
class CaptureFileSource final : public presenceagg::QueueSource {
public:
    explicit CaptureFileSource(std::string path)
        : path_(std::move(path)) {}

    void run(std::stop_token stop, const presenceagg::DeliveryHandler& handler) override {
        std::ifstream in(path_);
        if (!in) throw presenceagg::Error(presenceagg::Errc::Io, "cannot open " + path_);
        std::string line;
        while (!stop.stop_requested() && std::getline(in, line)) {
            if (line.empty()) continue;
            presenceagg::Delivery d;
            d.body = line;
            d.content_type = "application/json";
            handler(d);  // Reject/Requeue mean nothing for a file: every line is read once
        }
    }

private:
    std::string path_;
};

}  // namespace

int main(int argc, char** argv) {
    using namespace presenceagg;
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " CAPTURE.ndjson\n";
        return 2;
    }
    auto store = make_memory_presence_store();
    Decoder decoder;
    DecodedBatch batch;
    CaptureFileSource source(argv[1]);
    std::size_t bad = 0;
    source.run({}, [&](const Delivery& d) {
        batch.clear();
        if (!decoder.decode_queue_message(d.body, d.headers, batch).ok()) {
            ++bad;
            return Disposition::Reject;
        }
        for (const auto& m : batch.messages()) store->apply(m);
        return Disposition::Ack;
    });
    store->visit(View::ByClient, [](std::span<const std::string_view> path, std::string_view leaf) {
        std::cout << path[0] << " in " << path[1] << " on " << path[2] << ": " << leaf << '\n';
    });
    std::cerr << store->counts().members << " members, " << bad << " bad lines\n";
    return 0;
}

// SPDX-License-Identifier: MIT
// The fixtures of examples/js-consumer: NDJSON streams of recorded publishes (Ably history form)
// and the state the C++ ViewAssembler builds from them. The JS assembler's test must reach the
// same bytes. Regenerate with PRESENCEAGG_REGENERATE_FIXTURES=1.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include <presenceagg/view_assembler.hpp>

#include "publish/view_publisher.hpp"
#include "publish_test_support.hpp"
#include "wire/content_hash.hpp"

using namespace presenceagg;
using namespace std::chrono_literals;
using presenceagg::detail::ManualSleeper;
using presenceagg::detail::ViewPublisher;
using presenceagg::detail::ViewPublisherConfig;
using presenceagg::test::FakeStore;
using presenceagg::test::RecordingSink;

namespace {

struct Fixture {
    std::string name;
    View view;
    std::string ndjson;
    std::string state;
    std::string meta;
};

std::filesystem::path fixture_dir() {
    const char* root = std::getenv("PRESENCEAGG_SOURCE_ROOT");
    return std::filesystem::path(root ? root : ".") / "examples" / "js-consumer" / "test" /
           "fixtures";
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Publishes a deterministic scenario of `view` and records what a consumer would read.
/// With `drop_diff`, the first diff after seq 1 is left out of the stream (a consumer that
/// missed it must see a gap and recover at the next snapshot).
Fixture make_fixture(std::string name,
                     View view,
                     std::size_t max_size,
                     std::uint32_t seed,
                     bool failures,
                     bool restart,
                     bool drop_diff = false) {
    FakeStore store;
    RecordingSink sink;
    test::Workload work(seed, 5, 12, 8);
    PublishConfig config;
    for (View v : kAllViews) config[v].enabled = v == view;
    config.max_message_size = max_size;
    config.snapshot_every = 4;
    config.max_retries = 0;
    std::string ndjson;
    std::size_t fed = 0;
    const auto collect = [&] {
        const auto messages = sink.delivered(config[view].channel);
        for (; fed < messages.size(); ++fed) {
            if (drop_diff && messages[fed].name == "diff") {
                drop_diff = false;
                continue;
            }
            ndjson += RecordingSink::as_history_json(messages[fed]) + "\n";
        }
    };
    auto run = [&](std::uint64_t epoch, int ticks) {
        ViewPublisherConfig c;
        c.publish = config;
        c.epoch = epoch;
        c.sleeper = std::make_unique<ManualSleeper>();
        ViewPublisher publisher(store, sink, std::move(c));
        for (int t = 0; t < ticks; ++t) {
            for (int i = 0; i < 25; ++i) store.apply(work.next());
            if (failures && t % 3 == 1) {
                sink.fail_next(RecordingSink::retryable_failure(), 1, t % 2 == 0);
            }
            publisher.tick(publisher.sleeper().now());
            collect();
        }
    };
    run(0x1111222233334444ULL, 9);
    if (restart) run(0x5555666677778888ULL, 4);

    ViewAssembler assembler;
    std::istringstream lines(ndjson);
    for (std::string line; std::getline(lines, line);) (void)assembler.add(line);
    std::uint64_t hash = 0;
    const auto expected = test::render_view(store, view, &hash);
    REQUIRE(assembler.has_state());
    CHECK(assembler.state_json() == expected);
    CHECK(assembler.hash() == hash);
    std::string meta = "{\"view\":\"" + std::string(to_string(view)) + "\",\"epoch\":\"" +
                       assembler.epoch() + "\",\"seq\":" + std::to_string(assembler.seq()) +
                       ",\"hash\":\"" + detail::hash_hex(assembler.hash()) +
                       "\",\"gaps\":" + std::to_string(assembler.gaps()) + "}\n";
    return {std::move(name), view, std::move(ndjson), assembler.state_json(), std::move(meta)};
}

}  // namespace

TEST_SUITE("js consumer fixtures") {
    TEST_CASE("the recorded fixtures match what the C++ encoder and assembler produce now") {
        const std::vector<Fixture> fixtures{
            make_fixture("by-channel", View::ByChannel, 1024, 101, false, false),
            make_fixture("by-channel-gap", View::ByChannel, 65536, 105, false, false, true),
            make_fixture("by-client-failures-restart", View::ByClient, 2048, 102, true, true),
            make_fixture("by-connection", View::ByConnection, 65536, 103, false, true),
            make_fixture("counts", View::Counts, 512, 104, true, false),
        };
        const auto dir = fixture_dir();
        const bool regenerate = std::getenv("PRESENCEAGG_REGENERATE_FIXTURES") != nullptr;
        for (const auto& f : fixtures) {
            CAPTURE(f.name);
            const auto base = dir / f.name;
            if (regenerate) {
                std::filesystem::create_directories(dir);
                std::ofstream(base.string() + ".ndjson", std::ios::binary) << f.ndjson;
                std::ofstream(base.string() + ".state.json", std::ios::binary) << f.state;
                std::ofstream(base.string() + ".meta.json", std::ios::binary) << f.meta;
                continue;
            }
            INFO(
                "regenerate with PRESENCEAGG_REGENERATE_FIXTURES=1 if the wire format changed on "
                "purpose");
            CHECK(read_file(base.string() + ".ndjson") == f.ndjson);
            CHECK(read_file(base.string() + ".state.json") == f.state);
            CHECK(read_file(base.string() + ".meta.json") == f.meta);
        }
    }
}

// SPDX-License-Identifier: MIT
#include "pipeline/checkpoint.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <presenceagg/demo.hpp>
#include <presenceagg/pipeline.hpp>
#include <presenceagg/presence_store.hpp>
#include <presenceagg/scheduler.hpp>

#include "wire/content_hash.hpp"

namespace fs = std::filesystem;
using namespace presenceagg;

namespace {

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ =
            fs::temp_directory_path() / ("presenceagg-checkpoint-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

PresenceMessage member(std::string channel,
                       std::string client,
                       std::string connection,
                       std::string id,
                       std::int64_t ts,
                       std::string data = "null",
                       std::string encoding = {},
                       std::string extras = {}) {
    PresenceMessage m;
    m.channel = std::move(channel);
    m.client_id = std::move(client);
    m.connection_id = std::move(connection);
    m.id = std::move(id);
    m.timestamp = ts;
    m.action = PresenceAction::Enter;
    m.data = std::move(data);
    m.encoding = std::move(encoding);
    m.extras = std::move(extras);
    return m;
}

// Every view's leaves and hash, as one comparable text.
std::string dump(const PresenceStore& store) {
    std::string out;
    for (View v : kAllViews) {
        out += std::string(to_string(v)) + "\n";
        const auto h =
            store.visit(v, [&](std::span<const std::string_view> path, std::string_view leaf) {
                for (const auto& p : path) out += std::string(p) + "|";
                out += std::string(leaf) + "\n";
            });
        out += "hash " + std::to_string(h) + " " + std::to_string(store.hash(v)) + "\n";
    }
    return out;
}

void fill(PresenceStore& store) {
    store.apply(member("presence:lobby", "alice", "conn1", "conn1:0:0", 1'700'000'000'000,
                       R"({"name":"Alice"})"));
    store.apply(member("presence:lobby", "bob:with:colons", "c:o:n", "c:o:n:5:1", 1'700'000'000'100,
                       R"("text with \"quotes\" and \\ and \n")"));
    store.apply(member("presence:ünïcødé/ch", "클라이언트", "conn\xE2\x9C\x93",
                       "conn\xE2\x9C\x93:1:0", 1'700'000'000'200, R"("日本語 ✓")"));
    store.apply(member("presence:lobby", "carol", "conn3", "conn3:2:0", 1'700'000'000'300,
                       R"("c29tZSBjaXBoZXJ0ZXh0")", "cipher+aes-128-cbc/base64"));
    store.apply(member("presence:x", "dave", "conn4", "conn4:0:0", 1'700'000'000'400,
                       "[1,2.5,true,null,{\"a\":[]}]", {},
                       R"({"headers":{"k":"v"},"ref":{"type":"x"}})"));
    store.apply(member("presence:x", "erin", "conn5", "weird-id-without-serial", 1'700'000'000'500,
                       "12345678901234"));
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

// Replaces the trailer with one whose checksum matches the (edited) content.
std::string reseal(std::string text) {
    const std::size_t end = text.rfind("end ");
    text.resize(end);
    const std::uint64_t sum = detail::Fnv1a64{}.bytes(text).value();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(sum));
    return text + "end " + hex + "\n";
}

// A queue source that delivers nothing until stopped.
class IdleSource final : public QueueSource {
public:
    void run(std::stop_token stop, const DeliveryHandler&) override {
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        cv.wait(lock, stop, [] { return false; });
    }
};

PipelineConfig offline_config(const fs::path& dir) {
    PipelineConfig c;
    c.bootstrap.enabled = false;
    c.repair.enabled = false;
    c.command.channel.clear();
    c.data_dir = dir.string();
    c.publish.interval = std::chrono::milliseconds(50);
    return c;
}

}  // namespace

TEST_SUITE("checkpoint") {
    TEST_CASE("a checkpoint round-trips every member, view and hash") {
        TempDir dir;
        auto store = make_memory_presence_store();
        fill(*store);
        const auto w = detail::write_checkpoint(*store, dir.path(), 1234);
        REQUIRE_MESSAGE(w.ok, w.error);
        CHECK(w.members == 6);
        CHECK(w.bytes == fs::file_size(detail::checkpoint_path(dir.path())));

        auto restored = make_memory_presence_store();
        const auto r = detail::load_checkpoint(dir.path(), *restored);
        REQUIRE_MESSAGE(r.status == detail::CheckpointLoadStatus::Loaded, r.error);
        CHECK(r.members == 6);
        CHECK(r.created_ms == 1234);
        CHECK(r.channels ==
              std::vector<std::string>{"presence:lobby", "presence:x", "presence:ünïcødé/ch"});
        CHECK(dump(*restored) == dump(*store));
        CHECK(restored->counts() == store->counts());
    }

    TEST_CASE("an empty store writes a checkpoint that loads as empty") {
        TempDir dir;
        auto store = make_memory_presence_store();
        REQUIRE(detail::write_checkpoint(*store, dir.path(), 1).ok);
        auto restored = make_memory_presence_store();
        const auto r = detail::load_checkpoint(dir.path(), *restored);
        CHECK(r.status == detail::CheckpointLoadStatus::Loaded);
        CHECK(r.members == 0);
        CHECK(restored->counts().members == 0);
    }

    TEST_CASE("the checkpoint file is private to its owner and replaces the previous one") {
        TempDir dir;
        auto store = make_memory_presence_store();
        fill(*store);
        REQUIRE(detail::write_checkpoint(*store, dir.path(), 1).ok);
        store->apply(member("presence:new", "zed", "c9", "c9:0:0", 1'700'000'001'000));
        REQUIRE(detail::write_checkpoint(*store, dir.path(), 2).ok);
        struct stat st {};
        REQUIRE(::stat(detail::checkpoint_path(dir.path()).c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        std::size_t files = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
        CHECK(files == 1);  // no temp file left behind
        auto restored = make_memory_presence_store();
        const auto r = detail::load_checkpoint(dir.path(), *restored);
        CHECK(r.created_ms == 2);
        CHECK(r.members == 7);
    }

    TEST_CASE("a missing checkpoint is no checkpoint, not an error") {
        TempDir dir;
        auto store = make_memory_presence_store();
        fill(*store);
        const std::string before = dump(*store);
        const auto r = detail::load_checkpoint(dir.path() / "absent", *store);
        CHECK(r.status == detail::CheckpointLoadStatus::Missing);
        CHECK(r.error.empty());
        CHECK(dump(*store) == before);
    }

    TEST_CASE("a damaged checkpoint is refused with a reason and leaves the store untouched") {
        TempDir dir;
        {
            auto source = make_memory_presence_store();
            fill(*source);
            REQUIRE(detail::write_checkpoint(*source, dir.path(), 1).ok);
        }
        const fs::path file = detail::checkpoint_path(dir.path());
        const std::string good = read_all(file);
        std::string bad;
        std::string reason;
        SUBCASE("a flipped byte") {
            bad = good;
            bad[good.size() / 2] = static_cast<char>(bad[good.size() / 2] ^ 0x01);
            reason = "checksum";
        }
        SUBCASE("truncated in a member line") {
            bad = good.substr(0, good.size() / 2);
            reason = "truncated";
        }
        SUBCASE("truncated at a line end") {
            bad = good.substr(0, good.find('\n', good.size() / 2) + 1);
            reason = "";
        }
        SUBCASE("an empty file") {
            bad = "";
            reason = "truncated";
        }
        SUBCASE("a newer version") {
            bad = good;
            bad.replace(bad.find(" 1 "), 3, " 2 ");
            bad = reseal(bad);
            reason = "incompatible version 2";
        }
        SUBCASE("another format") {
            bad = reseal("something-else 1 1 0\nend 0\n");
            reason = "bad header";
        }
        SUBCASE("a member count that does not match") {
            bad = good;
            bad.replace(bad.find(" 6\n"), 3, " 5\n");
            bad = reseal(bad);
            reason = "more members";
        }
        SUBCASE("a member line of the wrong shape") {
            bad = reseal(good.substr(0, good.find('\n') + 1) +
                         "[\"a\",\"b\",\"c\",{\"id\":\"x\"}]\n" + good.substr(good.find('\n') + 1));
            reason = "not a valid member";
        }
        SUBCASE("garbage") {
            bad = "\x00\xff garbage \n\n\n";
            bad[0] = '\0';
            reason = "";
        }
        write_all(file, bad);

        auto store = make_memory_presence_store();
        store->apply(member("presence:keep", "k", "kc", "kc:0:0", 5));
        const std::string before = dump(*store);
        const auto r = detail::load_checkpoint(dir.path(), *store);
        CHECK(r.status == detail::CheckpointLoadStatus::Invalid);
        CHECK(r.error.find(file.string()) != std::string::npos);
        CHECK_MESSAGE(r.error.find(reason) != std::string::npos, r.error);
        CHECK(dump(*store) == before);
    }

    TEST_CASE("a file larger than the bound is refused unread") {
        TempDir dir;
        auto source = make_memory_presence_store();
        fill(*source);
        REQUIRE(detail::write_checkpoint(*source, dir.path(), 1).ok);
        auto store = make_memory_presence_store();
        const auto r = detail::load_checkpoint(dir.path(), *store, 100);
        CHECK(r.status == detail::CheckpointLoadStatus::Invalid);
        CHECK(r.error.find("allowed") != std::string::npos);
        CHECK(store->counts().members == 0);
    }

    TEST_CASE("an interrupted write leaves the previous checkpoint loadable") {
        TempDir dir;
        auto source = make_memory_presence_store();
        fill(*source);
        REQUIRE(detail::write_checkpoint(*source, dir.path(), 1).ok);
        const fs::path temp = dir.path() / "presence.checkpoint.tmp.99999.0";
        write_all(temp, "presenceagg-checkpoint 1 2 6\n[\"half");
        auto store = make_memory_presence_store();
        const auto r = detail::load_checkpoint(dir.path(), *store);
        REQUIRE_MESSAGE(r.status == detail::CheckpointLoadStatus::Loaded, r.error);
        CHECK(dump(*store) == dump(*source));
        CHECK(detail::remove_stale_checkpoint_temps(dir.path()) == 1);
        CHECK_FALSE(fs::exists(temp));
        CHECK(fs::exists(detail::checkpoint_path(dir.path())));
    }

    TEST_CASE("a write into a missing directory fails with a reason") {
        TempDir dir;
        auto store = make_memory_presence_store();
        const auto w = detail::write_checkpoint(*store, dir.path() / "no" / "such", 1);
        CHECK_FALSE(w.ok);
        CHECK(w.error.find("cannot create") != std::string::npos);
    }

    TEST_CASE("a restarted pipeline holds the members it had when it stopped") {
        TempDir dir;
        const fs::path data = dir.path() / "data";
        std::string first_view;
        Counts first_counts;
        {
            SimulationConfig sim;
            sim.events_per_second = 0;
            sim.max_events = 3000;
            sim.start_time_ms = 1'700'000'000'000;
            Pipeline p(offline_config(data), make_memory_presence_store(),
                       make_simulated_queue_source(sim), make_demo_sink(),
                       std::make_unique<ManualScheduler>());
            p.start();
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (p.stats().presence_events < sim.max_events &&
                   std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            p.stop();
            first_view = dump(p.store());
            first_counts = p.store().counts();
            CHECK(p.stats().checkpoint_writes == 1);
            CHECK(p.stats().checkpoint_loads == 0);
        }
        REQUIRE(first_counts.members > 0);
        struct stat st {};
        REQUIRE(::stat(data.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0700);

        Pipeline second(offline_config(data), make_memory_presence_store(),
                        std::make_unique<IdleSource>(), make_demo_sink(),
                        std::make_unique<ManualScheduler>());
        second.start();
        CHECK(second.collecting());
        CHECK(second.store().counts() == first_counts);
        CHECK(dump(second.store()) == first_view);
        const Stats s = second.stats();
        CHECK(s.checkpoint_loads == 1);
        CHECK(s.checkpoint_members_loaded == first_counts.members);
        CHECK(to_prometheus(s).find("presenceagg_checkpoint_loads_total 1") != std::string::npos);
        second.stop();
    }

    TEST_CASE("a collecting pipeline writes a checkpoint every interval") {
        TempDir dir;
        auto config = offline_config(dir.path());
        config.checkpoint_interval = std::chrono::seconds(10);
        auto scheduler = std::make_unique<ManualScheduler>();
        ManualScheduler& clock = *scheduler;
        Pipeline p(config, make_memory_presence_store(), std::make_unique<IdleSource>(),
                   make_demo_sink(), std::move(scheduler));
        p.start();
        clock.advance(std::chrono::seconds(9));
        CHECK(p.stats().checkpoint_writes == 0);
        clock.advance(std::chrono::seconds(1));
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (p.stats().checkpoint_writes < 1 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        CHECK(p.stats().checkpoint_writes == 1);
        CHECK(fs::exists(detail::checkpoint_path(dir.path())));
        p.stop_collecting();
        clock.advance(std::chrono::seconds(30));  // not collecting: no periodic write
        p.stop();
        CHECK(p.stats().checkpoint_writes == 2);  // the one on stop()
    }

    TEST_CASE("a pipeline with a corrupt checkpoint starts empty and counts the failure") {
        TempDir dir;
        write_all(detail::checkpoint_path(dir.path()), "not a checkpoint\n");
        Pipeline p(offline_config(dir.path()), make_memory_presence_store(),
                   std::make_unique<IdleSource>(), make_demo_sink(),
                   std::make_unique<ManualScheduler>());
        p.start();
        CHECK(p.store().counts().members == 0);
        CHECK(p.stats().checkpoint_load_failures == 1);
        CHECK(p.stats().checkpoint_loads == 0);
        p.stop();
        CHECK(p.stats().checkpoint_writes == 1);  // replaced by a valid (empty) one
        auto store = make_memory_presence_store();
        CHECK(detail::load_checkpoint(dir.path(), *store).status ==
              detail::CheckpointLoadStatus::Loaded);
    }

    TEST_CASE("restart timing at scale is reported") {
        // Reports only; speed is never asserted. PRESENCEAGG_CHECKPOINT_MEMBERS=1000000 for 1M.
        std::size_t n = 20'000;
        if (const char* env = std::getenv("PRESENCEAGG_CHECKPOINT_MEMBERS")) n = std::stoul(env);
        TempDir dir;
        auto store = make_memory_presence_store();
        PresenceMessage m;
        m.action = PresenceAction::Enter;
        for (std::size_t i = 0; i < n; ++i) {
            m.channel = "presence:room-" + std::to_string(i % 1000);
            m.client_id = "client-" + std::to_string(i);
            m.connection_id = "conn-" + std::to_string(i / 3);
            m.id = m.connection_id + ":" + std::to_string(i % 7) + ":0";
            m.timestamp = 1'700'000'000'000 + static_cast<std::int64_t>(i);
            m.data = R"({"status":"online","n":)" + std::to_string(i) + "}";
            store->apply(m);
        }
        using Clock = std::chrono::steady_clock;
        const auto t0 = Clock::now();
        const auto w = detail::write_checkpoint(*store, dir.path(), 1);
        const auto t1 = Clock::now();
        REQUIRE_MESSAGE(w.ok, w.error);
        auto restored = make_memory_presence_store();
        const auto r = detail::load_checkpoint(dir.path(), *restored);
        const auto t2 = Clock::now();
        REQUIRE(r.status == detail::CheckpointLoadStatus::Loaded);
        CHECK(r.members == n);
        CHECK(restored->hash(View::ByChannel) == store->hash(View::ByChannel));
        const auto secs = [](Clock::duration d) {
            return std::chrono::duration<double>(d).count();
        };
        MESSAGE("checkpoint of " << n << " members, " << w.bytes << " bytes: write "
                                 << secs(t1 - t0) << " s, load " << secs(t2 - t1) << " s");
    }
}

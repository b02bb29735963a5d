// SPDX-License-Identifier: MIT
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <doctest/doctest.h>

#include <presenceagg/demo.hpp>
#include <presenceagg/pipeline.hpp>
#include <presenceagg/presence_store.hpp>
#include <presenceagg/scheduler.hpp>

#include "pipeline/checkpoint.hpp"
#include "unit/rest/fake_ably.hpp"

namespace fs = std::filesystem;
using namespace presenceagg;

namespace {

class ScratchDir {
public:
    ScratchDir()
        : path_(fs::temp_directory_path() / ("presenceagg-reconcile-" + std::to_string(::getpid()) +
                                             "-" + std::to_string(next_++))) {
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    static inline int next_ = 0;
    fs::path path_;
};

class NoDeliveries final : public QueueSource {
public:
    void run(std::stop_token stop, const DeliveryHandler&) override {
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        cv.wait(lock, stop, [] { return false; });
    }
};

PresenceMessage present(std::string channel, std::string client, std::string conn) {
    PresenceMessage m;
    m.channel = std::move(channel);
    m.client_id = std::move(client);
    m.connection_id = std::move(conn);
    m.id = m.connection_id + ":0:0";
    m.timestamp = 1'700'000'000'000;
    m.data = R"({"n":1})";
    return m;
}

struct LogLines {
    std::mutex mutex;
    std::vector<std::string> lines;
    Logger logger() {
        return Logger(
            [this](const LogRecord& r) {
                const std::lock_guard lock(mutex);
                lines.emplace_back(r.message);
            },
            LogLevel::Info);
    }
    bool contains(std::string_view text) {
        const std::lock_guard lock(mutex);
        return std::any_of(lines.begin(), lines.end(),
                           [&](const std::string& l) { return l.find(text) != std::string::npos; });
    }
};

// Writes a checkpoint holding alice and bob in presence:a and carol in presence:gone.
void seed_checkpoint(const fs::path& dir) {
    auto store = make_memory_presence_store();
    store->apply(present("presence:a", "alice", "c1"));
    store->apply(present("presence:a", "bob", "c2"));
    store->apply(present("presence:gone", "carol", "c3"));
    REQUIRE(detail::write_checkpoint(*store, dir, 1).ok);
}

}  // namespace

TEST_SUITE("checkpoint reconciliation") {
    TEST_CASE(
        "channels restored from a checkpoint are re-fetched and members who left are removed") {
        ScratchDir dir;
        seed_checkpoint(dir.path());
        test::FakeAbly ably;
        ably.pages = {{"presence:a"}};
        ably.members["presence:a"] = {test::member_json("alice", "c1")};
        LogLines log;

        PipelineConfig c;
        c.ably = ably.endpoint();
        c.bootstrap.requests_per_second = 1000;
        c.repair.verify_interval = std::chrono::milliseconds(0);
        c.command.channel.clear();
        c.data_dir = dir.path().string();
        c.log = log.logger();
        Pipeline p(c, make_memory_presence_store(), std::make_unique<NoDeliveries>(),
                   make_demo_sink(), std::make_unique<ManualScheduler>());
        p.start();
        CHECK(p.stats().checkpoint_members_loaded == 3);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!log.contains("reconciled the checkpoint") &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        REQUIRE(log.contains("reconciled the checkpoint"));
        CHECK(p.store().counts().members == 1);
        CHECK(p.store().channel_members("presence:a") == 1);
        CHECK(p.store().channel_members("presence:gone") == 0);
        CHECK_FALSE(test::is_suspect(p.store(), "presence:a"));
        const auto fetched = ably.single_fetches();
        CHECK(std::count(fetched.begin(), fetched.end(), "presence:a") >= 1);
        CHECK(std::count(fetched.begin(), fetched.end(), "presence:gone") >= 1);
        p.stop();
    }

    TEST_CASE("without drift repair the restored checkpoint is trusted and says so") {
        ScratchDir dir;
        seed_checkpoint(dir.path());
        LogLines log;
        PipelineConfig c;
        c.bootstrap.enabled = false;
        c.repair.enabled = false;
        c.command.channel.clear();
        c.data_dir = dir.path().string();
        c.log = log.logger();
        Pipeline p(c, make_memory_presence_store(), std::make_unique<NoDeliveries>(),
                   make_demo_sink(), std::make_unique<ManualScheduler>());
        p.start();
        CHECK(log.contains("trusted unverified"));
        CHECK(p.store().counts().members == 3);
        CHECK_FALSE(test::is_suspect(p.store(), "presence:a"));
        p.stop();
    }

    TEST_CASE("a restart by command starts clean even after a restored checkpoint") {
        ScratchDir dir;
        seed_checkpoint(dir.path());
        PipelineConfig c;
        c.bootstrap.enabled = false;
        c.repair.enabled = false;
        c.command.channel.clear();
        c.data_dir = dir.path().string();
        Pipeline p(c, make_memory_presence_store(), std::make_unique<NoDeliveries>(),
                   make_demo_sink(), std::make_unique<ManualScheduler>());
        p.start();
        CHECK(p.store().counts().members == 3);
        p.start_collecting();
        CHECK(p.store().counts().members == 0);
        p.stop();
    }
}

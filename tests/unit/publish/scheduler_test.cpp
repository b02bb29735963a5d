// SPDX-License-Identifier: MIT
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>
#include <presenceagg/scheduler.hpp>

using namespace presenceagg;
using namespace std::chrono_literals;

namespace {

/// Collects task runs from any thread; waits with a generous deadline, never sleeps blindly.
class Journal {
public:
    void note(std::string what) {
        {
            std::lock_guard lock(mutex_);
            entries_.push_back(std::move(what));
        }
        cv_.notify_all();
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return entries_.size() >= n; });
    }
    std::vector<std::string> entries() {
        std::lock_guard lock(mutex_);
        return entries_;
    }
    std::size_t count(const std::string& what) {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(std::count(entries_.begin(), entries_.end(), what));
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::string> entries_;
};

}  // namespace

TEST_SUITE("ManualScheduler") {
    TEST_CASE("tasks run in deadline order, each first after one period") {
        ManualScheduler s;
        std::vector<std::string> runs;
        s.every("slow", 300ms, [&] { runs.push_back("slow"); });
        s.every("fast", 100ms, [&] { runs.push_back("fast"); });
        s.start();
        CHECK(s.advance(99ms) == 0);
        CHECK(s.advance(1ms) == 1);
        CHECK(s.advance(200ms) == 3);  // fast at 200; at 300 slow (scheduled earlier) before fast
        CHECK(runs == std::vector<std::string>{"fast", "fast", "slow", "fast"});
    }

    TEST_CASE("time inside a task is the task's deadline") {
        ManualScheduler s;
        const auto start = s.now();
        std::vector<std::chrono::milliseconds> seen;
        s.every("t", 250ms, [&] {
            seen.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(s.now() - start));
        });
        s.start();
        s.advance(1s);
        CHECK(seen == std::vector<std::chrono::milliseconds>{250ms, 500ms, 750ms, 1000ms});
        CHECK(s.now() - start == 1s);
    }

    TEST_CASE("posted tasks run without moving time, including tasks posted by tasks") {
        ManualScheduler s;
        std::vector<int> runs;
        s.post([&] { runs.push_back(1); });
        s.start();
        s.post([&] {
            runs.push_back(2);
            s.post([&] { runs.push_back(3); });
        });
        const auto before = s.now();
        CHECK(s.run_pending() == 3);
        CHECK(s.now() == before);
        CHECK(runs == std::vector<int>{1, 2, 3});
    }

    TEST_CASE("a throwing task keeps its schedule") {
        ManualScheduler s;
        int runs = 0;
        s.every("boom", 100ms, [&] {
            ++runs;
            throw std::runtime_error("boom");
        });
        s.start();
        CHECK(s.advance(500ms) == 5);
        CHECK(runs == 5);
    }

    TEST_CASE("nothing runs before start or after stop") {
        ManualScheduler s;
        int runs = 0;
        s.every("t", 100ms, [&] { ++runs; });
        s.advance(1s);
        CHECK(runs == 0);
        s.start();
        s.advance(100ms);
        CHECK(runs == 1);
        s.stop();
        s.stop();  // idempotent
        s.advance(1s);
        CHECK(runs == 1);
    }

    TEST_CASE("a zero period is a configuration error") {
        ManualScheduler s;
        CHECK_THROWS_AS(s.every("t", 0ms, [] {}), Error);
    }
}

TEST_SUITE("ThreadScheduler") {
    TEST_CASE("runs posted tasks in order and periodic tasks repeatedly on its own thread") {
        auto s = make_thread_scheduler();
        Journal journal;
        std::atomic<std::thread::id> worker{};
        s->every("tick", 5ms, [&] {
            worker = std::this_thread::get_id();
            journal.note("tick");
        });
        s->post([&] { journal.note("a"); });
        s->post([&] { journal.note("b"); });
        s->start();
        REQUIRE(journal.wait_for(5));
        s->stop();
        const auto entries = journal.entries();
        CHECK(entries[0] == "a");
        CHECK(entries[1] == "b");
        CHECK(journal.count("tick") >= 3);
        CHECK(worker.load() != std::this_thread::get_id());
    }

    TEST_CASE("stop joins: it returns only after the running task finished, and drops the rest") {
        auto s = make_thread_scheduler();
        std::mutex m;
        std::condition_variable cv;
        bool entered = false;
        std::atomic<bool> finished{false};
        std::atomic<int> later{0};
        s->post([&] {
            {
                std::lock_guard lock(m);
                entered = true;
            }
            cv.notify_all();
            // Long enough that a non-joining stop would return first.
            std::this_thread::sleep_for(50ms);
            finished = true;
        });
        s->every("later", 1h, [&] { ++later; });
        s->start();
        {
            std::unique_lock lock(m);
            REQUIRE(cv.wait_for(lock, 10s, [&] { return entered; }));
        }
        s->stop();
        CHECK(finished.load());
        s->stop();  // idempotent
        s->post([&] { ++later; });
        CHECK(later.load() == 0);
    }

    TEST_CASE("a throwing task is logged and keeps its schedule") {
        Journal journal;
        Journal logs;
        auto s = make_thread_scheduler(Logger(
            [&](const LogRecord& r) { logs.note(std::string(r.message)); }, LogLevel::Debug));
        s->every("boom", 2ms, [&] {
            journal.note("run");
            throw std::runtime_error("boom");
        });
        s->start();
        CHECK(journal.wait_for(3));
        CHECK(logs.wait_for(3));
        s->stop();
        CHECK(logs.entries()[0] == "task threw");
    }

    TEST_CASE("a task may stop its own scheduler") {
        auto s = make_thread_scheduler();
        Journal journal;
        s->post([&] {
            s->stop();
            journal.note("stopped");
        });
        s->start();
        CHECK(journal.wait_for(1));
        s->stop();
    }

    TEST_CASE("destroying a running scheduler stops it") {
        Journal journal;
        {
            auto s = make_thread_scheduler();
            s->every("t", 1ms, [&] { journal.note("t"); });
            s->start();
            REQUIRE(journal.wait_for(2));
        }
        const auto n = journal.entries().size();
        CHECK(journal.entries().size() == n);
    }
}

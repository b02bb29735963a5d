// SPDX-License-Identifier: MIT
#pragma once

/// `Scheduler`: runs the periodic work (publish ticks, keepalives, drift checks) on one timeline.
/// The default runs a thread; `ManualScheduler` lets tests step time.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <presenceagg/export.hpp>
#include <presenceagg/logging.hpp>

namespace presenceagg {

/// Thread-safe. Tasks run one at a time, on the scheduler's own timeline, in deadline order.
class PRESENCEAGG_API Scheduler {
public:
    using Clock = std::chrono::steady_clock;
    using Task = std::function<void()>;

    virtual ~Scheduler() = default;

    /// Adds a task run every `period`, first after one period. May be called before or after
    /// start(). A task that throws is logged and keeps its schedule.
    virtual void every(std::string name, std::chrono::milliseconds period, Task task) = 0;
    /// Runs `task` once, as soon as possible, on the scheduler's timeline.
    virtual void post(Task task) = 0;
    virtual void start() = 0;
    /// Idempotent, noexcept; returns after any running task finished. Pending tasks are dropped.
    virtual void stop() noexcept = 0;
    /// The scheduler's notion of now (manual time under ManualScheduler).
    [[nodiscard]] virtual Clock::time_point now() const = 0;
};

/// Runs tasks on one owned thread.
[[nodiscard]] PRESENCEAGG_API std::unique_ptr<Scheduler> make_thread_scheduler(Logger log = {});

/// Time moves only when the test says so; tasks run on the caller's thread inside advance().
class PRESENCEAGG_API ManualScheduler final : public Scheduler {
public:
    ManualScheduler();
    ~ManualScheduler() override;

    void every(std::string name, std::chrono::milliseconds period, Task task) override;
    void post(Task task) override;
    void start() override;
    void stop() noexcept override;
    [[nodiscard]] Clock::time_point now() const override;

    /// Moves time forward by `by`, running every task that falls due, in order. Returns how
    /// many task runs happened.
    std::size_t advance(std::chrono::milliseconds by);
    /// Runs posted tasks without moving time.
    std::size_t run_pending();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace presenceagg

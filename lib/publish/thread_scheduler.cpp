// SPDX-License-Identifier: MIT
// ThreadScheduler (make_thread_scheduler) and ManualScheduler.
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include <presenceagg/error.hpp>
#include <presenceagg/scheduler.hpp>

#include "publish/task_queue.hpp"

namespace presenceagg {

namespace {

using detail::TaskQueue;

void check_period(const std::string& name, std::chrono::milliseconds period) {
    if (period.count() <= 0) {
        throw Error(Errc::InvalidConfig, "scheduler task '" + name + "' needs a period > 0");
    }
}

/// Runs tasks on one owned thread, sleeping on a condition variable until the next deadline or
/// until the timeline changes.
class ThreadScheduler final : public Scheduler {
public:
    explicit ThreadScheduler(Logger log)
        : log_(std::move(log)) {}
    ~ThreadScheduler() override { stop(); }
    ThreadScheduler(const ThreadScheduler&) = delete;
    ThreadScheduler& operator=(const ThreadScheduler&) = delete;

    void every(std::string name, std::chrono::milliseconds period, Task task) override {
        check_period(name, period);
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        TaskQueue::Entry entry{std::move(name), period, std::move(task)};
        if (started_) {
            queue_.add(Clock::now() + period, std::move(entry));
            wake();
        } else {
            before_start_.push_back(std::move(entry));
        }
    }

    void post(Task task) override {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        TaskQueue::Entry entry{"posted", std::chrono::milliseconds(0), std::move(task)};
        if (started_) {
            queue_.add(Clock::now(), std::move(entry));
            wake();
        } else {
            before_start_.push_back(std::move(entry));
        }
    }

    void start() override {
        std::lock_guard lock(mutex_);
        if (started_ || stopped_) return;
        started_ = true;
        const auto now = Clock::now();
        for (auto& entry : before_start_) {
            const auto deadline = now + entry.period;
            queue_.add(deadline, std::move(entry));
        }
        before_start_.clear();
        thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
    }

    void stop() noexcept override {
        std::lock_guard stop_lock(stop_mutex_);
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        thread_.request_stop();
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
            try {
                thread_.join();
            } catch (...) {
                // join() only throws for a thread that cannot be joined; nothing left to wait for.
            }
        }
        std::lock_guard lock(mutex_);
        queue_.clear();
        before_start_.clear();
    }

    [[nodiscard]] Clock::time_point now() const override { return Clock::now(); }

private:
    void wake() {
        changed_ = true;
        cv_.notify_all();
    }

    void run(const std::stop_token& stop) {
        std::unique_lock lock(mutex_);
        while (!stop.stop_requested()) {
            if (auto due = queue_.pop_due(Clock::now())) {
                lock.unlock();
                detail::run_task(log_, due->second);
                lock.lock();
                if (due->second.period.count() > 0 && !stop.stop_requested()) {
                    queue_.reschedule(due->first, Clock::now(), std::move(due->second));
                }
                continue;
            }
            changed_ = false;
            const auto pred = [this] { return changed_; };
            if (const auto next = queue_.next_deadline()) {
                cv_.wait_until(lock, stop, *next, pred);
            } else {
                cv_.wait(lock, stop, pred);
            }
        }
    }

    Logger log_;
    std::mutex stop_mutex_;  // serializes stop() callers around join
    std::mutex mutex_;
    std::condition_variable_any cv_;
    TaskQueue queue_;
    std::vector<TaskQueue::Entry> before_start_;
    bool changed_ = false;
    bool started_ = false;
    bool stopped_ = false;
    std::jthread thread_;  // last: joined first on destruction
};

}  // namespace

std::unique_ptr<Scheduler> make_thread_scheduler(Logger log) {
    return std::make_unique<ThreadScheduler>(std::move(log));
}

// ---------------------------------------------------------------------------------------------

struct ManualScheduler::Impl {
    std::mutex mutex;
    TaskQueue queue;
    std::vector<TaskQueue::Entry> before_start;
    Clock::time_point now = Clock::time_point{} + std::chrono::hours(1);
    bool started = false;
    bool stopped = false;
    Logger log;

    // Runs every task due at or before `until`, in order, moving time to each deadline.
    std::size_t run_until(Clock::time_point until) {
        std::size_t runs = 0;
        std::unique_lock lock(mutex);
        while (started && !stopped) {
            auto due = queue.pop_due(until);
            if (!due) break;
            now = std::max(now, due->first);
            lock.unlock();
            detail::run_task(log, due->second);
            ++runs;
            lock.lock();
            if (due->second.period.count() > 0 && !stopped) {
                queue.reschedule(due->first, now, std::move(due->second));
            }
        }
        return runs;
    }
};

ManualScheduler::ManualScheduler()
    : impl_(std::make_unique<Impl>()) {}

ManualScheduler::~ManualScheduler() = default;

void ManualScheduler::every(std::string name, std::chrono::milliseconds period, Task task) {
    check_period(name, period);
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    TaskQueue::Entry entry{std::move(name), period, std::move(task)};
    if (impl_->started) {
        impl_->queue.add(impl_->now + period, std::move(entry));
    } else {
        impl_->before_start.push_back(std::move(entry));
    }
}

void ManualScheduler::post(Task task) {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    TaskQueue::Entry entry{"posted", std::chrono::milliseconds(0), std::move(task)};
    if (impl_->started) {
        impl_->queue.add(impl_->now, std::move(entry));
    } else {
        impl_->before_start.push_back(std::move(entry));
    }
}

void ManualScheduler::start() {
    std::lock_guard lock(impl_->mutex);
    if (impl_->started || impl_->stopped) return;
    impl_->started = true;
    for (auto& entry : impl_->before_start) {
        const auto deadline = impl_->now + entry.period;
        impl_->queue.add(deadline, std::move(entry));
    }
    impl_->before_start.clear();
}

void ManualScheduler::stop() noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->stopped = true;
    impl_->queue.clear();
    impl_->before_start.clear();
}

Scheduler::Clock::time_point ManualScheduler::now() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->now;
}

std::size_t ManualScheduler::advance(std::chrono::milliseconds by) {
    Clock::time_point until;
    {
        std::lock_guard lock(impl_->mutex);
        until = impl_->now + by;
    }
    const std::size_t runs = impl_->run_until(until);
    std::lock_guard lock(impl_->mutex);
    impl_->now = std::max(impl_->now, until);
    return runs;
}

std::size_t ManualScheduler::run_pending() {
    Clock::time_point until;
    {
        std::lock_guard lock(impl_->mutex);
        until = impl_->now;
    }
    return impl_->run_until(until);
}

}  // namespace presenceagg

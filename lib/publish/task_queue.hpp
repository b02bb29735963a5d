// SPDX-License-Identifier: MIT
#pragma once

// The timeline shared by ThreadScheduler and ManualScheduler: tasks ordered by deadline, then by
// the order they were scheduled. Not thread-safe; the schedulers lock around it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <presenceagg/logging.hpp>
#include <presenceagg/scheduler.hpp>

namespace presenceagg::detail {

class TaskQueue {
public:
    using Clock = Scheduler::Clock;

    struct Entry {
        std::string name;
        std::chrono::milliseconds period{0};  // 0: run once
        Scheduler::Task task;
    };

    void add(Clock::time_point deadline, Entry entry) {
        queue_.emplace(Key{deadline, next_order_++}, std::move(entry));
    }

    [[nodiscard]] std::optional<Clock::time_point> next_deadline() const {
        if (queue_.empty()) return std::nullopt;
        return queue_.begin()->first.deadline;
    }

    /// Removes and returns the first task due at `now`, with its deadline.
    std::optional<std::pair<Clock::time_point, Entry>> pop_due(Clock::time_point now) {
        if (queue_.empty() || queue_.begin()->first.deadline > now) return std::nullopt;
        const auto it = queue_.begin();
        std::pair<Clock::time_point, Entry> due{it->first.deadline, std::move(it->second)};
        queue_.erase(it);
        return due;
    }

    /// Puts a periodic task back one period after its previous deadline, skipping periods that
    /// already passed so that a slow task does not cause a burst of catch-up runs.
    void reschedule(Clock::time_point deadline, Clock::time_point now, Entry entry) {
        auto next = deadline + entry.period;
        if (next <= now) {
            const auto behind = (now - deadline) / entry.period;
            next = deadline + entry.period * (behind + 1);
        }
        add(next, std::move(entry));
    }

    void clear() { queue_.clear(); }
    [[nodiscard]] bool empty() const noexcept { return queue_.empty(); }

private:
    struct Key {
        Clock::time_point deadline;
        std::uint64_t order;
        friend bool operator<(const Key& a, const Key& b) {
            return a.deadline != b.deadline ? a.deadline < b.deadline : a.order < b.order;
        }
    };
    std::multimap<Key, Entry> queue_;
    std::uint64_t next_order_ = 0;
};

/// Runs one task, logging (never propagating) what it throws.
inline void run_task(const Logger& log, const TaskQueue::Entry& entry) noexcept {
    try {
        entry.task();
    } catch (const std::exception& e) {
        log.log(LogLevel::Error, "scheduler", "task threw",
                {{"task", entry.name}, {"error", e.what()}});
    } catch (...) {
        log.log(LogLevel::Error, "scheduler", "task threw", {{"task", entry.name}});
    }
}

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#include "publish/sleeper.hpp"

#include <algorithm>

namespace presenceagg::detail {

namespace {

class SteadySleeper final : public Sleeper {
public:
    [[nodiscard]] Clock::time_point now() const override { return Clock::now(); }

    bool sleep_until(Clock::time_point deadline) override {
        std::unique_lock lock(mutex_);
        cv_.wait_until(lock, deadline, [&] { return cancelled_; });
        return !cancelled_;
    }

    void cancel() noexcept override {
        {
            std::lock_guard lock(mutex_);
            cancelled_ = true;
        }
        cv_.notify_all();
    }

    void reset() noexcept override {
        std::lock_guard lock(mutex_);
        cancelled_ = false;
    }

    [[nodiscard]] bool cancelled() const noexcept override {
        std::lock_guard lock(mutex_);
        return cancelled_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool cancelled_ = false;
};

}  // namespace

std::unique_ptr<Sleeper> make_steady_sleeper() {
    return std::make_unique<SteadySleeper>();
}

ManualSleeper::ManualSleeper(Clock::time_point start)
    : now_(start) {}

Sleeper::Clock::time_point ManualSleeper::now() const {
    std::lock_guard lock(mutex_);
    return now_;
}

bool ManualSleeper::sleep_until(Clock::time_point deadline) {
    std::lock_guard lock(mutex_);
    if (cancelled_) return false;
    sleeps_.emplace_back(now_, deadline);
    now_ = std::max(now_, deadline);
    return true;
}

void ManualSleeper::cancel() noexcept {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
}

void ManualSleeper::reset() noexcept {
    std::lock_guard lock(mutex_);
    cancelled_ = false;
}

bool ManualSleeper::cancelled() const noexcept {
    std::lock_guard lock(mutex_);
    return cancelled_;
}

void ManualSleeper::advance(std::chrono::milliseconds by) {
    std::lock_guard lock(mutex_);
    now_ += by;
}

std::vector<std::pair<Sleeper::Clock::time_point, Sleeper::Clock::time_point>>
ManualSleeper::sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
}

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#include "signals.hpp"

#include <cerrno>
#include <ctime>

#include <signal.h>

namespace presenceagg::cli {
namespace {

sigset_t termination_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

void block_termination_signals() {
    const sigset_t set = termination_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

int wait_for_termination_signal(std::chrono::milliseconds timeout) {
    const sigset_t set = termination_set();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    const timespec ts{static_cast<time_t>(secs.count()),
                      static_cast<long>(std::chrono::nanoseconds(timeout - secs).count())};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    return sig > 0 ? sig : 0;
}

}  // namespace presenceagg::cli

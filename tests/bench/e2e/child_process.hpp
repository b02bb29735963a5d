// SPDX-License-Identifier: MIT
#pragma once

/// A child program run by the end-to-end benchmark, with its output in a log file and its CPU
/// time and peak RSS measurable while it runs (/proc) and after it ends (wait4). Not
/// thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace presenceagg::bench {

/// CPU time (user + system) and peak resident set size of a process.
struct ProcessUsage {
    double cpu_seconds = 0;
    double peak_rss_mb = 0;
    int exit_status = -1;  ///< waitpid status; -1 while running
};

class ChildProcess {
public:
    using Env = std::vector<std::pair<std::string, std::string>>;

    /// Starts `argv` with the current environment plus `env` (overriding), stdout and stderr
    /// appended to `log_path`. Throws std::runtime_error when it cannot be started.
    ChildProcess(const std::vector<std::string>& argv, const Env& env, const std::string& log_path);
    /// Stops the child (SIGTERM, SIGKILL after 10 s) if still running.
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// Usage so far from /proc/<pid>/stat and VmHWM in /proc/<pid>/status (running child only).
    [[nodiscard]] ProcessUsage sample() const;
    /// Waits up to `timeout` for the child to exit; its CPU time from wait4 when it did, and the
    /// highest VmHWM seen while waiting (sampled every 10 ms).
    [[nodiscard]] std::optional<ProcessUsage> wait(std::chrono::milliseconds timeout);
    /// SIGTERM, then SIGKILL after `grace`; returns the usage from wait4.
    ProcessUsage stop(std::chrono::milliseconds grace = std::chrono::seconds(10)) noexcept;
    [[nodiscard]] bool exited() const noexcept { return pid_ < 0; }

private:
    pid_t pid_ = -1;
    double peak_rss_mb_ = 0;
};

}  // namespace presenceagg::bench

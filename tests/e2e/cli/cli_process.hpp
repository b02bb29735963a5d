// SPDX-License-Identifier: MIT
#pragma once

/// End-to-end test support: runs the real `presence-agg` binary as a child process with a
/// controlled environment, captures its output in files, and offers bounded waits.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace presenceagg::e2e {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
/// Not thread-safe.
class TempDir {
public:
    explicit TempDir(std::string_view prefix = "presenceagg-e2e");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

/// $PRESENCEAGG_CLI (set by meson for the e2e suite), else
/// $PRESENCEAGG_BUILD_ROOT/cli/presence-agg. Throws std::runtime_error when neither is set.
[[nodiscard]] std::string cli_binary();

/// The path of a file under tests/e2e/cli/data ($PRESENCEAGG_SOURCE_ROOT, else the working
/// directory's relative path).
[[nodiscard]] std::filesystem::path data_file(std::string_view name);

/// Reads a whole file; empty when it cannot be read.
[[nodiscard]] std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::string_view text);

/// Owns one `presence-agg` process. The child starts from an empty environment plus PATH, the
/// sanitizer option variables when set, and `env`; its stdout and stderr go to files in a
/// private temporary directory; stdin is /dev/null unless `stdin_file` is given. It gets
/// SIGKILL if the test process dies (PR_SET_PDEATHSIG). The destructor terminates it (SIGTERM,
/// bounded wait, SIGKILL) and reaps it, so no process or zombie is left behind.
/// Thread-compatible: use it from the thread that created it.
class CliProcess {
public:
    struct Options {
        std::vector<std::string> args{"run"};
        std::map<std::string, std::string> env;
        std::string binary;  ///< empty: cli_binary()
        std::optional<std::filesystem::path> stdin_file;
    };

    /// Throws std::runtime_error when the process cannot be started.
    explicit CliProcess(Options options);
    /// `presence-agg run` (or `args`) with this environment.
    explicit CliProcess(std::map<std::string, std::string> env,
                        std::vector<std::string> args = {"run"});
    ~CliProcess();
    CliProcess(const CliProcess&) = delete;
    CliProcess& operator=(const CliProcess&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// True while the process has not exited (reaps it when it has).
    [[nodiscard]] bool running();
    /// Waits at most `timeout` for the process to exit; true when it did.
    bool wait_exit(std::chrono::milliseconds timeout);
    /// Sends `signal` (no-op after exit).
    void send_signal(int signal) noexcept;
    /// SIGTERM, then at most `grace` for an exit, then SIGKILL. Returns the exit code as
    /// exit_code() reports it. Idempotent.
    int terminate(std::chrono::milliseconds grace = std::chrono::seconds(20)) noexcept;
    /// The exit status once exited: 0..255 for a normal exit, 128 + N for signal N, -1 before.
    [[nodiscard]] int exit_code() const noexcept;
    /// True when the last terminate() needed SIGKILL.
    [[nodiscard]] bool was_killed() const noexcept { return killed_; }

    [[nodiscard]] std::string stdout_text() const;
    [[nodiscard]] std::string stderr_text() const;
    /// Stderr lines that parse as JSON log records, as text (LOG_FORMAT=json).
    [[nodiscard]] std::vector<std::string> log_lines() const;
    /// True when some stderr log line has "msg" equal to `message` (and, when given, a
    /// "component" equal to `component`).
    [[nodiscard]] bool logged(std::string_view message, std::string_view component = {}) const;
    /// How many stderr log lines have this "msg".
    [[nodiscard]] std::size_t count_logged(std::string_view message) const;
    /// The last lines of stderr, for failure messages.
    [[nodiscard]] std::string stderr_tail(std::size_t lines = 30) const;

    [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_.path(); }

private:
    bool reap(bool block) noexcept;

    TempDir dir_;
    pid_t pid_ = -1;
    int status_ = -1;
    bool killed_ = false;
};

/// The outcome of a command run to completion.
struct CliRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs `presence-agg args...` to completion (killed after `timeout`).
[[nodiscard]] CliRun run_cli(std::vector<std::string> args,
                             std::map<std::string, std::string> env = {},
                             std::optional<std::filesystem::path> stdin_file = std::nullopt,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Polls `condition` (every 50 ms) until it holds or `timeout` passes; returns its last value.
/// For real I/O only; never a substitute for a condition.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(60),
                std::chrono::milliseconds period = std::chrono::milliseconds(50));

}  // namespace presenceagg::e2e

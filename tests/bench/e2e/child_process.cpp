// SPDX-License-Identifier: MIT
#include "child_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace presenceagg::bench {
namespace {

ProcessUsage from_rusage(const rusage& ru, int status) {
    ProcessUsage u;
    u.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    u.peak_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;  // kilobytes on Linux
    u.exit_status = status;
    return u;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const Env& env,
                           const std::string& log_path) {
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string kv = *e;
        const auto eq = kv.find('=');
        if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : env) merged[k] = v;
    std::vector<std::string> env_text;
    env_text.reserve(merged.size());
    for (const auto& [k, v] : merged) env_text.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_text) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& s : args) argp.push_back(s.data());
    argp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const int rc = posix_spawn(&pid_, argp[0], &actions, nullptr, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + argv.front() + ": " + std::strerror(rc));
    }
}

ChildProcess::~ChildProcess() {
    stop();
}

ProcessUsage ChildProcess::sample() const {
    ProcessUsage u;
    if (pid_ < 0) return u;
    const std::string dir = "/proc/" + std::to_string(pid_);
    std::ifstream stat(dir + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close != std::string::npos) {
        std::istringstream fields(line.substr(close + 2));
        std::string field;
        unsigned long long utime = 0;
        unsigned long long stime = 0;
        // After "(comm) ": state is field 3; utime and stime are fields 14 and 15.
        for (int i = 3; i <= 15 && fields >> field; ++i) {
            if (i == 14) utime = std::stoull(field);
            if (i == 15) stime = std::stoull(field);
        }
        u.cpu_seconds =
            static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    std::ifstream status(dir + "/status");
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) u.peak_rss_mb = std::stod(line.substr(6)) / 1024.0;
    }
    return u;
}

std::optional<ProcessUsage> ChildProcess::wait(std::chrono::milliseconds timeout) {
    if (pid_ < 0) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // posix_spawn shares the parent's memory until exec, so wait4's ru_maxrss can report the
        // parent's peak: track VmHWM from /proc while the child runs instead.
        peak_rss_mb_ = std::max(peak_rss_mb_, sample().peak_rss_mb);
        int status = 0;
        rusage ru{};
        const pid_t r = ::wait4(pid_, &status, WNOHANG, &ru);
        if (r == pid_ || (r < 0 && errno != EINTR)) {
            pid_ = -1;
            ProcessUsage u = from_rusage(ru, r == -1 ? -1 : status);
            u.peak_rss_mb = peak_rss_mb_;
            return u;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

ProcessUsage ChildProcess::stop(std::chrono::milliseconds grace) noexcept {
    if (pid_ < 0) return {};
    try {
        ::kill(pid_, SIGTERM);
        if (auto u = wait(grace)) return *u;
        ::kill(pid_, SIGKILL);
        if (auto u = wait(std::chrono::seconds(5))) return *u;
    } catch (...) {
    }
    return {};
}

}  // namespace presenceagg::bench

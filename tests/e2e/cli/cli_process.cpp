// SPDX-License-Identifier: MIT
#include "cli_process.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/document.h>

namespace presenceagg::e2e {
namespace {

// Variables passed through from the test's environment besides those a test sets: the
// sanitizers of an instrumented build read their options from these.
constexpr const char* kPassThrough[] = {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                        "TSAN_OPTIONS"};

std::string getenv_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

// The "msg" and "component" of one JSON log line; nullopt when it is not one.
struct LogFields {
    std::string msg;
    std::string component;
};

std::optional<LogFields> parse_log_line(const std::string& line) {
    if (line.empty() || line.front() != '{') return std::nullopt;
    rapidjson::Document doc;
    doc.Parse(line.c_str(), line.size());
    if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
    LogFields f;
    // HasMember and operator[]: comparing RapidJSON 1.1 member iterators is ambiguous in C++20.
    if (doc.HasMember("msg") && doc["msg"].IsString()) {
        f.msg.assign(doc["msg"].GetString(), doc["msg"].GetStringLength());
    } else {
        return std::nullopt;
    }
    if (doc.HasMember("component") && doc["component"].IsString()) {
        f.component.assign(doc["component"].GetString(), doc["component"].GetStringLength());
    }
    return f;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
    return lines;
}

}  // namespace

TempDir::TempDir(std::string_view prefix) {
    const std::filesystem::path base = getenv_or("TMPDIR", "/tmp");
    std::string templ = (base / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) {
        throw std::runtime_error("TempDir: mkdtemp failed in " + base.string() + ": " +
                                 std::strerror(errno));
    }
    path_ = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string cli_binary() {
    if (const char* v = std::getenv("PRESENCEAGG_CLI"); v != nullptr && *v != '\0') return v;
    if (const char* root = std::getenv("PRESENCEAGG_BUILD_ROOT");
        root != nullptr && *root != '\0') {
        return std::string(root) + "/cli/presence-agg";
    }
    throw std::runtime_error("set PRESENCEAGG_CLI to the presence-agg binary (meson test does)");
}

std::filesystem::path data_file(std::string_view name) {
    const std::filesystem::path root = getenv_or("PRESENCEAGG_SOURCE_ROOT", ".");
    return root / "tests" / "e2e" / "cli" / "data" / std::string(name);
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

CliProcess::CliProcess(Options options)
    : dir_("presenceagg-cli") {
    const std::string binary = options.binary.empty() ? cli_binary() : options.binary;
    if (::access(binary.c_str(), X_OK) != 0) {
        throw std::runtime_error("CliProcess: " + binary + " is not executable");
    }
    // Everything the child needs is prepared before fork(): after it, only async-signal-safe
    // calls are allowed (the test process has threads).
    std::vector<std::string> argv_text{binary};
    argv_text.insert(argv_text.end(), options.args.begin(), options.args.end());
    std::vector<std::string> env_text;
    for (const char* name : kPassThrough) {
        if (options.env.count(name) != 0) continue;
        if (const char* v = std::getenv(name); v != nullptr)
            env_text.push_back(std::string(name) + "=" + v);
    }
    for (const auto& [k, v] : options.env) env_text.push_back(k + "=" + v);
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string out_path = (dir_.path() / "stdout").string();
    const std::string err_path = (dir_.path() / "stderr").string();
    const std::string in_path = options.stdin_file ? options.stdin_file->string() : "/dev/null";
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error(std::string("CliProcess: fork failed: ") + std::strerror(errno));
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        const int in = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
        const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (in < 0 || out < 0 || err < 0) ::_exit(126);
        if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
        // The test process may have blocked signals the CLI relies on; start clean.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
}

CliProcess::CliProcess(std::map<std::string, std::string> env, std::vector<std::string> args)
    : CliProcess(Options{std::move(args), std::move(env), {}, std::nullopt}) {}

CliProcess::~CliProcess() {
    (void)terminate(std::chrono::seconds(10));
}

bool CliProcess::reap(bool block) noexcept {
    if (pid_ <= 0) return true;
    if (status_ != -1) return true;
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
        if (r == pid_) {
            status_ = status;
            return true;
        }
        if (r < 0 && errno == EINTR) continue;
        return false;
    }
}

bool CliProcess::running() {
    return !reap(false);
}

bool CliProcess::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(false)) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

void CliProcess::send_signal(int signal) noexcept {
    if (pid_ > 0 && !reap(false)) ::kill(pid_, signal);
}

int CliProcess::terminate(std::chrono::milliseconds grace) noexcept {
    if (pid_ <= 0) return exit_code();
    if (!reap(false)) {
        ::kill(pid_, SIGCONT);  // a paused process acts on SIGTERM only once resumed
        ::kill(pid_, SIGTERM);
        try {
            if (!wait_exit(grace)) {
                killed_ = true;
                ::kill(pid_, SIGKILL);
                (void)reap(true);
            }
        } catch (...) {
            ::kill(pid_, SIGKILL);
            (void)reap(true);
        }
    }
    return exit_code();
}

int CliProcess::exit_code() const noexcept {
    if (status_ == -1) return -1;
    if (WIFEXITED(status_)) return WEXITSTATUS(status_);
    if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
    return -1;
}

std::string CliProcess::stdout_text() const {
    return read_file(dir_.path() / "stdout");
}
std::string CliProcess::stderr_text() const {
    return read_file(dir_.path() / "stderr");
}

std::vector<std::string> CliProcess::log_lines() const {
    std::vector<std::string> out;
    for (auto& line : split_lines(stderr_text())) {
        if (parse_log_line(line)) out.push_back(std::move(line));
    }
    return out;
}

bool CliProcess::logged(std::string_view message, std::string_view component) const {
    for (const auto& line : split_lines(stderr_text())) {
        const auto f = parse_log_line(line);
        if (f && f->msg == message && (component.empty() || f->component == component)) return true;
    }
    return false;
}

std::size_t CliProcess::count_logged(std::string_view message) const {
    std::size_t n = 0;
    for (const auto& line : split_lines(stderr_text())) {
        const auto f = parse_log_line(line);
        if (f && f->msg == message) ++n;
    }
    return n;
}

std::string CliProcess::stderr_tail(std::size_t lines) const {
    const auto all = split_lines(stderr_text());
    std::string out;
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
        out += all[i];
        out += '\n';
    }
    return out;
}

CliRun run_cli(std::vector<std::string> args,
               std::map<std::string, std::string> env,
               std::optional<std::filesystem::path> stdin_file,
               std::chrono::milliseconds timeout) {
    CliProcess p(CliProcess::Options{std::move(args), std::move(env), {}, std::move(stdin_file)});
    CliRun r;
    if (!p.wait_exit(timeout)) (void)p.terminate(std::chrono::seconds(2));
    r.exit_code = p.exit_code();
    r.out = p.stdout_text();
    r.err = p.stderr_text();
    return r;
}

bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout,
                std::chrono::milliseconds period) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return condition();
        std::this_thread::sleep_for(period);
    }
}

}  // namespace presenceagg::e2e

// SPDX-License-Identifier: MIT
#include "standin_process.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

namespace presenceagg::standin {

namespace {

std::string find_binary(const std::string& configured) {
    if (!configured.empty()) return configured;
    if (const char* env = std::getenv("PRESENCEAGG_STANDIN"); env != nullptr && *env != '\0') {
        return env;
    }
    if (const char* root = std::getenv("PRESENCEAGG_BUILD_ROOT");
        root != nullptr && *root != '\0') {
        return std::string(root) + "/tests/support/standin/ably-standin";
    }
    throw std::runtime_error(
        "StandinProcess: set PRESENCEAGG_STANDIN to the ably-standin binary (meson test does)");
}

httplib::Client make_client(int port) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(30, 0);
    client.set_write_timeout(30, 0);
    return client;
}

StandinProcess::Reply to_reply(const httplib::Result& result) {
    StandinProcess::Reply reply;
    if (!result) return reply;
    reply.status = result->status;
    reply.body = result->body;
    reply.content_type = result->get_header_value("Content-Type");
    for (const auto& [name, value] : result->headers) reply.headers.emplace_back(name, value);
    return reply;
}

httplib::Headers ably_headers(int version, std::string_view key) {
    httplib::Headers headers{{"Accept", "application/json"}};
    if (version > 0) headers.emplace("X-Ably-Version", std::to_string(version));
    if (!key.empty()) {
        const auto colon = key.find(':');
        const std::string name(key.substr(0, colon));
        const std::string secret(colon == std::string_view::npos ? "" : key.substr(colon + 1));
        headers.insert(httplib::make_basic_authentication_header(name, secret));
    }
    return headers;
}

void close_fd(int& fd) noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

std::string StandinProcess::Reply::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() &&
            std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            })) {
            return v;
        }
    }
    return {};
}

StandinProcess::StandinProcess()
    : StandinProcess(Options{}) {}

StandinProcess::StandinProcess(std::vector<std::string> args)
    : StandinProcess(Options{std::move(args), {}, std::chrono::milliseconds{10'000}}) {}

StandinProcess::StandinProcess(Options options) {
    const std::string binary = find_binary(options.binary);
    if (::access(binary.c_str(), X_OK) != 0) {
        throw std::runtime_error("StandinProcess: cannot execute " + binary +
                                 " (build the ably-standin target)");
    }
    std::vector<std::string> args{binary};
    args.insert(args.end(), options.args.begin(), options.args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("StandinProcess: pipe2: ") + std::strerror(errno));
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        const int err = errno;
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        throw std::runtime_error(std::string("StandinProcess: fork: ") + std::strerror(err));
    }
    if (pid_ == 0) {
        // Child: only async-signal-safe calls until exec.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(126);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    stdout_fd_ = pipe_fds[0];

    // Wait for "listening 127.0.0.1:<port>\n".
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{stdout_fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        char buf[256];
        const ssize_t got = ::read(stdout_fd_, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        line.append(buf, static_cast<std::size_t>(got));
    }
    constexpr std::string_view kPrefix = "listening 127.0.0.1:";
    if (line.compare(0, kPrefix.size(), kPrefix) == 0) {
        port_ = std::atoi(line.c_str() + kPrefix.size());
    }
    if (port_ <= 0) {
        stop(std::chrono::milliseconds(1'000));
        close_fd(stdout_fd_);
        throw std::runtime_error("StandinProcess: " + binary + " did not report its port (got \"" +
                                 line + "\")");
    }
}

StandinProcess::~StandinProcess() {
    stop();
    close_fd(stdout_fd_);
}

std::string StandinProcess::endpoint() const {
    return "127.0.0.1:" + std::to_string(port_);
}

std::string StandinProcess::base_url() const {
    return "http://" + endpoint();
}

StandinProcess::Reply StandinProcess::get(const std::string& path_and_query) const {
    auto client = make_client(port_);
    return to_reply(client.Get(path_and_query.c_str()));
}

StandinProcess::Reply StandinProcess::post(const std::string& path,
                                           const std::string& json_body) const {
    auto client = make_client(port_);
    return to_reply(client.Post(path.c_str(), json_body, "application/json"));
}

StandinProcess::Reply StandinProcess::del(const std::string& path_and_query) const {
    auto client = make_client(port_);
    return to_reply(client.Delete(path_and_query.c_str()));
}

StandinProcess::Reply StandinProcess::ably_get(const std::string& path_and_query,
                                               int version,
                                               std::string_view key) const {
    auto client = make_client(port_);
    return to_reply(client.Get(path_and_query.c_str(), ably_headers(version, key)));
}

StandinProcess::Reply StandinProcess::ably_post(const std::string& path,
                                                const std::string& json_body,
                                                int version,
                                                std::string_view key) const {
    auto client = make_client(port_);
    return to_reply(
        client.Post(path.c_str(), ably_headers(version, key), json_body, "application/json"));
}

void StandinProcess::control(const char* method,
                             const std::string& path,
                             const std::string& body) const {
    const std::string m = method;
    const Reply r = m == "POST" ? post(path, body) : m == "DELETE" ? del(path) : get(path);
    if (r.status < 200 || r.status > 299) {
        throw std::runtime_error("StandinProcess: " + m + " " + path + " answered " +
                                 std::to_string(r.status) + ": " + r.body);
    }
}

void StandinProcess::set_presence(const std::string& channel,
                                  const std::string& members_json,
                                  bool replace) {
    std::string body = "{\"channel\":";
    body += "\"";
    for (const char c : channel) {
        if (c == '"' || c == '\\') body += '\\';
        body += c;
    }
    body += "\",\"replace\":" + std::string(replace ? "true" : "false") +
            ",\"members\":" + members_json + "}";
    control("POST", "/_control/presence", body);
}

void StandinProcess::clear_presence(const std::string& channel) {
    control("DELETE",
            channel.empty()
                ? "/_control/presence"
                : "/_control/presence?channel=" + httplib::detail::encode_query_param(channel),
            "");
}

void StandinProcess::mark_channels(const std::vector<std::string>& names, bool active) {
    std::string body = "{\"names\":[";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) body += ',';
        body += '"';
        for (const char c : names[i]) {
            if (c == '"' || c == '\\') body += '\\';
            body += c;
        }
        body += '"';
    }
    body += "],\"active\":" + std::string(active ? "true" : "false") + "}";
    control("POST", "/_control/channels", body);
}

void StandinProcess::add_fault(const std::string& fault_json) {
    control("POST", "/_control/faults", fault_json);
}

void StandinProcess::clear_faults() {
    control("DELETE", "/_control/faults", "");
}

void StandinProcess::set_enumeration(const std::string& settings_json) {
    control("POST", "/_control/enumeration", settings_json);
}

void StandinProcess::set_channel_error(const std::string& channel, int status_code, int code) {
    std::ostringstream body;
    body << "{\"channel\":\"";
    for (const char c : channel) {
        if (c == '"' || c == '\\') body << '\\';
        body << c;
    }
    body << "\",\"statusCode\":" << status_code << ",\"code\":" << code << "}";
    control("POST", "/_control/channel_errors", body.str());
}

void StandinProcess::drop_sse_streams() {
    control("POST", "/_control/sse/drop", "{}");
}

void StandinProcess::reset() {
    control("POST", "/_control/reset", "");
}

std::vector<std::string> StandinProcess::published(const std::string& channel) const {
    const Reply r =
        get("/_control/published?channel=" + httplib::detail::encode_query_param(channel));
    if (r.status != 200) {
        throw std::runtime_error("StandinProcess: GET /_control/published answered " +
                                 std::to_string(r.status));
    }
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < r.body.size()) {
        const auto nl = r.body.find('\n', start);
        const auto end = nl == std::string::npos ? r.body.size() : nl;
        if (end > start) lines.push_back(r.body.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string StandinProcess::stats_json() const {
    const Reply r = get("/_control/stats");
    if (r.status != 200) {
        throw std::runtime_error("StandinProcess: GET /_control/stats answered " +
                                 std::to_string(r.status));
    }
    return r.body;
}

bool StandinProcess::running() noexcept {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        wait_status_ = status;
        pid_ = -1;
        return false;
    }
    return r == 0;
}

bool StandinProcess::stop(std::chrono::milliseconds grace) noexcept {
    if (pid_ <= 0)
        return wait_status_ >= 0 && WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        wait_status_ = status;
        pid_ = -1;
        return false;
    }
    return WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0;
}

}  // namespace presenceagg::standin

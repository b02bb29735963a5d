// SPDX-License-Identifier: MIT
// AmqpQueueSource's TLS set-up against `openssl s_server` on loopback with a throw-away CA and a
// "localhost" certificate. s_server speaks TLS but not AMQP, so a source whose TLS handshake
// succeeds goes on to fail the AMQP handshake ("login failed"), while one whose verification
// fails never gets that far ("cannot connect"). No broker is needed.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <presenceagg/logging.hpp>
#include <presenceagg/queue_source.hpp>

#include "support/amqp/test_broker.hpp"

extern char** environ;

using namespace std::chrono_literals;
using presenceagg::test::eventually;

namespace {

void run_or_throw(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
        throw std::runtime_error("TLS stand-in: failed: " + command);
    }
}

std::uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

bool port_open(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return open;
}

/// A TLS listener on 127.0.0.1 with a certificate for "localhost" signed by a fresh CA, plus an
/// unrelated CA. Files live in a temporary directory removed on destruction.
class TlsStandIn {
public:
    TlsStandIn() {
        char pattern[] = "/tmp/presenceagg-tls-XXXXXX";
        const char* made = ::mkdtemp(pattern);
        if (made == nullptr) throw std::runtime_error("TLS stand-in: mkdtemp failed");
        dir_ = made;
        const std::string key_options = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        run_or_throw("openssl req -x509" + key_options +
                     " -days 1 -subj /CN=presenceagg-test-ca -keyout " + dir_ + "/ca.key -out " +
                     ca_file());
        run_or_throw("openssl req -x509" + key_options +
                     " -days 1 -subj /CN=unrelated-ca -keyout " + dir_ + "/other.key -out " +
                     other_ca_file());
        run_or_throw("openssl req" + key_options + " -subj /CN=localhost -keyout " + dir_ +
                     "/server.key -out " + dir_ + "/server.csr");
        std::ofstream(dir_ + "/ext") << "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n";
        run_or_throw("openssl x509 -req -in " + dir_ + "/server.csr -CA " + ca_file() + " -CAkey " +
                     dir_ + "/ca.key -CAcreateserial -days 1 -extfile " + dir_ + "/ext -out " +
                     dir_ + "/server.pem");

        port_ = free_loopback_port();
        const std::string accept = "127.0.0.1:" + std::to_string(port_);
        const std::string cert = dir_ + "/server.pem";
        const std::string key = dir_ + "/server.key";
        std::vector<std::string> args = {"openssl", "s_server", "-quiet", "-www", "-accept",
                                         accept,    "-cert",    cert,     "-key", key};
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        const int spawned =
            ::posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (spawned != 0) throw std::runtime_error("TLS stand-in: cannot start openssl s_server");
        if (!eventually([this] { return port_open(port_); }, 10s)) {
            throw std::runtime_error("TLS stand-in: s_server did not start listening");
        }
    }
    ~TlsStandIn() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        (void)std::system(("rm -rf '" + dir_ + "'").c_str());
    }
    TlsStandIn(const TlsStandIn&) = delete;
    TlsStandIn& operator=(const TlsStandIn&) = delete;

    [[nodiscard]] std::string ca_file() const { return dir_ + "/ca.pem"; }
    [[nodiscard]] std::string other_ca_file() const { return dir_ + "/other.pem"; }
    [[nodiscard]] std::string url(const std::string& host) const {
        return "amqps://user:tls-pa55@" + host + ":" + std::to_string(port_) + "/shared";
    }

private:
    std::string dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

/// Collects log lines; thread-safe.
class LogLines {
public:
    presenceagg::Logger logger() {
        return presenceagg::Logger(
            [this](const presenceagg::LogRecord& record) {
                std::string line(record.message);
                for (const auto& field : record.fields)
                    line += " " + std::string(field.key) + "=" + field.value;
                const std::lock_guard lock(mutex_);
                lines_.push_back(std::move(line));
            },
            presenceagg::LogLevel::Debug);
    }
    [[nodiscard]] bool contains(std::string_view text) const {
        const std::lock_guard lock(mutex_);
        for (const auto& line : lines_) {
            if (line.find(text) != std::string::npos) return true;
        }
        return false;
    }
    [[nodiscard]] std::string all() const {
        const std::lock_guard lock(mutex_);
        std::string text;
        for (const auto& line : lines_) text += line + "\n";
        return text;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

/// Runs a source until its first connection attempt has been logged, then stops it.
std::string first_attempt(presenceagg::AmqpQueueSourceConfig config) {
    LogLines log;
    config.log = log.logger();
    config.queue = "APP:presence";
    config.connect_timeout = 1s;
    config.reconnect_min = 50ms;
    config.reconnect_max = 100ms;
    auto source = presenceagg::make_amqp_queue_source(std::move(config));
    std::jthread runner([&source](std::stop_token stop) {
        source->run(stop,
                    [](const presenceagg::Delivery&) { return presenceagg::Disposition::Ack; });
    });
    CHECK(
        eventually([&] { return log.contains("cannot connect") || log.contains("login failed"); }));
    runner.request_stop();
    runner.join();
    return log.all();
}

}  // namespace

TEST_SUITE("AmqpQueueSource TLS") {
    TEST_CASE("TLS verification accepts a trusted certificate for the host name") {
        TlsStandIn tls;
        presenceagg::AmqpQueueSourceConfig config;
        config.url = tls.url("localhost");
        config.ca_file = tls.ca_file();
        const auto log = first_attempt(config);
        CAPTURE(log);
        CHECK(log.find("login failed") != std::string::npos);  // got past TLS
        CHECK(log.find("cannot connect") == std::string::npos);
        CHECK(log.find("tls-pa55") == std::string::npos);
        CHECK(log.find("amqps://localhost:") != std::string::npos);
    }

    TEST_CASE("TLS verification refuses a certificate from an untrusted CA") {
        TlsStandIn tls;
        presenceagg::AmqpQueueSourceConfig config;
        config.url = tls.url("localhost");
        config.ca_file = tls.other_ca_file();
        const auto log = first_attempt(config);
        CAPTURE(log);
        CHECK(log.find("cannot connect") != std::string::npos);
        CHECK(log.find("login failed") == std::string::npos);
    }

    TEST_CASE("TLS verification refuses a certificate for another host name") {
        TlsStandIn tls;
        presenceagg::AmqpQueueSourceConfig config;
        config.url = tls.url("127.0.0.1");  // the certificate names only "localhost"
        config.ca_file = tls.ca_file();
        const auto log = first_attempt(config);
        CAPTURE(log);
        CHECK(log.find("cannot connect") != std::string::npos);
        CHECK(log.find("login failed") == std::string::npos);
    }

    TEST_CASE("with verification explicitly off any certificate is accepted, with a warning") {
        TlsStandIn tls;
        presenceagg::AmqpQueueSourceConfig config;
        config.url = tls.url("127.0.0.1");
        config.ca_file = tls.other_ca_file();
        config.tls_verify = false;
        const auto log = first_attempt(config);
        CAPTURE(log);
        CHECK(log.find("TLS verification is off") != std::string::npos);
        CHECK(log.find("login failed") != std::string::npos);
    }
}

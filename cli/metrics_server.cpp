// SPDX-License-Identifier: MIT
#include "metrics_server.hpp"

#include <charconv>
#include <thread>

#include <presenceagg/error.hpp>

#include "settings.hpp"

#if PRESENCEAGG_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace presenceagg::cli {

std::string readiness_problem(const Stats& s) {
    if (!s.collecting) return "not collecting (waiting for a start command)";
    if (!s.source_connected) return "queue source not connected";
    if (!s.bootstrap.done) return "bootstrap in progress";
    if (!s.last_publish_ok) return "last publish failed";
    return {};
}

std::unique_ptr<MetricsServer> start_metrics_server(const std::string& address,
                                                    MetricsServer::StatsFn stats,
                                                    const Logger& log) {
    if (address.empty()) return nullptr;
    auto server = std::make_unique<MetricsServer>(address, std::move(stats));
    log.log(LogLevel::Info, "cli", "serving /metrics, /healthz, /readyz",
            {{"port", std::to_string(server->port())}});
    return server;
}

#if PRESENCEAGG_HAVE_HTTPLIB

bool metrics_supported() noexcept {
    return true;
}

struct MetricsServer::Impl {
    httplib::Server server;
    int port = 0;
    std::jthread thread;
};

namespace {

struct HostPort {
    std::string host;
    int port = -1;
};

HostPort parse_address(const std::string& address) {
    HostPort hp{"127.0.0.1", -1};
    std::string port_text = address;
    if (const auto colon = address.rfind(':'); colon != std::string::npos) {
        std::string host = address.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        if (!host.empty()) hp.host = host;
        port_text = address.substr(colon + 1);
    }
    int port = -1;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
        port > 65535) {
        throw Error(Errc::InvalidConfig, Settings::label("metrics-addr") +
                                             ": expected PORT or HOST:PORT, got \"" + address +
                                             "\"");
    }
    hp.port = port;
    return hp;
}

}  // namespace

MetricsServer::MetricsServer(const std::string& address, StatsFn stats)
    : impl_(std::make_unique<Impl>()) {
    const HostPort hp = parse_address(address);
    auto& srv = impl_->server;
    srv.Get("/metrics", [stats](const httplib::Request&, httplib::Response& res) {
        res.set_content(to_prometheus(stats()), "text/plain; version=0.0.4; charset=utf-8");
    });
    srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("ok\n", "text/plain");
    });
    srv.Get("/readyz", [stats](const httplib::Request&, httplib::Response& res) {
        const std::string problem = readiness_problem(stats());
        res.status = problem.empty() ? 200 : 503;
        res.set_content(problem.empty() ? "ready\n" : problem + "\n", "text/plain");
    });
    impl_->port = hp.port == 0 ? srv.bind_to_any_port(hp.host)
                               : (srv.bind_to_port(hp.host, hp.port) ? hp.port : -1);
    if (impl_->port <= 0) {
        throw Error(Errc::InvalidConfig,
                    Settings::label("metrics-addr") + ": cannot listen on " + address);
    }
    impl_->thread = std::jthread([this] { impl_->server.listen_after_bind(); });
}

MetricsServer::~MetricsServer() {
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

int MetricsServer::port() const noexcept {
    return impl_->port;
}

#else

bool metrics_supported() noexcept {
    return false;
}

struct MetricsServer::Impl {};

MetricsServer::MetricsServer(const std::string&, StatsFn) {
    throw Error(Errc::InvalidConfig,
                Settings::label("metrics-addr") +
                    ": this build has no metrics endpoint (cpp-httplib was not found)");
}
MetricsServer::~MetricsServer() = default;
int MetricsServer::port() const noexcept {
    return -1;
}

#endif

}  // namespace presenceagg::cli

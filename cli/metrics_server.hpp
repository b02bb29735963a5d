// SPDX-License-Identifier: MIT
#pragma once

// `--metrics-addr`: /metrics (Prometheus text), /healthz and /readyz over HTTP, served by
// cpp-httplib on its own thread. Binds to loopback unless an address says otherwise.

#include <functional>
#include <memory>
#include <string>

#include <presenceagg/logging.hpp>
#include <presenceagg/stats.hpp>

namespace presenceagg::cli {

/// Whether this build can serve metrics (cpp-httplib was found at build time).
bool metrics_supported() noexcept;

class MetricsServer {
public:
    using StatsFn = std::function<Stats()>;

    /// `address` is "PORT", ":PORT", "HOST:PORT" or "[V6]:PORT"; a bare port binds 127.0.0.1.
    /// Throws Error(InvalidConfig) naming METRICS_ADDR when it cannot parse or bind.
    MetricsServer(const std::string& address, StatsFn stats);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    /// The port actually bound (useful with port 0).
    [[nodiscard]] int port() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The server METRICS_ADDR asks for (logging where it listens), or null when it is empty.
std::unique_ptr<MetricsServer> start_metrics_server(const std::string& address,
                                                    MetricsServer::StatsFn stats,
                                                    const Logger& log);

/// Why the pipeline is not ready, or empty when it is: the source is connected, the bootstrap
/// finished and the last publish succeeded.
std::string readiness_problem(const Stats& stats);

}  // namespace presenceagg::cli

// SPDX-License-Identifier: MIT
#include "metrics_server.hpp"

#include <atomic>
#include <string>

#include <doctest/doctest.h>
#include <httplib.h>

#include <presenceagg/error.hpp>
#include <presenceagg/stats.hpp>

TEST_SUITE("metrics server") {
    TEST_CASE("serves /metrics, /healthz and /readyz on loopback") {
        std::atomic<bool> ready{false};
        presenceagg::cli::MetricsServer server("127.0.0.1:0", [&ready] {
            presenceagg::Stats s;
            s.queue.deliveries = 7;
            s.collecting = s.source_connected = s.bootstrap.done = ready.load();
            return s;
        });
        REQUIRE(server.port() > 0);
        httplib::Client client("127.0.0.1", server.port());

        const auto metrics = client.Get("/metrics");
        REQUIRE(metrics);
        CHECK(metrics->status == 200);
        CHECK(metrics->get_header_value("Content-Type").find("text/plain") == 0);
        CHECK(metrics->body.find("presenceagg_queue_deliveries_total 7\n") != std::string::npos);

        const auto health = client.Get("/healthz");
        REQUIRE(health);
        CHECK(health->status == 200);

        auto readiness = client.Get("/readyz");
        REQUIRE(readiness);
        CHECK(readiness->status == 503);
        CHECK(readiness->body.find("not collecting") != std::string::npos);
        ready = true;
        readiness = client.Get("/readyz");
        REQUIRE(readiness);
        CHECK(readiness->status == 200);
    }

    TEST_CASE("a bare port binds loopback; a bad address names METRICS_ADDR") {
        presenceagg::cli::MetricsServer server("0", [] { return presenceagg::Stats{}; });
        CHECK(server.port() > 0);
        httplib::Client client("127.0.0.1", server.port());
        const auto health = client.Get("/healthz");
        REQUIRE(health);
        CHECK(health->status == 200);
        try {
            presenceagg::cli::MetricsServer bad("not-a-port", [] { return presenceagg::Stats{}; });
            FAIL("accepted a bad address");
        } catch (const presenceagg::Error& e) {
            CHECK(std::string(e.what()).find("METRICS_ADDR") != std::string::npos);
        }
    }
}

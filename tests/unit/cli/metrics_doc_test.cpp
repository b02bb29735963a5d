// SPDX-License-Identifier: MIT
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include <presenceagg/stats.hpp>

#include "metrics_server.hpp"

TEST_SUITE("metrics") {
    TEST_CASE("every metric the exposition renders is documented in the README") {
        const char* root = std::getenv("PRESENCEAGG_SOURCE_ROOT");
        REQUIRE(root != nullptr);
        std::ifstream in(std::string(root) + "/README.md");
        REQUIRE(in.good());
        std::stringstream readme;
        readme << in.rdbuf();
        const std::string text = presenceagg::to_prometheus(presenceagg::Stats{});
        std::istringstream lines(text);
        std::string line;
        int families = 0;
        while (std::getline(lines, line)) {
            if (line.rfind("# TYPE ", 0) != 0) continue;
            const std::string name = line.substr(7, line.find(' ', 7) - 7);
            ++families;
            CAPTURE(name);
            CHECK(readme.str().find("`" + name + "`") != std::string::npos);
        }
        CHECK(families > 30);
    }

    TEST_CASE("the exposition is well-formed: HELP and TYPE before samples, integer samples") {
        presenceagg::Stats s;
        s.queue.deliveries = 42;
        s.publish[0].bytes = 1234;
        const std::string text = presenceagg::to_prometheus(s);
        CHECK(text.find("presenceagg_queue_deliveries_total 42\n") != std::string::npos);
        CHECK(text.find("presenceagg_publish_bytes_total{view=\"by-channel\"} 1234\n") !=
              std::string::npos);
        CHECK(text.find("presenceagg_apply_total{outcome=\"stale\"} 0\n") != std::string::npos);
    }

    TEST_CASE("readiness names what is missing") {
        presenceagg::Stats s;
        CHECK(presenceagg::cli::readiness_problem(s).find("not collecting") != std::string::npos);
        s.collecting = true;
        CHECK(presenceagg::cli::readiness_problem(s) == "queue source not connected");
        s.source_connected = true;
        CHECK(presenceagg::cli::readiness_problem(s) == "bootstrap in progress");
        s.bootstrap.done = true;
        s.last_publish_ok = false;
        CHECK(presenceagg::cli::readiness_problem(s) == "last publish failed");
        s.last_publish_ok = true;
        CHECK(presenceagg::cli::readiness_problem(s).empty());
    }
}

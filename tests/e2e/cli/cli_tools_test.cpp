// SPDX-License-Identifier: MIT
// End-to-end: `presence-agg replay` and `assemble` on files, as a user runs them.

#include <string>

#include <doctest/doctest.h>

#include "cli_process.hpp"

namespace presenceagg::e2e {
namespace {

const std::map<std::string, std::string> kEnv{{"LOG_FORMAT", "json"},
                                              {"NAMESPACE_REGEX", "^presence:"}};

}  // namespace

TEST_SUITE("e2e-cli-tools") {
    TEST_CASE("replay applies a captured queue stream and prints the final view") {
        const std::string input = data_file("queue_small.ndjson").string();
        SUBCASE("by-channel: duplicates, a synthesized leave and a late redelivery are handled") {
            const CliRun r = run_cli({"replay", "--view", "by-channel", input}, kEnv);
            INFO(r.err);
            CHECK(r.exit_code == 0);
            CHECK(r.out == read_file(data_file("queue_small.by-channel.json")));
            // The bad line is reported with its line number; the rest still applied.
            CHECK(r.err.find(":7:") != std::string::npos);
            CHECK(r.err.find("1 bad lines") != std::string::npos);
        }
        SUBCASE("counts") {
            const CliRun r = run_cli({"replay", "--view", "counts", input}, kEnv);
            CHECK(r.exit_code == 0);
            CHECK(r.out == read_file(data_file("queue_small.counts.json")));
        }
        SUBCASE("from stdin, all views") {
            const CliRun r = run_cli({"replay", "-"}, kEnv, data_file("queue_small.ndjson"));
            CHECK(r.exit_code == 0);
            const std::string by_channel = read_file(data_file("queue_small.by-channel.json"));
            CHECK(r.out.find("\"by-channel\":" + by_channel.substr(0, by_channel.size() - 1)) !=
                  std::string::npos);
            CHECK(r.out.find("\"by-connection\":") != std::string::npos);
        }
        SUBCASE("--strict fails on the bad line") {
            const CliRun r = run_cli({"replay", "--strict", "--view", "counts", input}, kEnv);
            CHECK(r.exit_code == 1);
            CHECK(r.out == read_file(data_file("queue_small.counts.json")));
        }
        SUBCASE("a missing file is an error") {
            const CliRun r = run_cli({"replay", data_file("no-such-file.ndjson").string()}, kEnv);
            CHECK(r.exit_code != 0);
        }
    }

    TEST_CASE("assemble exits non-zero without a complete, verified state") {
        TempDir dir;
        write_file(dir.path() / "empty.ndjson", "");
        const CliRun r = run_cli({"assemble", (dir.path() / "empty.ndjson").string()}, kEnv);
        CHECK(r.exit_code != 0);
        CHECK(r.out.empty());
    }

}  // TEST_SUITE

}  // namespace presenceagg::e2e

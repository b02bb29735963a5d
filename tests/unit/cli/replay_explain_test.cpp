// SPDX-License-Identifier: MIT
// `presence-agg replay --explain`: the explanation replaces the views on stdout.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <unistd.h>

#include <doctest/doctest.h>

#include "commands.hpp"
#include "options.hpp"

namespace {

// One enveloped queue message per line for member (lobby, alice, c0nnA): enter, a late older
// update (stale) and a redelivery of the enter (duplicate).
std::string envelope(const char* id, int action, long long timestamp) {
    return std::string(R"({"source":"channel.presence","appId":"AppA1","channel":"lobby",)") +
           R"("site":"eu-west-1-A","ruleId":"Rk1x9a","presence":[{"id":")" + id +
           R"(","clientId":"alice","connectionId":"c0nnA","timestamp":)" +
           std::to_string(timestamp) + R"(,"action":)" + std::to_string(action) +
           R"(,"data":"{\"status\":\"online\"}","encoding":"json"}]})";
}

/// A file removed when the scope ends.
class TempFile {
public:
    explicit TempFile(const std::string& text)
        : path_(std::filesystem::temp_directory_path() /
                ("presenceagg-replay-explain-" + std::to_string(::getpid()) + ".ndjson")) {
        std::ofstream(path_) << text;
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    [[nodiscard]] std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

/// Captures std::cout for one scope.
class CaptureStdout {
public:
    CaptureStdout()
        : old_(std::cout.rdbuf(out_.rdbuf())) {}
    CaptureStdout(const CaptureStdout&) = delete;
    CaptureStdout& operator=(const CaptureStdout&) = delete;
    ~CaptureStdout() { std::cout.rdbuf(old_); }
    [[nodiscard]] std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
    std::streambuf* old_;
};

// FILE comes first: with CLI11 2.1 the vector option --explain would also take a FILE that
// follows it unless the option disallows extra arguments.
int run(std::initializer_list<const char*> args) {
    std::vector<const char*> argv(args);
    auto parsed = presenceagg::cli::parse_command_line(static_cast<int>(argv.size()), argv.data());
    REQUIRE(parsed.command_line.has_value());
    return presenceagg::cli::run_replay(*parsed.command_line);
}

}  // namespace

TEST_SUITE("presence-agg replay --explain") {
    TEST_CASE("the explanation names each decision instead of printing the views") {
        const TempFile file(envelope("c0nnA:2:0", 2, 1000) + "\n" + envelope("c0nnA:1:0", 4, 2000) +
                            "\n" + envelope("c0nnA:2:0", 2, 1000) + "\n");
        CaptureStdout out;
        const int rc = run({"presence-agg", "replay", file.path().c_str(), "--explain", "lobby",
                            "alice", "c0nnA"});
        const std::string text = out.text();
        CHECK(rc == 0);
        CHECK(text.find("clientId=\"alice\"") != std::string::npos);
        CHECK(text.find("shown: yes") != std::string::npos);
        CHECK(text.find("no previous state") != std::string::npos);
        CHECK(text.find("msgSerial/index older") != std::string::npos);
        CHECK(text.find("same id") != std::string::npos);
        CHECK(text.find("by-channel") == std::string::npos);  // no views
    }

    TEST_CASE("a member never seen is explained as unknown") {
        const TempFile file(envelope("c0nnA:2:0", 2, 1000) + "\n");
        CaptureStdout out;
        CHECK(run({"presence-agg", "replay", file.path().c_str(), "--explain", "lobby", "bob",
                   "c0nnA"}) == 0);
        CHECK(out.text().find("nothing is known about this member") != std::string::npos);
    }
}

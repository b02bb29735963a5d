// SPDX-License-Identifier: MIT
#pragma once

// Command line parsing (CLI11): subcommands, their own flags, and the settings table with its
// precedence (default < config file < environment < flag).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "settings.hpp"

namespace presenceagg::cli {

struct DemoOptions {
    std::optional<std::chrono::milliseconds> duration;  ///< stop after this long
    std::uint32_t clients = 300;
    std::uint32_t channels = 20;
    double rate = 200;  ///< events per second
    std::uint64_t seed = 1;
    std::string output;  ///< NDJSON of what would be published; empty: none
};

struct ReplayOptions {
    std::string format = "queue";  ///< queue | webhook
    std::string view;              ///< empty: all views
    bool strict = false;
    std::vector<std::string> explain;  ///< CHANNEL CLIENT_ID CONNECTION_ID, when given
    std::string file = "-";
};

struct AssembleOptions {
    std::string view;  ///< empty: whichever view the stream carries
    std::string file = "-";
};

struct CommandLine {
    std::string command;  ///< run | demo | replay | assemble | version
    Settings settings;
    bool print_config = false;
    DemoOptions demo;
    ReplayOptions replay;
    AssembleOptions assemble;
};

/// Result of parsing: either a command line to run, or an exit code (help, usage error).
struct ParseOutcome {
    std::optional<CommandLine> command_line;
    int exit_code = 0;
};

/// Parses argv; prints help or usage errors itself (help to stdout, errors to stderr).
ParseOutcome parse_command_line(int argc, const char* const* argv);

}  // namespace presenceagg::cli

// SPDX-License-Identifier: MIT
// presence-agg: the thin CLI over libpresenceagg.
#include <exception>
#include <iostream>

#include <presenceagg/error.hpp>

#include "commands.hpp"
#include "options.hpp"
#include "signals.hpp"

int main(int argc, char** argv) {
    using namespace presenceagg::cli;
    // Before any thread exists, so every thread inherits the mask.
    block_termination_signals();
    try {
        ParseOutcome parsed = parse_command_line(argc, argv);
        if (!parsed.command_line) return parsed.exit_code;
        const CommandLine& line = *parsed.command_line;
        if (line.print_config) {
            std::cout << line.settings.describe(line.command.empty() ? "run" : line.command);
            return 0;
        }
        if (line.command == "run") return run_main_job(line);
        if (line.command == "demo") return run_demo(line);
        if (line.command == "replay") return run_replay(line);
        if (line.command == "assemble") return run_assemble(line);
        if (line.command == "version") return run_version();
        std::cerr << "presence-agg: no command given; see --help\n";
        return 2;
    } catch (const presenceagg::Error& e) {
        std::cerr << "presence-agg: " << e.what() << '\n';
        return e.code() == presenceagg::Errc::InvalidConfig ? 2 : 1;
    } catch (const std::exception& e) {
        std::cerr << "presence-agg: " << e.what() << '\n';
        return 1;
    }
}

// SPDX-License-Identifier: MIT
// `presence-agg assemble`: rebuild a view from the messages published on its channel.
#include <iostream>
#include <string>

#include <presenceagg/view_assembler.hpp>

#include "commands.hpp"
#include "input_lines.hpp"

namespace presenceagg::cli {

int run_assemble(const CommandLine& line) {
    const AssembleOptions& opt = line.assemble;
    ViewAssemblerConfig config;
    if (!opt.view.empty()) config.view = parse_view(opt.view);
    ViewAssembler assembler(config);
    InputLines input(opt.file);
    std::string text;
    std::size_t messages = 0;
    for (;;) {
        const auto status = input.next(text);
        if (status == InputLines::Status::End) break;
        if (status == InputLines::Status::Failed) {
            std::cerr << "presence-agg: read error in " << opt.file << '\n';
            return 1;
        }
        if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
        ++messages;
        const AssembleStatus s =
            status == InputLines::Status::TooLong ? AssembleStatus::Malformed : assembler.add(text);
        if (s == AssembleStatus::Malformed) {
            std::cerr << opt.file << ':' << input.line_number()
                      << ": malformed message: " << assembler.last_error() << '\n';
        } else if (s == AssembleStatus::Gap || s == AssembleStatus::HashMismatch) {
            std::cerr << opt.file << ':' << input.line_number() << ": " << to_string(s)
                      << "; waiting for the next snapshot\n";
        }
    }
    std::cerr << "assembled " << messages << " messages: " << assembler.rounds_applied()
              << " rounds applied, " << assembler.gaps() << " gaps, " << assembler.mismatches()
              << " hash mismatches, " << assembler.malformed() << " malformed\n";
    if (!assembler.has_state()) {
        std::cerr << "presence-agg: no complete, verified state at the end of the stream\n";
        return 1;
    }
    std::cout << assembler.state_json() << '\n';
    return 0;
}

}  // namespace presenceagg::cli

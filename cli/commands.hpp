// SPDX-License-Identifier: MIT
#pragma once

// One function per subcommand; each returns the process exit code:
// 0 clean, 1 runtime error, 2 usage or configuration error.

#include "options.hpp"

namespace presenceagg::cli {

int run_main_job(const CommandLine& line);
int run_demo(const CommandLine& line);
int run_replay(const CommandLine& line);
int run_assemble(const CommandLine& line);
int run_version();

}  // namespace presenceagg::cli

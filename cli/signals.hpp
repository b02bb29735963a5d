// SPDX-License-Identifier: MIT
#pragma once

// Signals belong to the CLI, never to the library: SIGINT and SIGTERM are blocked before any
// thread starts (threads inherit the mask) and collected synchronously with sigtimedwait.

#include <chrono>

namespace presenceagg::cli {

/// Blocks SIGINT/SIGTERM in this thread (and so in threads started later); ignores SIGPIPE.
void block_termination_signals();
/// Waits up to `timeout` for SIGINT/SIGTERM; returns the signal number or 0.
int wait_for_termination_signal(std::chrono::milliseconds timeout);

}  // namespace presenceagg::cli

// SPDX-License-Identifier: MIT
#pragma once

// The CLI's log sink: one line per record on stderr, as text on a terminal and JSON otherwise.

#include <optional>
#include <string_view>

#include <presenceagg/logging.hpp>

namespace presenceagg::cli {

enum class LogFormat { Text, Json };

/// "auto" picks Text when stderr is a terminal.
std::optional<LogFormat> parse_log_format(std::string_view text) noexcept;
std::optional<LogLevel> parse_log_level(std::string_view text) noexcept;

/// A thread-safe Logger writing to stderr.
Logger make_stderr_logger(LogLevel level, LogFormat format);

}  // namespace presenceagg::cli

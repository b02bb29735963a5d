// SPDX-License-Identifier: MIT
#include <presenceagg/logging.hpp>

namespace presenceagg {

std::string_view to_string(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::Trace:
            return "trace";
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warn:
            return "warn";
        case LogLevel::Error:
            return "error";
        case LogLevel::Off:
            return "off";
    }
    return "unknown";
}

Logger::Logger(LogSink sink, LogLevel min_level)
    : sink_(sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr),
      min_level_(min_level) {}

void Logger::log(LogLevel level,
                 std::string_view component,
                 std::string_view message,
                 std::initializer_list<LogField> fields) const noexcept {
    if (!enabled(level)) return;
    try {
        (*sink_)(LogRecord{level, component, message,
                           std::span<const LogField>(fields.begin(), fields.size())});
    } catch (...) {
        // A log sink must never take the library down; the record is lost.
    }
}

}  // namespace presenceagg

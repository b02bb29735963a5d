// SPDX-License-Identifier: MIT
#pragma once

/// Logging hook. The library never writes to stdout/stderr itself: every component logs through
/// a `Logger` the embedder installs. A default-constructed Logger discards everything.

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <presenceagg/export.hpp>

namespace presenceagg {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Off };

PRESENCEAGG_API std::string_view to_string(LogLevel level) noexcept;

/// One key/value pair attached to a record, e.g. {"channel", "presence:lobby"}.
struct LogField {
    std::string_view key;
    std::string value;
};

/// One log record; every view is valid only during the sink call.
struct LogRecord {
    LogLevel level;
    std::string_view component;  ///< "amqp", "rest", "store", "publish", ...
    std::string_view message;
    std::span<const LogField> fields;
};

/// Must be thread-safe: components log from their own threads. Exceptions are swallowed.
using LogSink = std::function<void(const LogRecord&)>;

/// Cheap to copy; thread-safe. Secrets are never passed to it (see `Secret`).
class PRESENCEAGG_API Logger {
public:
    Logger() = default;
    Logger(LogSink sink, LogLevel min_level);

    [[nodiscard]] bool enabled(LogLevel level) const noexcept {
        return sink_ && level >= min_level_ && level != LogLevel::Off;
    }
    /// Delivers a record if `enabled(level)`; never throws.
    void log(LogLevel level,
             std::string_view component,
             std::string_view message,
             std::initializer_list<LogField> fields = {}) const noexcept;

    [[nodiscard]] LogLevel min_level() const noexcept { return min_level_; }

private:
    std::shared_ptr<const LogSink> sink_;
    LogLevel min_level_ = LogLevel::Off;
};

}  // namespace presenceagg

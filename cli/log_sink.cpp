// SPDX-License-Identifier: MIT
#include "log_sink.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include <unistd.h>

#include "wire/json_text.hpp"

namespace presenceagg::cli {
namespace {

std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
    return buf;
}

std::string format_text(const LogRecord& r) {
    std::string line = utc_now();
    line += ' ';
    std::string level(to_string(r.level));
    for (char& c : level) c = static_cast<char>(c - ('a' - 'A'));
    line += level;
    line += ' ';
    line += r.component;
    line += ": ";
    line += r.message;
    for (const auto& f : r.fields) {
        line += ' ';
        line += f.key;
        line += '=';
        const bool quote = f.value.find_first_of(" \"=") != std::string::npos || f.value.empty();
        if (quote) {
            presenceagg::detail::append_json_string(line, f.value);
        } else {
            line += f.value;
        }
    }
    line += '\n';
    return line;
}

std::string format_json(const LogRecord& r) {
    using presenceagg::detail::append_json_string;
    std::string line = "{\"ts\":";
    append_json_string(line, utc_now());
    line += ",\"level\":";
    append_json_string(line, to_string(r.level));
    line += ",\"component\":";
    append_json_string(line, r.component);
    line += ",\"msg\":";
    append_json_string(line, r.message);
    for (const auto& f : r.fields) {
        line += ',';
        append_json_string(line, f.key);
        line += ':';
        append_json_string(line, f.value);
    }
    line += "}\n";
    return line;
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view text) noexcept {
    if (text == "text") return LogFormat::Text;
    if (text == "json") return LogFormat::Json;
    if (text == "auto" || text.empty())
        return isatty(STDERR_FILENO) ? LogFormat::Text : LogFormat::Json;
    return std::nullopt;
}

std::optional<LogLevel> parse_log_level(std::string_view text) noexcept {
    for (auto level : {LogLevel::Trace, LogLevel::Debug, LogLevel::Info, LogLevel::Warn,
                       LogLevel::Error, LogLevel::Off}) {
        if (text == to_string(level)) return level;
    }
    return std::nullopt;
}

Logger make_stderr_logger(LogLevel level, LogFormat format) {
    auto mutex = std::make_shared<std::mutex>();
    return Logger(
        [mutex, format](const LogRecord& r) {
            const std::string line = format == LogFormat::Json ? format_json(r) : format_text(r);
            const std::lock_guard lock(*mutex);
            std::fwrite(line.data(), 1, line.size(), stderr);
            std::fflush(stderr);
        },
        level);
}

}  // namespace presenceagg::cli

// SPDX-License-Identifier: MIT
#pragma once

// Reads newline-delimited input from a file or stdin ("-"), one line at a time, with a bound on
// line length so a hostile file cannot exhaust memory.

#include <cstdio>
#include <memory>
#include <string>

namespace presenceagg::cli {

class InputLines {
public:
    /// Throws Error(Io) naming the path when it cannot be opened.
    explicit InputLines(const std::string& path, std::size_t max_line = 16 * 1024 * 1024);

    enum class Status { Line, TooLong, End, Failed };
    /// Reads the next line into `line` (without the newline; a trailing CR is kept). A line
    /// longer than the bound is skipped whole and reported as TooLong.
    Status next(std::string& line);
    [[nodiscard]] std::size_t line_number() const noexcept { return line_number_; }

private:
    struct FileCloser {
        void operator()(std::FILE* f) const noexcept {
            if (f != nullptr && f != stdin) std::fclose(f);
        }
    };
    std::unique_ptr<std::FILE, FileCloser> file_;
    std::size_t max_line_;
    std::size_t line_number_ = 0;
};

}  // namespace presenceagg::cli

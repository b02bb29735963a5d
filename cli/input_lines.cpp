// SPDX-License-Identifier: MIT
#include "input_lines.hpp"

#include <cerrno>
#include <cstring>

#include <presenceagg/error.hpp>

namespace presenceagg::cli {

InputLines::InputLines(const std::string& path, std::size_t max_line)
    : file_(path == "-" ? stdin : std::fopen(path.c_str(), "rb")),
      max_line_(max_line) {
    if (!file_) {
        throw Error(Errc::Io, "cannot open " + path + ": " + std::strerror(errno));
    }
}

InputLines::Status InputLines::next(std::string& line) {
    line.clear();
    bool too_long = false;
    bool any = false;
    for (;;) {
        const int c = std::getc(file_.get());
        if (c == EOF) {
            if (std::ferror(file_.get()) != 0) return Status::Failed;
            if (!any) return Status::End;
            break;
        }
        any = true;
        if (c == '\n') break;
        if (line.size() < max_line_) {
            line.push_back(static_cast<char>(c));
        } else {
            too_long = true;
        }
    }
    ++line_number_;
    return too_long ? Status::TooLong : Status::Line;
}

}  // namespace presenceagg::cli

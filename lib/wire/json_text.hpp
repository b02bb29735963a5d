// SPDX-License-Identifier: MIT
#pragma once

// Small helpers for writing canonical JSON text directly into a std::string. Output is compact,
// deterministic, and byte-identical for equal input; strings are escaped per RFC 8259 with
// lowercase \u00xx for control characters and nothing else escaped (UTF-8 passes through).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presenceagg::detail {

/// Appends `s` as a JSON string literal (with quotes).
inline void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the current run of bytes needing no escape
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                out += "\\u00";
                out.push_back(kHex[c >> 4]);
                out.push_back(kHex[c & 0xF]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

/// The length of append_json_string(s)'s output (quotes included), computed without building it.
[[nodiscard]] inline std::size_t json_string_size(std::string_view s) noexcept {
    std::size_t n = s.size() + 2;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        const bool short_escape =
            c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f';
        n += short_escape ? 1 : 5;  // \x or \u00xx
    }
    return n;
}

/// Buffer size format_decimal() needs.
inline constexpr std::size_t kDecimalBufferSize = 24;

/// Writes `v` in decimal so that it ends at `end`; returns where it starts.
[[nodiscard]] inline char* format_decimal(std::int64_t v, char* end) noexcept {
    char* p = end;
    const bool neg = v < 0;
    std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    do {
        *--p = static_cast<char>('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (neg) *--p = '-';
    return p;
}

inline void append_json_int(std::string& out, std::int64_t v) {
    char buf[kDecimalBufferSize];
    char* end = buf + sizeof buf;
    const char* p = format_decimal(v, end);
    out.append(p, static_cast<std::size_t>(end - p));
}

/// Writes a tree of nested objects of fixed depth from leaves given in canonical (sorted) path
/// order: {"a":{"x":LEAF,"y":LEAF},"b":{...}}. Opening and closing braces are derived from how
/// consecutive paths differ, so a view streams out in one pass with no intermediate DOM.
class TreeWriter {
public:
    /// Appends to `out`; `depth` is the number of path segments per leaf (>= 1).
    TreeWriter(std::string& out, std::size_t depth)
        : out_(out),
          depth_(depth) {
        prev_.reserve(depth);
    }

    /// Adds one leaf. Paths must arrive in strictly increasing order with exactly `depth`
    /// segments. `leaf_json` is spliced as-is (it must be one JSON value).
    void leaf(std::span<const std::string_view> path, std::string_view leaf_json) {
        if (!started_) {
            out_.push_back('{');
            started_ = true;
        }
        // Common prefix with the previous path decides how many objects to close.
        std::size_t common = 0;
        if (!prev_.empty()) {
            while (common < depth_ - 1 && prev_[common] == path[common]) ++common;
            for (std::size_t i = depth_ - 1; i > common; --i) out_.push_back('}');
            out_.push_back(',');
        }
        for (std::size_t i = common; i < depth_; ++i) {
            append_json_string(out_, path[i]);
            out_.push_back(':');
            if (i + 1 < depth_) out_.push_back('{');
        }
        out_.append(leaf_json);
        prev_.assign(path.begin(), path.end());
        ++leaves_;
    }

    /// Closes every open object; an empty tree is "{}". Returns the number of leaves written.
    std::size_t finish() {
        if (!started_) {
            out_ += "{}";
            return 0;
        }
        if (!prev_.empty()) {
            for (std::size_t i = 0; i + 1 < depth_; ++i) out_.push_back('}');
        }
        out_.push_back('}');
        started_ = false;
        return leaves_;
    }

private:
    std::string& out_;
    std::size_t depth_;
    std::vector<std::string> prev_;
    bool started_ = false;
    std::size_t leaves_ = 0;
};

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

// A RapidJSON SAX handler that re-emits what it is fed as compact JSON text straight into a
// std::string: no DOM, no intermediate buffer. It is the "Writer" of the decoders; strings go
// through wire/json_text.hpp so escaping matches the rest of the library byte for byte, and
// numbers are spliced as their original text (the readers run with
// kParseNumbersAsStringsFlag, which also keeps RapidJSON 1.1.0's number-conversion bugs out of
// reach). Every string is checked to be valid UTF-8; output size and nesting are bounded.
// Not thread-safe; one per decoder.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <presenceagg/error.hpp>

#include "codec/rapidjson.hpp"
#include "codec/utf8.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::detail {

class CompactJsonEmitter {
public:
    using Ch = char;

    /// Starts a new value: clears `out`, which receives the text.
    void begin(std::string& out, std::size_t max_bytes, std::size_t max_depth) noexcept {
        out.clear();
        out_ = &out;
        max_bytes_ = max_bytes;
        max_depth_ = max_depth;
        depth_ = 0;
        error_ = Errc{};
        error_detail_ = {};
    }

    /// The reason the last event returned false; `Errc{}` when none did.
    [[nodiscard]] Errc error() const noexcept { return error_; }
    /// A fixed phrase describing error() (static storage).
    [[nodiscard]] std::string_view error_detail() const noexcept { return error_detail_; }
    /// Nesting at the current point (0 once a complete value has been written).
    [[nodiscard]] std::size_t depth() const noexcept { return depth_; }

    bool Null() { return scalar("null"); }
    bool Bool(bool b) { return scalar(b ? "true" : "false"); }
    // With kParseNumbersAsStringsFlag RapidJSON only calls RawNumber; these keep the handler
    // complete should a caller parse without it.
    bool Int(int i) { return integer(i); }
    bool Uint(unsigned u) { return integer(static_cast<std::int64_t>(u)); }
    bool Int64(std::int64_t i) { return integer(i); }
    bool Uint64(std::uint64_t) { return fail(Errc::WrongType, "number outside the int64 range"); }
    bool Double(double) { return fail(Errc::WrongType, "unexpected floating-point event"); }
    bool RawNumber(const Ch* str, rapidjson::SizeType length, bool /*copy*/) {
        return scalar(std::string_view(str, length));
    }
    bool String(const Ch* str, rapidjson::SizeType length, bool /*copy*/) {
        const std::string_view s(str, length);
        if (!is_valid_utf8(s)) return fail(Errc::InvalidUtf8, "a string is not valid UTF-8");
        separate();
        if (needs_escape(s)) {
            append_json_string(*out_, s);
        } else {  // the common case, byte-identical to append_json_string's output
            out_->push_back('"');
            out_->append(s);
            out_->push_back('"');
        }
        return check_size();
    }
    bool Key(const Ch* str, rapidjson::SizeType length, bool copy) {
        if (!String(str, length, copy)) return false;
        out_->push_back(':');
        return true;
    }
    bool StartObject() { return open('{'); }
    bool EndObject(rapidjson::SizeType) { return close('}'); }
    bool StartArray() { return open('['); }
    bool EndArray(rapidjson::SizeType) { return close(']'); }

private:
    // True when `s` holds a byte append_json_string escapes: < 0x20, '"' or '\\'. Checked a
    // word at a time (exact SWAR tests); short tails byte by byte.
    static bool needs_escape(std::string_view s) noexcept {
        constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
        constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
        auto flagged = [](std::uint64_t w) noexcept {
            const std::uint64_t quote = w ^ (kOnes * '"');
            const std::uint64_t slash = w ^ (kOnes * '\\');
            const std::uint64_t control = (w - kOnes * 0x20) & ~w;
            return (((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) | control) & kHigh;
        };
        const char* p = s.data();
        const std::size_t n = s.size();
        if (n >= 8) {
            std::uint64_t w;
            for (std::size_t i = 0; i + 8 <= n; i += 8) {
                std::memcpy(&w, p + i, sizeof w);
                if (flagged(w) != 0) return true;
            }
            std::memcpy(&w, p + n - 8, sizeof w);
            return flagged(w) != 0;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const auto c = static_cast<unsigned char>(p[i]);
            if (c < 0x20 || c == '"' || c == '\\') return true;
        }
        return false;
    }

    // A comma goes before a key or value unless it opens a container or follows a key.
    void separate() {
        if (out_->empty()) return;
        const char last = out_->back();
        if (last != '{' && last != '[' && last != ':') out_->push_back(',');
    }
    bool scalar(std::string_view text) {
        separate();
        out_->append(text);
        return check_size();
    }
    bool integer(std::int64_t v) {
        separate();
        append_json_int(*out_, v);
        return check_size();
    }
    bool open(char c) {
        if (++depth_ > max_depth_) return fail(Errc::TooDeep, "nesting exceeds max_depth");
        separate();
        out_->push_back(c);
        return check_size();
    }
    bool close(char c) {
        --depth_;
        out_->push_back(c);
        return check_size();
    }
    bool check_size() {
        if (out_->size() > max_bytes_) return fail(Errc::TooLarge, "exceeds max_member_data_bytes");
        return true;
    }
    bool fail(Errc e, std::string_view detail) {
        error_ = e;
        error_detail_ = detail;
        return false;
    }

    std::string* out_ = nullptr;
    std::size_t max_bytes_ = 0;
    std::size_t max_depth_ = 0;
    std::size_t depth_ = 0;
    Errc error_{};
    std::string_view error_detail_;
};

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

// A small, strict JSON reader (RFC 8259) for checking the store's output in tests and fuzzing.
// Independent of the code under test, and of RapidJSON 1.1.0, whose parser trips UBSan.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace presenceagg::test {

struct JsonMember;

struct JsonValue {
    enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
    bool boolean = false;
    std::string text;  // String: the unescaped value; Number: its literal
    std::vector<JsonValue> items;
    std::vector<JsonMember> members;  // in document order

    [[nodiscard]] const JsonValue* find(std::string_view key) const;
    /// The value of an integer literal, or nullopt.
    [[nodiscard]] std::optional<std::int64_t> integer() const {
        if (kind != Kind::Number || text.empty()) return std::nullopt;
        std::size_t i = text[0] == '-' ? 1 : 0;
        if (i == text.size()) return std::nullopt;
        std::uint64_t v = 0;
        for (; i < text.size(); ++i) {
            if (text[i] < '0' || text[i] > '9') return std::nullopt;
            v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
        }
        return text[0] == '-' ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
    }
};

struct JsonMember {
    std::string key;
    JsonValue value;
};

inline const JsonValue* JsonValue::find(std::string_view key) const {
    for (const JsonMember& m : members) {
        if (m.key == key) return &m.value;
    }
    return nullptr;
}

class JsonReader {
public:
    /// The parsed value, or nullopt when `text` is not exactly one well-formed JSON value.
    static std::optional<JsonValue> parse(std::string_view text) {
        JsonReader r(text);
        JsonValue v;
        r.ws();
        if (!r.value(v, 0)) return std::nullopt;
        r.ws();
        if (r.pos_ != text.size()) return std::nullopt;
        return v;
    }

private:
    explicit JsonReader(std::string_view s)
        : s_(s) {}

    void ws() {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
            ++pos_;
        }
    }
    bool eat(char c) {
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }
    bool digits() {
        const std::size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
        return pos_ > start;
    }

    bool value(JsonValue& v, int depth) {
        if (depth > 200 || pos_ >= s_.size()) return false;
        const char c = s_[pos_];
        if (c == '{') return object(v, depth);
        if (c == '[') return array(v, depth);
        if (c == '"') {
            v.kind = JsonValue::Kind::String;
            return string(v.text);
        }
        if (literal("null")) return true;
        if (literal("true") || literal("false")) {
            v.kind = JsonValue::Kind::Bool;
            v.boolean = s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u';
            return true;
        }
        return number(v);
    }

    bool number(JsonValue& v) {
        const std::size_t start = pos_;
        eat('-');
        if (eat('0')) {
        } else if (!digits()) {
            return false;
        }
        if (eat('.') && !digits()) return false;
        if (eat('e') || eat('E')) {
            if (!eat('+')) eat('-');
            if (!digits()) return false;
        }
        v.kind = JsonValue::Kind::Number;
        v.text.assign(s_.substr(start, pos_ - start));
        return true;
    }

    static void utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    bool hex4(std::uint32_t& out) {
        if (pos_ + 4 > s_.size()) return false;
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = s_[pos_++];
            out <<= 4;
            if (h >= '0' && h <= '9') {
                out |= static_cast<std::uint32_t>(h - '0');
            } else if (h >= 'a' && h <= 'f') {
                out |= static_cast<std::uint32_t>(h - 'a' + 10);
            } else if (h >= 'A' && h <= 'F') {
                out |= static_cast<std::uint32_t>(h - 'A' + 10);
            } else {
                return false;
            }
        }
        return true;
    }

    bool string(std::string& out) {
        out.clear();
        if (!eat('"')) return false;
        while (pos_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[pos_++]);
            if (c == '"') return true;
            if (c < 0x20) return false;
            if (c != '\\') {
                out.push_back(static_cast<char>(c));
                continue;
            }
            if (pos_ >= s_.size()) return false;
            const char e = s_[pos_++];
            switch (e) {
                case '"':
                    out.push_back('"');
                    break;
                case '\\':
                    out.push_back('\\');
                    break;
                case '/':
                    out.push_back('/');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00 && eat('\\') && eat('u')) {
                        std::uint32_t lo = 0;
                        if (!hex4(lo) || lo < 0xDC00 || lo >= 0xE000) return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    utf8(out, cp);
                    break;
                }
                default:
                    return false;
            }
        }
        return false;
    }

    bool array(JsonValue& v, int depth) {
        v.kind = JsonValue::Kind::Array;
        eat('[');
        ws();
        if (eat(']')) return true;
        for (;;) {
            JsonValue item;
            ws();
            if (!value(item, depth + 1)) return false;
            v.items.push_back(std::move(item));
            ws();
            if (eat(']')) return true;
            if (!eat(',')) return false;
        }
    }

    bool object(JsonValue& v, int depth) {
        v.kind = JsonValue::Kind::Object;
        eat('{');
        ws();
        if (eat('}')) return true;
        for (;;) {
            std::string key;
            ws();
            if (!string(key)) return false;
            ws();
            if (!eat(':')) return false;
            ws();
            JsonValue item;
            if (!value(item, depth + 1)) return false;
            v.members.push_back({std::move(key), std::move(item)});
            ws();
            if (eat('}')) return true;
            if (!eat(',')) return false;
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace presenceagg::test

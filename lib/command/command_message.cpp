// SPDX-License-Identifier: MIT
#include "command/command_message.hpp"

#include <array>
#include <charconv>
#include <optional>
#include <utility>
#include <vector>

#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <presenceagg/error.hpp>

namespace presenceagg::detail {

namespace {

// RapidJSON 1.1.0 hardening (cpp-integration §4):
// - SAX, recursive, in situ: no reader or document stack is ever grown. (Growing an empty
//   rapidjson::internal::Stack adds an offset to a null pointer, which UBSan reports.)
// - Depth capped by the handler, which keeps the recursive parser's C stack small.
// - Numbers as strings: the exponent arithmetic with known overflows (CVE-2024-38517,
//   CVE-2024-39684) is never reached.
// - Encoding validated, with NUL padding against the lone-lead-byte over-read.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseNumbersAsStringsFlag;
constexpr std::size_t kMaxDepth = 64;
constexpr std::size_t kPadding = 4;
constexpr std::size_t kMaxErrorMessage = 512;

enum class JsonKind { Null, Bool, Number, String, Object, Array };

struct JsonField {
    std::string key;
    JsonKind kind = JsonKind::Null;
    std::string text;  ///< strings and raw numbers; "true"/"false"
};

/// The members of one object; the first of duplicate keys wins (as FindMember would).
struct JsonObject {
    std::vector<JsonField> fields;

    [[nodiscard]] const JsonField* find(std::string_view key) const {
        for (const JsonField& f : fields) {
            if (f.key == key) return &f;
        }
        return nullptr;
    }
};

/// What the decoders need from one JSON text: the root's kind (and text when it is a scalar),
/// and the scalar members of the root object, of its "error" object, and of the first element
/// of a root array. Everything else is validated and skipped.
struct JsonSummary {
    JsonKind root = JsonKind::Null;
    std::string root_text;
    JsonObject object;       ///< the root object's members
    JsonObject error;        ///< root["error"] members
    JsonObject first;        ///< root[0] members
    bool has_first = false;  ///< the root array is not empty
    JsonKind first_kind = JsonKind::Null;
};

class SummaryHandler {
public:
    explicit SummaryHandler(JsonSummary& out)
        : out_(out) {}

    bool Null() { return scalar(JsonKind::Null, {}); }
    bool Bool(bool b) { return scalar(JsonKind::Bool, b ? "true" : "false"); }
    // With kParseNumbersAsStringsFlag only RawNumber is called; the rest satisfy the concept.
    bool Int(int) { return scalar(JsonKind::Number, {}); }
    bool Uint(unsigned) { return scalar(JsonKind::Number, {}); }
    bool Int64(std::int64_t) { return scalar(JsonKind::Number, {}); }
    bool Uint64(std::uint64_t) { return scalar(JsonKind::Number, {}); }
    bool Double(double) { return scalar(JsonKind::Number, {}); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        return scalar(JsonKind::Number, {s, n});
    }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        return scalar(JsonKind::String, {s, n});
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        frames_.back().key.assign(s, n);
        return true;
    }
    bool StartObject() { return open(JsonKind::Object); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool StartArray() { return open(JsonKind::Array); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    [[nodiscard]] bool too_deep() const noexcept { return too_deep_; }

private:
    struct Frame {
        JsonKind kind;
        JsonObject* capture;  // where this object's scalar members go, or null
        std::string key;      // current member key (objects)
        std::size_t count = 0;
    };

    bool scalar(JsonKind kind, std::string_view text) {
        if (frames_.empty()) {
            out_.root = kind;
            out_.root_text.assign(text);
            return true;
        }
        record(kind, text);
        return true;
    }

    void record(JsonKind kind, std::string_view text) {
        Frame& parent = frames_.back();
        if (frames_.size() == 1 && parent.kind == JsonKind::Array && parent.count == 0) {
            out_.has_first = true;
            out_.first_kind = kind;
        }
        ++parent.count;
        if (parent.capture == nullptr || parent.kind != JsonKind::Object) return;
        if (parent.capture->find(parent.key) != nullptr) return;  // first duplicate wins
        parent.capture->fields.push_back(JsonField{parent.key, kind, std::string(text)});
    }

    bool open(JsonKind kind) {
        if (frames_.size() >= kMaxDepth) {
            too_deep_ = true;
            return false;
        }
        JsonObject* capture = nullptr;
        if (frames_.empty()) {
            out_.root = kind;
            if (kind == JsonKind::Object) capture = &out_.object;
        } else {
            const Frame& parent = frames_.back();
            if (kind == JsonKind::Object && frames_.size() == 1) {
                if (parent.kind == JsonKind::Object && parent.key == "error" &&
                    out_.object.find("error") == nullptr) {
                    capture = &out_.error;
                } else if (parent.kind == JsonKind::Array && parent.count == 0) {
                    capture = &out_.first;
                }
            }
            record(kind, {});
        }
        frames_.push_back(Frame{kind, capture, {}, 0});
        return true;
    }

    bool close() {
        frames_.pop_back();
        return true;
    }

    JsonSummary& out_;
    std::vector<Frame> frames_;
    bool too_deep_ = false;
};

std::error_code parse_json(JsonSummary& out, std::string_view json) {
    if (json.size() > kMaxCommandJsonBytes) return make_error_code(Errc::TooLarge);
    // The in-situ stream ends at the first NUL; a raw NUL is never valid JSON anyway.
    if (json.find('\0') != std::string_view::npos) return make_error_code(Errc::InvalidJson);
    std::string buffer;
    buffer.reserve(json.size() + kPadding);
    buffer.assign(json);
    buffer.append(kPadding, '\0');
    rapidjson::InsituStringStream stream(buffer.data());
    rapidjson::Reader reader;
    SummaryHandler handler(out);
    const rapidjson::ParseResult ok = reader.Parse<kParseFlags>(stream, handler);
    if (!ok) {
        if (handler.too_deep()) return make_error_code(Errc::TooDeep);
        return make_error_code(ok.Code() == rapidjson::kParseErrorStringInvalidEncoding
                                   ? Errc::InvalidUtf8
                                   : Errc::InvalidJson);
    }
    return {};
}

std::string_view field_string(const JsonObject& object, std::string_view key) {
    const JsonField* f = object.find(key);
    return f != nullptr && f->kind == JsonKind::String ? std::string_view(f->text)
                                                       : std::string_view();
}

/// Integers arrive as raw text (kParseNumbersAsStringsFlag); a quoted integer is accepted too.
template <class Int>
std::optional<Int> field_integer(const JsonObject& object, std::string_view key) {
    const JsonField* f = object.find(key);
    if (f == nullptr || (f->kind != JsonKind::Number && f->kind != JsonKind::String)) {
        return std::nullopt;
    }
    const std::string& s = f->text;
    Int out{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return out;
}

std::string_view trim(std::string_view s) noexcept {
    constexpr std::string_view kSpace = " \t\r\n\f\v";
    const auto first = s.find_first_not_of(kSpace);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

/// Undoes the `encoding` steps right to left. `text` holds the payload; `is_string` tells whether
/// it is (still) a string payload rather than a JSON value of another type.
std::error_code decode_data(std::string_view encoding, std::string& text, bool& is_string) {
    while (!encoding.empty()) {
        const auto slash = encoding.rfind('/');
        const std::string_view step =
            slash == std::string_view::npos ? encoding : encoding.substr(slash + 1);
        encoding = slash == std::string_view::npos ? std::string_view{} : encoding.substr(0, slash);
        if (!is_string) return make_error_code(Errc::InvalidEncoding);
        if (step == "base64") {
            bool ok = false;
            std::string bytes = command_text::decode_base64(text, ok);
            if (!ok) return make_error_code(Errc::InvalidEncoding);
            text = std::move(bytes);
        } else if (step == "utf-8" || step == "utf8") {
            if (!command_text::is_valid_utf8(text)) return make_error_code(Errc::InvalidUtf8);
        } else if (step == "json") {
            JsonSummary inner;
            if (parse_json(inner, text)) return make_error_code(Errc::InvalidEncoding);
            if (inner.root == JsonKind::String) {
                text = std::move(inner.root_text);
            } else {
                is_string = false;  // an object, array, number, ...: never a command
                text.clear();
            }
        } else {
            return make_error_code(Errc::InvalidEncoding);  // cipher, vcdiff, unknown
        }
    }
    return {};
}

Command classify(std::string_view name, std::string_view data, bool is_string) noexcept {
    if (name != "update" || !is_string) return Command::Other;
    const std::string_view word = trim(data);
    if (word == "start") return Command::Start;
    if (word == "stop") return Command::Stop;
    return Command::Other;
}

CommandDecodeResult decode_object(const JsonObject& object) {
    CommandDecodeResult result;
    CommandMessage& msg = result.message;
    msg.id = field_string(object, "id");
    msg.name = field_string(object, "name");
    msg.channel = field_string(object, "channel");
    msg.timestamp = field_integer<std::int64_t>(object, "timestamp").value_or(0);

    const JsonField* data = object.find("data");
    const JsonField* encoding = object.find("encoding");
    if (encoding != nullptr && encoding->kind != JsonKind::String &&
        encoding->kind != JsonKind::Null) {
        result.error = make_error_code(Errc::WrongType);
        return result;
    }
    // Numbers arrive as raw text (see kParseFlags); only real strings are string payloads.
    bool is_string = data != nullptr && data->kind == JsonKind::String;
    std::string text = is_string ? data->text : std::string();
    if (encoding != nullptr && encoding->kind == JsonKind::String) {
        if (const auto ec = decode_data(encoding->text, text, is_string)) {
            result.error = ec;
            return result;
        }
    }
    msg.command = classify(msg.name, text, is_string);
    return result;
}

}  // namespace

std::string_view to_string(Command command) noexcept {
    switch (command) {
        case Command::Start:
            return "start";
        case Command::Stop:
            return "stop";
        case Command::Other:
            return "other";
    }
    return "other";
}

CommandDecodeResult decode_command_message(std::string_view json) {
    JsonSummary summary;
    if (const auto ec = parse_json(summary, json)) return {ec, {}};
    if (summary.root != JsonKind::Object) return {make_error_code(Errc::WrongType), {}};
    return decode_object(summary.object);
}

CommandHistoryResult decode_command_history(std::string_view json) {
    CommandHistoryResult result;
    JsonSummary summary;
    if (const auto ec = parse_json(summary, json)) {
        result.error = ec;
        return result;
    }
    if (summary.root != JsonKind::Array) {
        result.error = make_error_code(Errc::WrongType);
        return result;
    }
    if (!summary.has_first) return result;
    if (summary.first_kind != JsonKind::Object) {
        result.error = make_error_code(Errc::WrongType);
        return result;
    }
    auto decoded = decode_object(summary.first);  // newest first
    if (decoded.error) {
        result.error = decoded.error;
        return result;
    }
    result.latest = std::move(decoded.message);
    return result;
}

AblyErrorInfo decode_ably_error(std::string_view json) {
    AblyErrorInfo info;
    JsonSummary summary;
    if (parse_json(summary, json) || summary.root != JsonKind::Object) return info;
    const JsonField* inner = summary.object.find("error");
    const JsonObject& object =
        inner != nullptr && inner->kind == JsonKind::Object ? summary.error : summary.object;
    info.code = field_integer<int>(object, "code").value_or(0);
    info.status_code = field_integer<int>(object, "statusCode").value_or(0);
    info.message = field_string(object, "message").substr(0, kMaxErrorMessage);
    return info;
}

std::string_view strip_channel_qualifier(std::string_view channel) noexcept {
    if (channel.empty() || channel.front() != '[') return channel;
    const auto close = channel.find(']');
    return close == std::string_view::npos ? channel : channel.substr(close + 1);
}

namespace command_text {

std::string decode_base64(std::string_view text, bool& ok) {
    static constexpr auto kTable = [] {
        std::array<signed char, 256> t{};
        t.fill(-1);
        constexpr std::string_view kAlphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
            t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
        }
        return t;
    }();
    ok = false;
    // Padding is optional, but if present it must be at the very end and complete a quantum.
    std::size_t len = text.size();
    std::size_t pad = 0;
    while (len > 0 && text[len - 1] == '=' && pad < 2) {
        --len;
        ++pad;
    }
    if (pad > 0 && text.size() % 4 != 0) return {};
    if (len % 4 == 1) return {};
    std::string out;
    out.reserve(len / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < len; ++i) {
        const int v = kTable[static_cast<unsigned char>(text[i])];
        if (v < 0) return {};
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    // Leftover bits of a partial quantum must be zero (canonical encoding).
    if (bits > 0 && (acc & ((1U << bits) - 1)) != 0) return {};
    ok = true;
    return out;
}

bool is_valid_utf8(std::string_view bytes) noexcept {
    std::size_t i = 0;
    const std::size_t n = bytes.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1FU;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0FU;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07U;
            min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(bytes[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

}  // namespace command_text

}  // namespace presenceagg::detail

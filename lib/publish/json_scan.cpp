// SPDX-License-Identifier: MIT
#include "publish/json_scan.hpp"

#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

namespace presenceagg::detail {

namespace {

constexpr unsigned kParseFlags =
    rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;

class TopHandler {
public:
    using Kind = JsonMember::Kind;

    TopHandler(rapidjson::InsituStringStream& stream, std::size_t max_depth)
        : stream_(stream),
          max_depth_(max_depth) {}

    bool Null() { return scalar(Kind::Null, {}); }
    bool Bool(bool b) { return scalar(b ? Kind::True : Kind::False, {}); }
    bool Int(int) { return false; }
    bool Uint(unsigned) { return false; }
    bool Int64(std::int64_t) { return false; }
    bool Uint64(std::uint64_t) { return false; }
    bool Double(double) { return false; }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        return scalar(Kind::Number, {s, n});
    }
    bool String(const char* s, rapidjson::SizeType n, bool) { return scalar(Kind::String, {s, n}); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ == 1) key_.assign(s, n);
        return true;
    }
    bool StartObject() { return open(Kind::Object); }
    bool StartArray() { return open(Kind::Array); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    std::vector<JsonMember> members;

private:
    bool scalar(Kind kind, std::string_view text) {
        if (depth_ == 0) return false;  // the root must be an object
        if (depth_ == 1) members.push_back({key_, kind, std::string(text), 0, 0});
        return true;
    }
    bool open(Kind kind) {
        if (depth_ == 0 && kind != Kind::Object) return false;
        if (++depth_ > max_depth_) return false;
        // Tell() is just past the opening bracket.
        if (depth_ == 2) members.push_back({key_, kind, {}, stream_.Tell() - 1, 0});
        return true;
    }
    bool close() {
        if (depth_ == 2) members.back().end = stream_.Tell();  // just past the closing bracket
        --depth_;
        return true;
    }

    rapidjson::InsituStringStream& stream_;
    std::size_t max_depth_;
    std::size_t depth_ = 0;
    std::string key_;
};

}  // namespace

std::optional<std::vector<JsonMember>> scan_object(std::string_view text, std::size_t max_depth) {
    std::string buffer(text);
    rapidjson::InsituStringStream stream(buffer.data());
    TopHandler handler(stream, max_depth);
    rapidjson::Reader reader;
    if (reader.Parse<kParseFlags>(stream, handler).IsError()) return std::nullopt;
    if (stream.Tell() != text.size()) return std::nullopt;  // an embedded NUL ended it early
    return std::move(handler.members);
}

const JsonMember* find_member(const std::vector<JsonMember>& members,
                              std::string_view key) noexcept {
    for (const auto& m : members) {
        if (m.key == key) return &m;
    }
    return nullptr;
}

}  // namespace presenceagg::detail

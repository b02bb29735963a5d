// SPDX-License-Identifier: MIT
#include "rest/rest_json.hpp"

#include <charconv>

#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <presenceagg/error.hpp>

namespace presenceagg::detail {
namespace {

constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;
constexpr std::size_t kMaxDepth = 32;  // both shapes need 3 levels; a hostile body stops here

using rapidjson::SizeType;

// Runs the in-situ parser over a NUL-terminated copy of `body`; false on any parse error.
template <typename Handler>
bool parse(std::string_view body, Handler& handler) {
    if (body.find('\0') != std::string_view::npos) return false;  // the parser would stop there
    std::string text(body);
    rapidjson::InsituStringStream stream(text.data());
    rapidjson::Reader reader;
    return !reader.Parse<kFlags>(stream, handler).IsError();
}

class ErrorBodyHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ErrorBodyHandler> {
public:
    explicit ErrorBodyHandler(ErrorBody& out)
        : out_(out) {}

    bool Default() {
        key_.clear();
        return true;
    }
    bool RawNumber(const char* s, SizeType n, bool) {
        if (in_error() && key_ == "code") {
            int v = 0;
            const auto [ptr, ec] = std::from_chars(s, s + n, v);
            if (ec == std::errc() && ptr == s + n) out_.code = v;
        }
        return Default();
    }
    bool String(const char* s, SizeType n, bool) {
        if (in_error() && key_ == "message") out_.message.assign(s, n);
        if (in_error() && key_ == "href") out_.href.assign(s, n);
        return Default();
    }
    bool Key(const char* s, SizeType n, bool) {
        key_.assign(s, n);
        return true;
    }
    bool StartObject() {
        if (depth_ == 0) root_object_ = true;
        if (depth_ == 1 && key_ == "error") error_depth_ = 2;
        if (++depth_ > kMaxDepth) return false;
        key_.clear();
        return true;
    }
    bool EndObject(SizeType) {
        if (depth_ == error_depth_) {
            found_ = true;
            error_depth_ = 0;
        }
        --depth_;
        return Default();
    }
    bool StartArray() {
        if (++depth_ > kMaxDepth) return false;
        return Default();
    }
    bool EndArray(SizeType) {
        --depth_;
        return Default();
    }

    [[nodiscard]] bool found() const noexcept { return root_object_ && found_; }

private:
    [[nodiscard]] bool in_error() const noexcept { return error_depth_ != 0 && depth_ == 2; }

    ErrorBody& out_;
    std::string key_;
    std::size_t depth_ = 0;
    std::size_t error_depth_ = 0;
    bool root_object_ = false;
    bool found_ = false;
};

class ChannelListHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ChannelListHandler> {
public:
    ChannelListHandler(std::vector<std::string>& out, std::size_t& skipped)
        : out_(out),
          skipped_(skipped) {}

    bool Default() {  // any scalar that is not a name
        if (depth_ == 0) return not_array();
        if (depth_ == 1) ++skipped_;
        key_is_id_ = false;
        return true;
    }
    bool RawNumber(const char*, SizeType, bool) { return Default(); }
    bool String(const char* s, SizeType n, bool) {
        if (depth_ == 0) return not_array();
        if (depth_ == 1) {
            if (n == 0) {
                ++skipped_;
            } else {
                out_.emplace_back(s, n);
            }
        } else if (depth_ == 2 && key_is_id_ && !named_ && n != 0) {
            out_.emplace_back(s, n);
            named_ = true;
        }
        key_is_id_ = false;
        return true;
    }
    bool Key(const char* s, SizeType n, bool) {
        key_is_id_ = depth_ == 2 && std::string_view(s, n) == "channelId";
        return true;
    }
    bool StartObject() {
        if (depth_ == 0) return not_array();
        if (++depth_ > kMaxDepth) return too_deep();
        if (depth_ == 2) named_ = false;
        key_is_id_ = false;
        return true;
    }
    bool EndObject(SizeType) {
        if (depth_ == 2 && !named_) ++skipped_;
        --depth_;
        key_is_id_ = false;
        return true;
    }
    bool StartArray() {
        if (++depth_ > kMaxDepth) return too_deep();
        key_is_id_ = false;
        return true;
    }
    bool EndArray(SizeType) {
        if (depth_ == 2) ++skipped_;  // an array is not a channel
        --depth_;
        key_is_id_ = false;
        return true;
    }

    std::error_code error;

private:
    bool not_array() {
        error = make_error_code(Errc::WrongType);
        return false;
    }
    bool too_deep() {
        error = make_error_code(Errc::TooDeep);
        return false;
    }

    std::vector<std::string>& out_;
    std::size_t& skipped_;
    std::size_t depth_ = 0;
    bool key_is_id_ = false;
    bool named_ = false;
};

}  // namespace

bool parse_error_body(std::string_view body, ErrorBody& out) {
    ErrorBody parsed;
    ErrorBodyHandler handler(parsed);
    if (!parse(body, handler) || !handler.found()) return false;
    out = std::move(parsed);
    return true;
}

std::error_code parse_channel_list(std::string_view body,
                                   std::vector<std::string>& out,
                                   std::size_t& skipped) {
    std::vector<std::string> names;
    std::size_t bad = 0;
    ChannelListHandler handler(names, bad);
    if (!parse(body, handler)) {
        return handler.error ? handler.error : make_error_code(Errc::InvalidJson);
    }
    out.insert(out.end(), std::make_move_iterator(names.begin()),
               std::make_move_iterator(names.end()));
    skipped += bad;
    return {};
}

}  // namespace presenceagg::detail

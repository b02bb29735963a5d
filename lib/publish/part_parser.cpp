// SPDX-License-Identifier: MIT
#include "publish/part_parser.hpp"

#include <charconv>
#include <limits>

#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include "wire/content_hash.hpp"

namespace presenceagg::detail {

namespace {

// RapidJSON 1.1.0 is driven SAX-style, recursively, in situ over a private copy, numbers as raw
// text: no reader stack is ever grown (growing its empty internal Stack adds an offset to a null
// pointer, which UBSan reports), strings are never copied, number conversion (with its known
// overflows) is never reached, and the handler caps the nesting so recursion stays shallow.
// Raw leaf bytes are cut from the caller's untouched text: the stream's Tell() is exact in the
// Start/End callbacks of objects and arrays, which is where leaves begin and end.
constexpr unsigned kParseFlags =
    rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;
// Levels above a leaf: the data object, the body and the view's path objects.
constexpr std::size_t kStructureDepth = 8;

std::optional<std::uint64_t> parse_uint(std::string_view s) noexcept {
    if (s.empty() || s.size() > 20) return std::nullopt;
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<std::int64_t> parse_int(std::string_view s) noexcept {
    if (s.empty() || s.size() > 21) return std::nullopt;
    std::int64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

enum class Field { Other, V, View, Epoch, Seq, Kind, Base, Part, Parts, Hash, Body };

Field field_of(std::string_view k) noexcept {
    static constexpr std::pair<std::string_view, Field> kFields[] = {
        {"v", Field::V},       {"view", Field::View},   {"epoch", Field::Epoch},
        {"seq", Field::Seq},   {"kind", Field::Kind},   {"base", Field::Base},
        {"part", Field::Part}, {"parts", Field::Parts}, {"hash", Field::Hash},
        {"body", Field::Body}};
    for (const auto& [name, f] : kFields) {
        if (name == k) return f;
    }
    return Field::Other;
}

enum class LeafKey { Other, Id, Timestamp, Members, Suspect };

/// SAX handler over a message's data. Returns false (stopping the parse) with `error` set at
/// the first thing that is not the wire format.
class PartHandler {
public:
    PartHandler(std::string_view text,
                rapidjson::InsituStringStream& stream,
                std::size_t max_leaf_depth)
        : text_(text),
          stream_(stream),
          max_leaf_depth_(max_leaf_depth),
          max_nesting_(kStructureDepth + max_leaf_depth) {}

    bool Null() { return scalar(Scalar::Null, {}); }
    bool Bool(bool b) { return scalar(b ? Scalar::True : Scalar::False, {}); }
    bool Int(int) { return fail("unexpected number"); }
    bool Uint(unsigned) { return fail("unexpected number"); }
    bool Int64(std::int64_t) { return fail("unexpected number"); }
    bool Uint64(std::uint64_t) { return fail("unexpected number"); }
    bool Double(double) { return fail("unexpected number"); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        return scalar(Scalar::Number, std::string_view(s, n));
    }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        return scalar(Scalar::String, std::string_view(s, n));
    }

    bool StartObject() { return open(true); }
    bool StartArray() { return open(false); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    bool Key(const char* s, rapidjson::SizeType n, bool) {
        const std::string_view k(s, n);
        if (skip_ > 0) return true;
        if (in_leaf_) {
            leaf_key_ = LeafKey::Other;
            if (leaf_nesting_ == 1 && leaf_is_object_) {
                if (k == "id")
                    leaf_key_ = LeafKey::Id;
                else if (k == "timestamp")
                    leaf_key_ = LeafKey::Timestamp;
                else if (k == "members")
                    leaf_key_ = LeafKey::Members;
                else if (k == "suspect")
                    leaf_key_ = LeafKey::Suspect;
            }
            return true;
        }
        if (body_depth_ > 0) {
            path_[body_depth_ - 1].assign(k);
            key_given_ = true;
            return true;
        }
        field_ = field_of(k);
        if (field_ == Field::Body && body_seen_) return fail("two bodies");
        return true;
    }

    [[nodiscard]] bool done() const noexcept { return done_; }
    ParsedPart& part() noexcept { return part_; }
    std::string error;

    // Header completeness, checked after a successful parse.
    [[nodiscard]] bool complete(std::string& why) const {
        if (!have_v_)
            why = "missing or unsupported \"v\"";
        else if (!have_view_)
            why = "missing \"view\"";
        else if (!have_epoch_)
            why = "missing \"epoch\"";
        else if (!have_seq_ || part_.seq == 0)
            why = "missing \"seq\"";
        else if (!have_kind_)
            why = "missing \"kind\"";
        else if (!part_.snapshot && !have_base_)
            why = "diff without \"base\"";
        else if (!have_part_ || !have_parts_ || part_.parts == 0 || part_.part >= part_.parts)
            why = "bad \"part\"/\"parts\"";
        else if (!have_hash_)
            why = "missing \"hash\"";
        else if (!body_seen_)
            why = "missing \"body\"";
        else
            return true;
        return false;
    }

private:
    enum class Scalar { Null, True, False, Number, String };

    bool fail(std::string why) {
        if (error.empty()) error = std::move(why);
        return false;
    }

    bool open(bool object) {
        if (++nesting_ > max_nesting_) return fail("nested too deeply");
        if (skip_ > 0) {
            ++skip_;
            return true;
        }
        if (in_leaf_) {
            if (++leaf_nesting_ > max_leaf_depth_) return fail("leaf nested too deeply");
            return true;
        }
        if (body_depth_ > 0) {
            if (!key_given_) return fail("body objects must hold keys");
            key_given_ = false;
            // Tell() is just past the opening bracket.
            if (body_depth_ == depth_) return begin_leaf(stream_.Tell() - 1, 1, object);
            if (!object) return fail("arrays are not allowed above the leaves");
            ++body_depth_;
            return true;
        }
        if (!top_open_) {
            if (done_ || !object) return fail("data must be one JSON object");
            top_open_ = true;
            return true;
        }
        if (field_ == Field::Body) {
            if (!object) return fail("\"body\" must be an object");
            if (!have_view_) return fail("\"view\" must precede \"body\"");
            body_seen_ = true;
            body_depth_ = 1;
            key_given_ = false;
            return true;
        }
        if (field_ != Field::Other) return fail("a header field has the wrong type");
        skip_ = 1;
        return true;
    }

    bool close() {
        --nesting_;
        if (skip_ > 0) {
            --skip_;
            return true;
        }
        if (in_leaf_) {
            // Tell() is just past the closing bracket.
            if (--leaf_nesting_ == 0) return end_leaf(stream_.Tell());
            return true;
        }
        if (body_depth_ > 0) {
            --body_depth_;
            key_given_ = false;
            return true;
        }
        top_open_ = false;
        done_ = true;
        return true;
    }

    bool scalar(Scalar kind, std::string_view text) {
        if (skip_ > 0) return true;
        if (in_leaf_) {
            if (leaf_nesting_ == 1 && leaf_is_object_) {
                switch (leaf_key_) {
                    case LeafKey::Id:
                        if (kind == Scalar::String) {
                            leaf_id_ = text;
                            have_id_ = true;
                        }
                        break;
                    case LeafKey::Timestamp:
                        if (kind == Scalar::Number) {
                            if (auto v = parse_int(text)) {
                                leaf_ts_ = *v;
                                have_ts_ = true;
                            }
                        }
                        break;
                    case LeafKey::Members:
                        if (kind == Scalar::Number) {
                            if (auto v = parse_int(text)) {
                                leaf_members_ = *v;
                                have_members_ = true;
                            }
                        }
                        break;
                    case LeafKey::Suspect:
                        leaf_suspect_ = kind == Scalar::True;
                        if (kind != Scalar::True && kind != Scalar::False) bad_suspect_ = true;
                        break;
                    case LeafKey::Other:
                        break;
                }
                leaf_key_ = LeafKey::Other;
            }
            return true;
        }
        if (body_depth_ > 0) {
            if (!key_given_ || body_depth_ != depth_) return fail("a leaf above the view's depth");
            key_given_ = false;
            // Only numbers (totals) and null (a removal) are scalar leaves; their bytes are
            // their text.
            if (kind == Scalar::Null) {
                begin_leaf(0, 0, false);
                removed_ = true;
                return end_leaf(0, "null");
            }
            if (kind != Scalar::Number) return fail("a leaf must be an object, a number or null");
            begin_leaf(0, 0, false);
            if (auto v = parse_int(text)) {
                leaf_number_ = *v;
                have_number_ = true;
            }
            return end_leaf(0, text);
        }
        if (!top_open_) return fail("data must be one JSON object");
        return header(kind, text);
    }

    bool header(Scalar kind, std::string_view text) {
        const auto need = [&](Scalar k) { return kind == k; };
        switch (field_) {
            case Field::Other:
                return true;
            case Field::Body:
                return fail("\"body\" must be an object");
            case Field::V:
                if (!need(Scalar::Number) || text != "1") return fail("unsupported \"v\"");
                have_v_ = true;
                return true;
            case Field::View: {
                const auto v = need(Scalar::String) ? parse_view(text) : std::nullopt;
                if (!v) return fail("unknown \"view\"");
                if (body_seen_ && *v != part_.view) return fail("\"view\" changed after \"body\"");
                part_.view = *v;
                depth_ = view_depth(*v);
                have_view_ = true;
                return true;
            }
            case Field::Epoch: {
                const auto e = need(Scalar::String) ? parse_hex64(text) : std::nullopt;
                if (!e) return fail("bad \"epoch\"");
                part_.epoch = *e;
                have_epoch_ = true;
                return true;
            }
            case Field::Hash: {
                const auto h = need(Scalar::String) ? parse_hex64(text) : std::nullopt;
                if (!h) return fail("bad \"hash\"");
                part_.hash = *h;
                have_hash_ = true;
                return true;
            }
            case Field::Kind:
                if (need(Scalar::String) && text == "snapshot") {
                    part_.snapshot = true;
                } else if (need(Scalar::String) && text == "diff") {
                    part_.snapshot = false;
                } else {
                    return fail("bad \"kind\"");
                }
                have_kind_ = true;
                return true;
            case Field::Seq:
            case Field::Base:
            case Field::Part:
            case Field::Parts: {
                const auto n = need(Scalar::Number) ? parse_uint(text) : std::nullopt;
                if (!n) return fail("bad number in the header");
                switch (field_) {
                    case Field::Seq:
                        part_.seq = *n, have_seq_ = true;
                        break;
                    case Field::Base:
                        part_.base = *n, have_base_ = true;
                        break;
                    case Field::Part:
                        part_.part = *n, have_part_ = true;
                        break;
                    default:
                        part_.parts = *n, have_parts_ = true;
                        break;
                }
                return true;
            }
        }
        return true;
    }

    bool begin_leaf(std::size_t start, std::size_t nesting, bool object) {
        leaf_start_ = start;
        in_leaf_ = true;
        leaf_nesting_ = nesting;
        leaf_is_object_ = object;
        leaf_key_ = LeafKey::Other;
        have_id_ = have_ts_ = have_members_ = have_number_ = false;
        leaf_suspect_ = bad_suspect_ = removed_ = false;
        return true;
    }

    /// `scalar_text` is the leaf's text for scalar leaves; object and array leaves are cut from
    /// the source between leaf_start_ and `end`.
    bool end_leaf(std::size_t end, std::optional<std::string_view> scalar_text = std::nullopt) {
        in_leaf_ = false;
        if (!scalar_text && (end < leaf_start_ || end > text_.size())) {
            return fail("internal: leaf bounds");
        }
        ParsedLeaf leaf;
        leaf.path[0] = path_[0];
        leaf.path[1] = path_[1];
        if (depth_ == 3) leaf.path[2] = path_[2];
        leaf.raw.assign(scalar_text ? *scalar_text : text_.substr(leaf_start_, end - leaf_start_));
        leaf.removed = removed_;
        if (!removed_) {
            if (is_member_view(part_.view)) {
                if (!leaf_is_object_ || !have_id_ || !have_ts_) {
                    return fail("a member leaf needs \"id\" and an integer \"timestamp\"");
                }
                const auto who = member_identity(part_.view, leaf.path);
                leaf.hash = member_leaf_hash(who.channel, who.client_id, who.connection_id,
                                             leaf_id_, leaf_ts_);
            } else if (leaf.path[0] == "channels") {
                if (!leaf_is_object_ || !have_members_ || bad_suspect_) {
                    return fail("a channel count leaf needs an integer \"members\"");
                }
                leaf.hash = channel_count_leaf_hash(leaf.path[1], leaf_members_, leaf_suspect_);
            } else if (leaf.path[0] == "totals") {
                if (!have_number_) return fail("a total must be an integer");
                leaf.hash = total_leaf_hash(leaf.path[1], leaf_number_);
            } else {
                return fail("counts leaves live under \"channels\" or \"totals\"");
            }
        }
        part_.leaf_bytes += leaf.raw.size();
        part_.leaves.push_back(std::move(leaf));
        return true;
    }

    std::string_view text_;
    rapidjson::InsituStringStream& stream_;
    std::size_t max_leaf_depth_;
    std::size_t max_nesting_;
    std::size_t nesting_ = 0;
    ParsedPart part_;

    bool top_open_ = false;
    bool done_ = false;
    Field field_ = Field::Other;
    std::size_t skip_ = 0;
    bool have_v_ = false, have_view_ = false, have_epoch_ = false, have_seq_ = false;
    bool have_kind_ = false, have_base_ = false, have_part_ = false, have_parts_ = false;
    bool have_hash_ = false, body_seen_ = false;

    std::size_t depth_ = 3;
    std::size_t body_depth_ = 0;  // open objects of the body, the body itself included
    bool key_given_ = false;
    LeafPath path_;

    bool in_leaf_ = false;
    bool leaf_is_object_ = false;
    std::size_t leaf_nesting_ = 0;
    std::size_t leaf_start_ = 0;
    LeafKey leaf_key_ = LeafKey::Other;
    std::string leaf_id_;
    std::int64_t leaf_ts_ = 0, leaf_members_ = 0, leaf_number_ = 0;
    bool have_id_ = false, have_ts_ = false, have_members_ = false, have_number_ = false;
    bool leaf_suspect_ = false, bad_suspect_ = false, removed_ = false;
};

}  // namespace

std::optional<std::uint64_t> parse_hex64(std::string_view s) noexcept {
    if (s.size() != 16) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= static_cast<std::uint64_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= static_cast<std::uint64_t>(c - 'a' + 10);
        else
            return std::nullopt;
    }
    return v;
}

std::optional<ParsedPart> parse_part(std::string_view data,
                                     std::size_t max_leaf_depth,
                                     std::string& error) {
    std::string buffer(data);  // parsed in situ; `data` stays intact for the leaf bytes
    rapidjson::InsituStringStream stream(buffer.data());
    PartHandler handler(data, stream, max_leaf_depth);
    rapidjson::Reader reader;
    const auto result = reader.Parse<kParseFlags>(stream, handler);
    if (result.IsError()) {
        error = !handler.error.empty()
                    ? handler.error
                    : "invalid JSON at offset " + std::to_string(result.Offset());
        return std::nullopt;
    }
    if (stream.Tell() != data.size()) {
        error = "NUL byte inside the data";
        return std::nullopt;
    }
    if (!handler.done() || !handler.complete(error)) {
        if (error.empty()) error = "incomplete data";
        return std::nullopt;
    }
    return std::move(handler.part());
}

}  // namespace presenceagg::detail

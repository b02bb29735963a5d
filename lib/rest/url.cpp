// SPDX-License-Identifier: MIT
#include "rest/url.hpp"

#include <vector>

namespace presenceagg::detail {
namespace {

bool is_unreserved(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

bool ieq(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// True when a `rel` parameter value (possibly a space-separated list) names "next".
bool rel_has_next(std::string_view value) {
    value = trim(value);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
    }
    while (!value.empty()) {
        const auto space = value.find(' ');
        if (ieq(value.substr(0, space), "next")) return true;
        if (space == std::string_view::npos) break;
        value.remove_prefix(space + 1);
    }
    return false;
}

// Removes "." and ".." segments from an absolute path ("/a/./b/../c" -> "/a/c").
std::string normalize_path(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t pos = 1;  // path starts with '/'
    while (pos <= path.size()) {
        auto end = path.find('/', pos);
        if (end == std::string_view::npos) end = path.size();
        const auto seg = path.substr(pos, end - pos);
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
        } else if (seg != "." && !(seg.empty() && end != path.size())) {
            segments.push_back(seg);
        }
        pos = end + 1;
    }
    std::string out;
    for (const auto seg : segments) {
        out.push_back('/');
        out.append(seg);
    }
    if (out.empty()) out.push_back('/');  // (not `out = "/"`: GCC 12 -Wrestrict false positive)
    return out;
}

}  // namespace

std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    }
    return out;
}

std::optional<std::string> find_next_link(std::string_view value) {
    // link-value = "<" URI ">" *( ";" param ); values separated by ",". Commas inside <...> are
    // part of the URI, so scan bracket by bracket.
    std::size_t pos = 0;
    while (pos < value.size()) {
        const auto open = value.find('<', pos);
        if (open == std::string_view::npos) return std::nullopt;
        const auto close = value.find('>', open + 1);
        if (close == std::string_view::npos) return std::nullopt;
        const auto target = value.substr(open + 1, close - open - 1);
        auto params_end = value.find('<', close + 1);
        if (params_end == std::string_view::npos) params_end = value.size();
        auto params = value.substr(close + 1, params_end - close - 1);
        while (!params.empty()) {
            auto semi = params.find(';');
            auto param = trim(params.substr(0, semi));
            if (!param.empty() && param.back() == ',')
                param = trim(param.substr(0, param.size() - 1));
            const auto eq = param.find('=');
            if (eq != std::string_view::npos && ieq(trim(param.substr(0, eq)), "rel") &&
                rel_has_next(param.substr(eq + 1))) {
                return std::string(target);
            }
            if (semi == std::string_view::npos) break;
            params.remove_prefix(semi + 1);
        }
        pos = params_end;
    }
    return std::nullopt;
}

std::optional<std::string> resolve_link(std::string_view request_path,
                                        std::string_view target,
                                        std::string_view base_url) {
    target = trim(target);
    if (target.empty()) return std::nullopt;
    if (target.starts_with("http://") || target.starts_with("https://")) {
        if (base_url.empty() || !target.starts_with(base_url)) return std::nullopt;
        target.remove_prefix(base_url.size());
        if (target.empty() || (target.front() != '/' && target.front() != '?')) return std::nullopt;
    }
    for (const char c : target) {
        // Control characters or spaces would let a hostile header smuggle bytes into the URL.
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
    }
    const auto request_query = request_path.find('?');
    const auto path_only = request_path.substr(0, request_query);
    std::string joined;
    if (target.front() == '/') {
        joined = std::string(target);
    } else if (target.front() == '?') {
        joined = std::string(path_only).append(target);
    } else {
        const auto slash = path_only.rfind('/');
        joined = slash == std::string_view::npos ? std::string("/")
                                                 : std::string(path_only.substr(0, slash + 1));
        joined.append(target);
    }
    const auto query = joined.find('?');
    std::string out = normalize_path(std::string_view(joined).substr(0, query));
    if (query != std::string::npos) out.append(joined, query);
    return out;
}

}  // namespace presenceagg::detail

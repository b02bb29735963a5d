// SPDX-License-Identifier: MIT
#include "channel_enumerator.hpp"

#include <algorithm>
#include <optional>

#include "json_util.hpp"

namespace presenceagg::standin {

namespace {

struct Cursor {
    std::uint64_t walk = 0;
    std::uint64_t page = 0;
    bool has_after = false;
    std::string after;
};

// Cursor text (before base64url): "<walk>.<page>.<0|1><after>".
std::optional<Cursor> parse_cursor(const std::string& text) {
    const auto raw = base64_decode(text);
    if (!raw) return std::nullopt;
    const auto dot1 = raw->find('.');
    if (dot1 == std::string::npos) return std::nullopt;
    const auto dot2 = raw->find('.', dot1 + 1);
    if (dot2 == std::string::npos || dot2 + 1 >= raw->size()) return std::nullopt;
    const auto walk = parse_int(std::string_view(*raw).substr(0, dot1));
    const auto page = parse_int(std::string_view(*raw).substr(dot1 + 1, dot2 - dot1 - 1));
    const char flag = (*raw)[dot2 + 1];
    if (!walk || !page || (flag != '0' && flag != '1')) return std::nullopt;
    Cursor c;
    c.walk = static_cast<std::uint64_t>(*walk);
    c.page = static_cast<std::uint64_t>(*page);
    c.has_after = flag == '1';
    c.after = raw->substr(dot2 + 2);
    return c;
}

}  // namespace

ChannelEnumerator::ChannelEnumerator(const ChannelStore& store, RequestStats& stats)
    : store_(store),
      stats_(stats) {}

void ChannelEnumerator::configure(const EnumerationSettings& settings) {
    const std::lock_guard lock(mutex_);
    settings_ = settings;
    rng_.seed(settings.seed);
}

EnumerationSettings ChannelEnumerator::settings() const {
    const std::lock_guard lock(mutex_);
    return settings_;
}

void ChannelEnumerator::reset() {
    const std::lock_guard lock(mutex_);
    settings_ = EnumerationSettings{};
    walks_.clear();
    rng_.seed(settings_.seed);
}

std::string ChannelEnumerator::make_cursor(std::uint64_t walk,
                                           std::uint64_t page,
                                           const std::string* after) {
    std::string raw = std::to_string(walk) + "." + std::to_string(page) + ".";
    raw += after != nullptr ? "1" + *after : std::string("0");
    return base64url_encode(raw);
}

EnumerationPage ChannelEnumerator::page(std::string_view prefix,
                                        std::size_t limit,
                                        const std::string& cursor_text) {
    EnumerationPage out;
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mutex_);
    const auto timeout = std::chrono::milliseconds(settings_.walk_timeout_ms);
    std::erase_if(walks_, [&](const auto& w) { return now - w.second.last_activity > timeout; });

    Cursor cursor;
    if (cursor_text.empty()) {
        if (settings_.single_flight && !walks_.empty()) {
            stats_.add("enumeration", "rejected_42912");
            out.status = 429;
            out.code = 42912;
            out.message = "Channel enumeration is already in progress for this app; retry later";
            return out;
        }
        cursor.walk = next_walk_++;
        walks_[cursor.walk].last_activity = now;
        stats_.add("enumeration", "walks_started");
    } else {
        const auto parsed = parse_cursor(cursor_text);
        if (!parsed || walks_.count(parsed->walk) == 0) {
            stats_.add("enumeration", "invalid_cursor_40011");
            out.status = 400;
            out.code = 40011;
            out.message = "Channel enumeration cursor is no longer valid; restart the enumeration";
            return out;
        }
        cursor = *parsed;
    }
    Walk& walk = walks_[cursor.walk];
    walk.last_activity = now;

    if (settings_.invalidate_after_pages > 0 && settings_.invalidate_times != 0 &&
        cursor.page >= static_cast<std::uint64_t>(settings_.invalidate_after_pages)) {
        walks_.erase(cursor.walk);
        if (settings_.invalidate_times > 0 && --settings_.invalidate_times == 0) {
            settings_.invalidate_after_pages = 0;
        }
        stats_.add("enumeration", "invalidated_40011");
        out.status = 400;
        out.code = 40011;
        out.message = "Channel enumeration was invalidated by a cluster change; restart it";
        return out;
    }

    if (settings_.empty_pages && cursor.page % 2 == 1) {
        out.next_cursor =
            make_cursor(cursor.walk, cursor.page + 1, cursor.has_after ? &cursor.after : nullptr);
        stats_.add("enumeration", "pages");
        return out;
    }

    const std::vector<std::string> names = store_.active_channels(prefix);
    auto pos = cursor.has_after ? std::upper_bound(names.begin(), names.end(), cursor.after)
                                : names.begin();
    std::size_t take = std::max<std::size_t>(limit, 1);
    if (settings_.page_size_cap > 0) take = std::min(take, settings_.page_size_cap);
    const auto remaining = static_cast<std::size_t>(names.end() - pos);
    take = std::min(take, remaining);

    if (settings_.duplicate_rate > 0.0 && cursor.page > 0 &&
        walk.previous_index + 1 == cursor.page) {
        std::bernoulli_distribution dup(std::min(settings_.duplicate_rate, 1.0));
        for (const std::string& n : walk.previous_page) {
            if (dup(rng_)) {
                out.names.push_back(n);
                stats_.add("enumeration", "duplicates");
            }
        }
    }
    out.names.insert(out.names.end(), pos, pos + static_cast<std::ptrdiff_t>(take));
    stats_.add("enumeration", "pages");
    if (take < remaining) {
        const std::string& last = *(pos + static_cast<std::ptrdiff_t>(take) - 1);
        out.next_cursor = make_cursor(cursor.walk, cursor.page + 1, take > 0 ? &last : nullptr);
        walk.previous_page.assign(pos, pos + static_cast<std::ptrdiff_t>(take));
        walk.previous_index = cursor.page;
    } else {
        walks_.erase(cursor.walk);
        stats_.add("enumeration", "walks_completed");
    }
    return out;
}

}  // namespace presenceagg::standin

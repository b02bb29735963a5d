// SPDX-License-Identifier: MIT
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <presenceagg/demo.hpp>

namespace presenceagg {
namespace {

constexpr std::size_t kColumns = 80;
constexpr std::string_view kIndent = "           ";  // under the 11-column row labels
// Same order as View; spelled here so the summary needs nothing from the core.
constexpr std::array<std::string_view, 4> kViewNames = {"by-channel", "by-client", "by-connection",
                                                        "counts"};

std::string with_commas(std::uint64_t v) {
    std::string digits = std::to_string(v);
    std::string out;
    out.reserve(digits.size() + digits.size() / 3);
    const std::size_t lead = digits.size() % 3;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (i % 3) == lead) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string fixed1(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

std::string human_bytes(std::uint64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes) + " B";
    static constexpr std::string_view kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (v >= 1024.0 && unit + 1 < std::size(kUnits)) {
        v /= 1024.0;
        ++unit;
    }
    return fixed1(v) + " " + std::string(kUnits[unit]);
}

std::string duration_hms(std::chrono::seconds d) {
    const auto total = d.count() < 0 ? 0 : d.count();
    char buf[48];
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
    return buf;
}

std::string millis(std::chrono::microseconds us) {
    return fixed1(static_cast<double>(us.count()) / 1000.0) + " ms";
}

std::string pad_left(std::string_view s, std::size_t width) {
    std::string out;
    if (s.size() < width) out.assign(width - s.size(), ' ');
    out += s;
    return out;
}

std::string pad_right(std::string_view s, std::size_t width) {
    std::string out(s);
    if (out.size() < width) out.append(width - out.size(), ' ');
    return out;
}

/// Cuts `line` to `columns` terminal columns, counting UTF-8 sequences, not bytes.
void clip(std::string& line, std::size_t columns) {
    std::size_t seen = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
        if (seen++ == columns) {
            line.resize(i);
            return;
        }
    }
}

class Screen {
public:
    void add(std::string line) {
        clip(line, kColumns);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        lines_.push_back(std::move(line));
    }

    [[nodiscard]] std::string render(SummaryStyle style) const {
        std::string out;
        const bool ansi = style == SummaryStyle::InPlace;
        if (ansi) out += "\x1b[H";  // cursor home; overwrite instead of clearing: no flicker
        for (const std::string& line : lines_) {
            out += line;
            if (ansi) out += "\x1b[K";  // clear what a longer previous line left
            out += '\n';
        }
        if (ansi) out += "\x1b[J";  // and any previous lines below
        return out;
    }

private:
    std::vector<std::string> lines_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

EventRateTracker::EventRateTracker(std::chrono::milliseconds window)
    : window_(window) {}

double EventRateTracker::update(std::uint64_t total, Clock::time_point now) {
    if (!samples_.empty() && (total < samples_.back().second || now < samples_.back().first)) {
        samples_.clear();
    }
    samples_.emplace_back(now, total);
    // Keep the newest sample that is at least a window old as the anchor.
    while (samples_.size() > 2 && now - samples_[1].first >= window_) samples_.pop_front();
    const auto& [t0, n0] = samples_.front();
    const double seconds = std::chrono::duration<double>(now - t0).count();
    rate_ = seconds > 0.0 ? static_cast<double>(total - n0) / seconds : 0.0;
    return rate_;
}

std::string render_summary(const Stats& stats, const SummaryExtras& extras) {
    Screen screen;
    const std::string_view sep = " · ";
    {
        std::string title = extras.title;
        title += sep;
        title += "up " + duration_hms(extras.uptime);
        title += sep;
        title += stats.collecting ? "collecting" : "idle";
        title += sep;
        title += stats.source_connected ? "source connected" : "source disconnected";
        if (!stats.last_publish_ok) {
            title += sep;
            title += "LAST PUBLISH FAILED";
        }
        screen.add(std::move(title));
    }
    screen.add(std::string(kColumns, '-'));

    const Counts& c = stats.counts;
    screen.add("Presence   " + with_commas(c.members) + " members  " + with_commas(c.clients) +
               " clients  " + with_commas(c.connections) + " connections  " +
               with_commas(c.channels) + " channels");
    if (extras.expected_members) {
        const std::size_t expected = *extras.expected_members;
        std::string line = std::string(kIndent) + "simulation expects " + with_commas(expected);
        if (expected == c.members) {
            line += " (in sync)";
        } else {
            const auto diff = static_cast<long long>(c.members) - static_cast<long long>(expected);
            line +=
                " (converging, " + std::string(diff > 0 ? "+" : "") + std::to_string(diff) + ")";
        }
        screen.add(std::move(line));
    }

    const auto& a = stats.by_action;
    const auto action = [&](PresenceAction pa) { return a[static_cast<std::size_t>(pa)]; };
    screen.add("Events     " + with_commas(stats.presence_events) + " presence  " +
               fixed1(extras.events_per_second) + "/s  enter " +
               with_commas(action(PresenceAction::Enter)) + "  update " +
               with_commas(action(PresenceAction::Update)) + "  leave " +
               with_commas(action(PresenceAction::Leave)));
    screen.add(std::string(kIndent) + "present " + with_commas(action(PresenceAction::Present)) +
               "  absent " + with_commas(action(PresenceAction::Absent)) + "  occupancy " +
               with_commas(stats.occupancy_events));

    screen.add("Queue      " + with_commas(stats.queue_bodies) + " bodies  decode errors " +
               with_commas(stats.decode_errors) + "  filtered " +
               with_commas(stats.filtered_events) + "  ignored " +
               with_commas(stats.ignored_sources));
    screen.add(std::string(kIndent) + "deliveries " + with_commas(stats.queue.deliveries) +
               "  acks " + with_commas(stats.queue.acks) + "  rejects " +
               with_commas(stats.queue.rejects) + "  requeues " +
               with_commas(stats.queue.requeues));

    const StoreStats& st = stats.store;
    screen.add("Store      applied " + with_commas(st.applied) + "  duplicates " +
               with_commas(st.duplicate) + "  stale " + with_commas(st.stale) + "  rejected " +
               with_commas(st.rejected));
    screen.add(std::string(kIndent) + "tombstones " + with_commas(st.tombstones) + "  resyncs " +
               with_commas(stats.resyncs) + "  suspect channels " +
               with_commas(stats.suspect_channels));

    // Publish table: 11 label + 13 view + 10 publishes + 13 snap/diff + 10 parts + 12 bytes
    // + 6 last = 75 columns.
    screen.add("Publish    " + pad_right("view", 13) + pad_left("publishes", 10) +
               pad_left("snap/diff", 13) + pad_left("parts", 10) + pad_left("bytes", 12) +
               "  last");
    PublishViewStats total;
    for (std::size_t v = 0; v < stats.publish.size(); ++v) {
        const PublishViewStats& p = stats.publish[v];
        total.publishes += p.publishes;
        total.messages += p.messages;
        total.bytes += p.bytes;
        total.failures += p.failures;
        screen.add(std::string(kIndent) + pad_right(kViewNames[v], 13) +
                   pad_left(with_commas(p.publishes), 10) +
                   pad_left(with_commas(p.snapshots) + "/" + with_commas(p.diffs), 13) +
                   pad_left(with_commas(p.messages), 10) + pad_left(human_bytes(p.bytes), 12) +
                   (p.publishes == 0 && p.failures == 0 ? "  -"
                    : p.last_ok                         ? "  ok"
                                                        : "  FAIL"));
    }
    screen.add(std::string(kIndent) + pad_right("total", 13) +
               pad_left(with_commas(total.publishes), 10) + pad_left("", 13) +
               pad_left(with_commas(total.messages), 10) + pad_left(human_bytes(total.bytes), 12) +
               (total.failures > 0 ? "  " + with_commas(total.failures) + " failed" : ""));

    if (extras.native_fanout_messages) {
        const std::uint64_t native = *extras.native_fanout_messages;
        screen.add("Fan-out    native presence fan-out would have cost " + with_commas(native) +
                   " messages");
        std::string line =
            std::string(kIndent) + "vs " + with_commas(total.messages) + " published";
        if (total.messages > 0 && native > 0) {
            const double ratio = static_cast<double>(native) / static_cast<double>(total.messages);
            line +=
                " (" +
                (ratio >= 10.0 ? with_commas(static_cast<std::uint64_t>(ratio)) : fixed1(ratio)) +
                "x fewer)";
        }
        screen.add(std::move(line));
    }

    screen.add("Ticks      " + with_commas(stats.ticks) + "  last " +
               millis(stats.last_tick_duration) + "  max " + millis(stats.max_tick_duration));
    if (!extras.footer.empty()) screen.add(extras.footer);
    return screen.render(extras.style);
}

}  // namespace presenceagg

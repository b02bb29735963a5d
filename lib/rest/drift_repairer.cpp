// SPDX-License-Identifier: MIT
#include "rest/drift_repairer.hpp"

#include <algorithm>

#include <presenceagg/error.hpp>

namespace presenceagg::detail {
namespace {

constexpr std::string_view kComponent = "rest";
constexpr unsigned kMaxBackoffDoublings = 6;  // debounce * 64 at most (16 min at 15 s)

}  // namespace

DriftRepairer::DriftRepairer(AblyEndpoint ably,
                             DriftRepairConfig config,
                             std::regex filter,
                             PresenceStore& store,
                             RateLimiter& limiter,
                             Logger log)
    : config_(config),
      filter_(std::move(filter)),
      store_(store),
      limiter_(limiter),
      log_(std::move(log)),
      client_(std::move(ably)) {
    client_.set_gate([this] { return limiter_.acquire(stop_); });
}

bool DriftRepairer::matches(std::string_view channel) const {
    try {
        return std::regex_search(channel.begin(), channel.end(), filter_);
    } catch (const std::regex_error&) {
        return false;
    }
}

void DriftRepairer::on_occupancy(const OccupancyMessage& message, Clock::time_point now) {
    if (message.channel.empty() || !matches(message.channel)) return;
    const std::lock_guard lock(mutex_);
    auto [it, inserted] = occupancy_.try_emplace(message.channel);
    auto& entry = it->second;
    if (!inserted && message.timestamp != 0 && entry.event_time != 0 &&
        message.timestamp < entry.event_time) {
        return;  // a late, reordered report
    }
    const auto members = message.metrics.presence_members;
    if (inserted || members != entry.members) {
        entry.members = members;
        entry.reported = now;
        entry.misses = 0;
        entry.last_attempt.reset();
    }
    if (message.timestamp != 0) entry.event_time = message.timestamp;
}

void DriftRepairer::set_suspect(const std::string& channel, bool suspect) {
    bool changed = false;
    {
        const std::lock_guard lock(mutex_);
        changed = suspect ? suspect_.insert(channel).second : suspect_.erase(channel) > 0;
    }
    if (changed) store_.set_suspect(channel, suspect);
}

std::vector<std::string> DriftRepairer::due(Clock::time_point now) {
    std::vector<std::string> out;
    std::vector<std::pair<std::string, bool>> flag;  // suspect changes, applied unlocked
    {
        const std::lock_guard lock(mutex_);
        for (auto it = occupancy_.begin(); it != occupancy_.end();) {
            auto& e = it->second;
            if (now - e.reported < config_.occupancy_debounce) {
                ++it;
                continue;
            }
            const auto have = static_cast<std::int64_t>(store_.channel_members(it->first));
            if (have == e.members) {
                if (suspect_.erase(it->first) > 0) flag.emplace_back(it->first, false);
                e.misses = 0;
                if (e.members == 0) {
                    it = occupancy_.erase(it);  // nothing to watch: keep the map small
                    continue;
                }
                ++it;
                continue;
            }
            if (e.last_attempt) {
                const auto wait =
                    config_.occupancy_debounce * (1LL << std::min(e.misses, kMaxBackoffDoublings));
                if (now - *e.last_attempt < wait) {
                    ++it;
                    continue;
                }
            }
            if (suspect_.insert(it->first).second) flag.emplace_back(it->first, true);
            out.push_back(it->first);
            ++it;
        }
    }
    for (const auto& [channel, suspect] : flag) store_.set_suspect(channel, suspect);
    return out;
}

bool DriftRepairer::repair(std::string_view channel, std::stop_token stop, Clock::time_point now) {
    const std::string name(channel);
    ChannelPresenceResult answer;
    std::size_t removed = 0;
    {
        const std::lock_guard lock(repair_mutex_);
        stop_ = stop;
        client_.set_stop_token(stop);
        // Anything applied after this watermark is newer than the fetch and survives it.
        const auto since = store_.sequence();
        answer = client_.channel_presence(name);
        if (answer.error.ok()) removed = store_.replace_channel(name, answer.members, since);
    }
    {
        const std::lock_guard lock(mutex_);
        if (auto it = occupancy_.find(name); it != occupancy_.end()) {
            it->second.last_attempt = now;
            ++it->second.misses;
        }
    }
    if (!answer.error.ok()) {
        if (answer.error.error == Errc::Cancelled) return false;
        ++failures_;
        set_suspect(name, true);
        log_.log(LogLevel::Warn, kComponent, "drift repair fetch failed",
                 {{"channel", name}, {"error", answer.error.describe()}});
        return false;
    }
    ++resyncs_;
    removed_ += removed;
    set_suspect(name, false);
    if (removed != 0 || log_.enabled(LogLevel::Debug)) {
        log_.log(removed != 0 ? LogLevel::Info : LogLevel::Debug, kComponent, "channel resynced",
                 {{"channel", name},
                  {"members", std::to_string(answer.members.size())},
                  {"removed", std::to_string(removed)}});
    }
    return true;
}

std::size_t DriftRepairer::repair_due(Clock::time_point now, std::stop_token stop) {
    std::size_t ok = 0;
    for (const auto& channel : due(now)) {
        if (stop.stop_requested()) break;
        if (repair(channel, stop, now)) ++ok;
    }
    return ok;
}

std::size_t DriftRepairer::verify_sample(Clock::time_point now, std::stop_token stop) {
    if (config_.verify_interval.count() <= 0 || config_.verify_sample == 0) return 0;
    std::vector<std::string> picked;
    {
        const std::lock_guard lock(mutex_);
        if (last_verify_ && now - *last_verify_ < config_.verify_interval) return 0;
        last_verify_ = now;
    }
    const auto channels = store_.channels();  // sorted
    if (channels.empty()) return 0;
    {
        const std::lock_guard lock(mutex_);
        auto it = std::upper_bound(channels.begin(), channels.end(), verify_cursor_);
        const std::size_t count = std::min(config_.verify_sample, channels.size());
        for (std::size_t i = 0; i < count; ++i) {
            if (it == channels.end()) it = channels.begin();
            picked.push_back(*it++);
        }
        verify_cursor_ = picked.back();
    }
    std::size_t ok = 0;
    for (const auto& channel : picked) {
        if (stop.stop_requested()) break;
        if (!matches(channel)) continue;
        ++verified_;
        if (repair(channel, stop, now)) ++ok;
    }
    return ok;
}

std::size_t DriftRepairer::tick(Clock::time_point now, std::stop_token stop) {
    const auto repaired = repair_due(now, stop);
    return repaired + verify_sample(now, stop);
}

DriftRepairStats DriftRepairer::stats() const {
    DriftRepairStats s;
    s.resyncs = resyncs_.load();
    s.failures = failures_.load();
    s.removed = removed_.load();
    s.verified = verified_.load();
    const std::lock_guard lock(mutex_);
    s.suspect_channels = suspect_.size();
    return s;
}

}  // namespace presenceagg::detail

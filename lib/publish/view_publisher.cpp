// SPDX-License-Identifier: MIT
#include "publish/view_publisher.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include <presenceagg/error.hpp>

#include "wire/content_hash.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::detail {

namespace {

constexpr std::string_view kComponent = "publish";

std::uint64_t random_epoch() {
    std::uint64_t e = 0;
    try {
        std::random_device rd;
        e = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {
        // No entropy source: the clock still makes restarts distinguishable.
    }
    e ^= static_cast<std::uint64_t>(
        std::chrono::high_resolution_clock::now().time_since_epoch().count());
    return e == 0 ? 1 : e;
}

std::string channel_count_leaf(std::size_t members, bool suspect) {
    std::string leaf = "{\"members\":";
    append_json_int(leaf, static_cast<std::int64_t>(members));
    if (suspect) leaf += ",\"suspect\":true";
    leaf.push_back('}');
    return leaf;
}

std::string int_leaf(std::size_t v) {
    std::string leaf;
    append_json_int(leaf, static_cast<std::int64_t>(v));
    return leaf;
}

void validate(const PublishConfig& c) {
    ViewEncoder::check_max_message_size(c.max_message_size);
    if (!(c.max_publishes_per_second > 0.0) || !std::isfinite(c.max_publishes_per_second)) {
        throw Error(Errc::InvalidConfig, "publish max_publishes_per_second must be > 0");
    }
    if (c.retry_backoff_min.count() < 0 || c.retry_backoff_max < c.retry_backoff_min) {
        throw Error(Errc::InvalidConfig,
                    "publish retry_backoff_min must be >= 0 and <= retry_backoff_max");
    }
    if (c.keepalive.count() < 0) {
        throw Error(Errc::InvalidConfig, "publish keepalive must be >= 0");
    }
    for (View v : kAllViews) {
        if (c[v].enabled && c[v].channel.empty()) {
            throw Error(Errc::InvalidConfig,
                        "publish channel for view " + std::string(to_string(v)) + " is empty");
        }
    }
}

}  // namespace

ViewPublisher::ViewPublisher(PresenceStore& store, AblyRestSink& sink, ViewPublisherConfig config)
    : store_(store),
      sink_(sink),
      config_(std::move(config.publish)),
      log_(std::move(config.log)),
      sleeper_(config.sleeper ? std::move(config.sleeper) : make_steady_sleeper()),
      encoder_((validate(config_), config_.max_message_size)),
      epoch_(config.epoch.value_or(0) != 0 ? *config.epoch : random_epoch()) {
    // At most floor(rate) requests in any one-second window; below 1/s, one per 1/rate seconds.
    const double rate = config_.max_publishes_per_second;
    if (rate >= 1.0) {
        rate_count_ = static_cast<std::size_t>(std::floor(rate));
        rate_window_ = std::chrono::seconds(1);
    } else {
        rate_count_ = 1;
        rate_window_ = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate));
    }
    log_.log(LogLevel::Info, kComponent, "publisher started", {{"epoch", hash_hex(epoch_)}});
}

ViewPublisher::~ViewPublisher() = default;

void ViewPublisher::cancel() noexcept {
    sleeper_->cancel();
}

void ViewPublisher::resume() noexcept {
    sleeper_->reset();
}

PublishViewStats ViewPublisher::stats(View view) const {
    std::lock_guard lock(stats_mutex_);
    return stats_[view_index(view)];
}

std::array<PublishViewStats, 4> ViewPublisher::stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
}

ViewPublisherTotals ViewPublisher::totals() const {
    std::lock_guard lock(stats_mutex_);
    return totals_;
}

std::size_t ViewPublisher::pending(View view) const {
    std::lock_guard lock(round_mutex_);
    return views_[view_index(view)].pending.size();
}

void ViewPublisher::tick(Clock::time_point now) {
    std::lock_guard lock(round_mutex_);
    {
        std::lock_guard stats_lock(stats_mutex_);
        ++totals_.ticks;
    }
    take_and_merge();
    for (View v : kAllViews) {
        if (config_[v].enabled) run_round(v, now, true);
    }
}

void ViewPublisher::flush() {
    std::lock_guard lock(round_mutex_);
    take_and_merge();
    for (View v : kAllViews) {
        if (config_[v].enabled) run_round(v, sleeper_->now(), false);
    }
}

void ViewPublisher::take_and_merge() {
    ChangeSet changes = store_.take_changes();
    member_hash_ = changes.member_hash;
    counts_hash_ = changes.counts_hash;
    for (View v : {View::ByChannel, View::ByClient, View::ByConnection}) {
        if (!config_[v].enabled) continue;
        auto& pending = views_[view_index(v)].pending;
        for (const auto& m : changes.members) {
            pending.insert_or_assign(member_path(v, m.channel, m.client_id, m.connection_id),
                                     m.leaf);
        }
    }
    if (config_[View::Counts].enabled) {
        auto& pending = views_[view_index(View::Counts)].pending;
        for (const auto& c : changes.channels) {
            std::optional<std::string> leaf;
            if (c.members != 0 || c.suspect) leaf = channel_count_leaf(c.members, c.suspect);
            pending.insert_or_assign(LeafPath{"channels", c.channel, {}}, std::move(leaf));
        }
        if (changes.totals_changed) {
            const Counts& t = changes.totals;
            pending.insert_or_assign(LeafPath{"totals", "channels", {}}, int_leaf(t.channels));
            pending.insert_or_assign(LeafPath{"totals", "clients", {}}, int_leaf(t.clients));
            pending.insert_or_assign(LeafPath{"totals", "connections", {}},
                                     int_leaf(t.connections));
            pending.insert_or_assign(LeafPath{"totals", "members", {}}, int_leaf(t.members));
        }
    }
}

void ViewPublisher::run_round(View view, Clock::time_point now, bool allow_keepalive) {
    ViewState& st = views_[view_index(view)];
    const bool keepalive_due =
        allow_keepalive && (!st.last_publish || now - *st.last_publish >= config_.keepalive);
    if (st.pending.empty() && !st.force_snapshot && !keepalive_due) return;

    const bool periodic =
        config_.snapshot_every > 0 && st.diffs_since_snapshot + 1 >= config_.snapshot_every;
    const bool snapshot = !config_.diff_mode || !st.snapshot_published || st.force_snapshot ||
                          st.pending.empty() || periodic;
    // A seq is spent even when the round fails: its ids may have reached Ably, and idempotent
    // publishing would swallow different content under the same ids.
    const std::uint64_t seq = st.next_seq++;
    const std::uint64_t hash = view == View::Counts ? counts_hash_ : member_hash_;
    EncodedRound round = snapshot ? encoder_.snapshot(store_, view, epoch_, seq)
                                  : encoder_.diff(view, epoch_, seq, st.last_seq, hash, st.pending);
    // A snapshot shows the store as visited now, later than the take whose changes are pending;
    // that is safe because the store's next take reports every leaf touched since its previous
    // take, including leaves that came and went in between.
    if (round.oversized != 0 || round.dropped != 0) {
        log_.log(LogLevel::Warn, kComponent, "leaves too large for max_message_size",
                 {{"view", std::string(to_string(view))},
                  {"oversized", std::to_string(round.oversized)},
                  {"dropped", std::to_string(round.dropped)}});
        std::lock_guard lock(stats_mutex_);
        totals_.oversized_leaves += round.oversized;
        totals_.dropped_leaves += round.dropped;
    }

    bool ok = true;
    for (const auto& request : round.requests) {
        if (!send(view, request)) {
            ok = false;
            break;
        }
    }

    std::lock_guard lock(stats_mutex_);
    PublishViewStats& stats = stats_[view_index(view)];
    stats.last_ok = ok;
    if (!ok) {
        ++totals_.failed_rounds;
        st.force_snapshot = true;  // consumers may hold part of this round
        log_.log(LogLevel::Warn, kComponent, "publish round failed; next round is a snapshot",
                 {{"view", std::string(to_string(view))}, {"seq", std::to_string(seq)}});
        return;
    }
    ++stats.publishes;
    stats.seq = seq;
    if (snapshot) {
        ++stats.snapshots;
        st.snapshot_published = true;
        st.diffs_since_snapshot = 0;
    } else {
        ++stats.diffs;
        ++st.diffs_since_snapshot;
    }
    st.pending.clear();
    st.force_snapshot = false;
    st.last_seq = seq;
    st.last_publish = now;
    log_.log(LogLevel::Debug, kComponent, "published",
             {{"view", std::string(to_string(view))},
              {"kind", snapshot ? "snapshot" : "diff"},
              {"seq", std::to_string(seq)},
              {"parts", std::to_string(round.parts)},
              {"bytes", std::to_string(round.data_bytes)}});
}

bool ViewPublisher::send(View view, const PublishRequest& request) {
    const std::string& channel = config_[view].channel;
    const auto bump = [&](auto&& fn) {
        std::lock_guard lock(stats_mutex_);
        fn(stats_[view_index(view)]);
    };
    for (std::uint32_t attempt = 0;; ++attempt) {
        if (!wait_for_rate(channel)) return false;
        const PublishResult result = sink_.publish(channel, request.messages);
        if (result.ok()) {
            bump([&](PublishViewStats& s) {
                ++s.requests;
                s.messages += request.messages.size();
                s.bytes += request.data_bytes;
            });
            return true;
        }
        bump([](PublishViewStats& s) {
            ++s.requests;
            ++s.failures;
        });
        const bool retry = result.retryable() && result.error != Errc::Cancelled &&
                           attempt < config_.max_retries && !sleeper_->cancelled();
        log_.log(retry ? LogLevel::Info : LogLevel::Warn, kComponent,
                 retry ? "publish failed; retrying" : "publish failed",
                 {{"view", std::string(to_string(view))},
                  {"channel", channel},
                  {"http_status", std::to_string(result.http_status)},
                  {"ably_code", std::to_string(result.ably_error_code)},
                  {"error", result.message.empty() ? result.error.message() : result.message}});
        if (!retry) return false;
        bump([](PublishViewStats& s) { ++s.retries; });
        const auto delay = backoff(attempt + 1, result.retry_after);
        if (!sleeper_->sleep_until(sleeper_->now() + delay)) return false;
    }
}

bool ViewPublisher::wait_for_rate(const std::string& channel) {
    auto& sent = windows_[channel].sent;
    for (;;) {
        if (sleeper_->cancelled()) return false;
        const auto now = sleeper_->now();
        while (!sent.empty() && sent.front() + rate_window_ <= now) sent.pop_front();
        if (sent.size() < rate_count_) {
            sent.push_back(now);
            return true;
        }
        if (!sleeper_->sleep_until(sent.front() + rate_window_)) return false;
    }
}

std::chrono::milliseconds ViewPublisher::backoff(std::uint32_t retry,
                                                 std::chrono::milliseconds retry_after) const {
    auto delay = config_.retry_backoff_min;
    for (std::uint32_t i = 1; i < retry && delay < config_.retry_backoff_max; ++i) delay *= 2;
    delay = std::min(delay, config_.retry_backoff_max);
    return std::max(delay, retry_after);
}

}  // namespace presenceagg::detail

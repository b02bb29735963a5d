// SPDX-License-Identifier: MIT
#include <cstdint>
#include <string>
#include <string_view>

#include <presenceagg/presence.hpp>
#include <presenceagg/stats.hpp>

namespace presenceagg {
namespace {

// Writes one metric family in the Prometheus text format (0.0.4). Label values used here are
// fixed identifiers (view and action names), so they need no escaping.
class Exposition {
public:
    explicit Exposition(std::string& out)
        : out_(out) {}

    Exposition& family(std::string_view name, std::string_view type, std::string_view help) {
        name_ = name;
        out_ += "# HELP presenceagg_";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE presenceagg_";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
        return *this;
    }
    Exposition& sample(std::uint64_t value,
                       std::string_view label = {},
                       std::string_view label_value = {}) {
        out_ += "presenceagg_";
        out_ += name_;
        if (!label.empty()) {
            out_ += '{';
            out_ += label;
            out_ += "=\"";
            out_ += label_value;
            out_ += "\"}";
        }
        out_ += ' ';
        out_ += std::to_string(value);
        out_ += '\n';
        return *this;
    }
    Exposition& sample_seconds(double value) {
        out_ += "presenceagg_";
        out_ += name_;
        out_ += ' ';
        out_ += std::to_string(value);
        out_ += '\n';
        return *this;
    }

private:
    std::string& out_;
    std::string_view name_;
};

std::uint64_t flag(bool b) {
    return b ? 1 : 0;
}

}  // namespace

std::string to_prometheus(const Stats& s) {
    std::string out;
    out.reserve(8192);
    Exposition e(out);
    e.family("queue_bodies_total", "counter", "Queue deliveries decoded.").sample(s.queue_bodies);
    e.family("decode_errors_total", "counter", "Queue deliveries rejected as malformed.")
        .sample(s.decode_errors);
    e.family("events_total", "counter", "Events received from the queue, by source.")
        .sample(s.presence_events, "source", "presence")
        .sample(s.occupancy_events, "source", "occupancy");
    e.family("presence_events_by_action_total", "counter", "Presence events received, by action.");
    for (std::size_t i = 0; i < s.by_action.size(); ++i) {
        e.sample(s.by_action[i], "action", to_string(static_cast<PresenceAction>(i)));
    }
    e.family("filtered_events_total", "counter", "Events outside NAMESPACE_REGEX, dropped.")
        .sample(s.filtered_events);
    e.family("ignored_sources_total", "counter", "Envelopes of sources presenceagg does not use.")
        .sample(s.ignored_sources);
    e.family("apply_total", "counter", "Store apply outcomes.")
        .sample(s.store.applied, "outcome", "applied")
        .sample(s.store.duplicate, "outcome", "duplicate")
        .sample(s.store.stale, "outcome", "stale")
        .sample(s.store.rejected, "outcome", "rejected");
    e.family("tombstones", "gauge", "Leaves remembered to stop late events resurrecting members.")
        .sample(s.store.tombstones);
    e.family("pending_changes", "gauge", "Members changed since the last publish tick.")
        .sample(s.store.pending_changes);
    e.family("queue_deliveries_total", "counter", "Deliveries from the broker.")
        .sample(s.queue.deliveries);
    e.family("queue_settlements_total", "counter", "Deliveries settled, by disposition.")
        .sample(s.queue.acks, "disposition", "ack")
        .sample(s.queue.rejects, "disposition", "reject")
        .sample(s.queue.requeues, "disposition", "requeue");
    e.family("queue_reconnects_total", "counter", "Broker reconnections.")
        .sample(s.queue.reconnects);
    e.family("queue_connected", "gauge", "1 while the broker connection is up.")
        .sample(flag(s.queue.connected));
    e.family("bootstrap_done", "gauge", "1 once the REST bootstrap finished.")
        .sample(flag(s.bootstrap.done));
    e.family("bootstrap_channels_total", "counter", "Bootstrap progress, by stage.")
        .sample(s.bootstrap.channels_enumerated, "stage", "enumerated")
        .sample(s.bootstrap.channels_matched, "stage", "matched")
        .sample(s.bootstrap.channels_fetched, "stage", "fetched");
    e.family("bootstrap_members_total", "counter", "Members fetched by the bootstrap.")
        .sample(s.bootstrap.members_fetched);
    e.family("bootstrap_requests_total", "counter", "REST requests made by the bootstrap.")
        .sample(s.bootstrap.requests);
    e.family("bootstrap_failures_total", "counter", "Failed bootstrap requests or channels.")
        .sample(s.bootstrap.failures);
    e.family("resyncs_total", "counter", "Drift-repair fetches of one channel's presence.")
        .sample(s.resyncs);
    e.family("resync_failures_total", "counter", "Drift-repair fetches that failed.")
        .sample(s.resync_failures);
    e.family("resync_removed_members_total", "counter", "Members removed by drift repair.")
        .sample(s.store.resync_removed);
    e.family("suspect_channels", "gauge", "Channels whose state is unverified.")
        .sample(s.suspect_channels);
    struct PublishFamily {
        std::string_view name, type, help;
        std::uint64_t PublishViewStats::*field;
    };
    static constexpr PublishFamily kPublish[] = {
        {"publish_rounds_total", "counter", "Publish rounds (one seq each), by view.",
         &PublishViewStats::publishes},
        {"publish_snapshots_total", "counter", "Full snapshot rounds, by view.",
         &PublishViewStats::snapshots},
        {"publish_diffs_total", "counter", "Diff rounds, by view.", &PublishViewStats::diffs},
        {"publish_messages_total", "counter", "Ably messages (parts) published, by view.",
         &PublishViewStats::messages},
        {"publish_requests_total", "counter", "Publish HTTP requests, by view.",
         &PublishViewStats::requests},
        {"publish_bytes_total", "counter", "Message data bytes published, by view.",
         &PublishViewStats::bytes},
        {"publish_failures_total", "counter", "Failed publish requests, by view.",
         &PublishViewStats::failures},
        {"publish_retries_total", "counter", "Retried publish requests, by view.",
         &PublishViewStats::retries},
        {"publish_seq", "gauge", "Last published seq, by view.", &PublishViewStats::seq},
    };
    for (const auto& f : kPublish) {
        e.family(f.name, f.type, f.help);
        for (View v : kAllViews)
            e.sample(s.publish[static_cast<std::size_t>(v)].*f.field, "view", to_string(v));
    }
    e.family("ticks_total", "counter", "Publish ticks.").sample(s.ticks);
    e.family("tick_duration_seconds", "gauge", "Duration of the last publish tick.")
        .sample_seconds(static_cast<double>(s.last_tick_duration.count()) / 1e6);
    e.family("tick_duration_max_seconds", "gauge", "Longest publish tick so far.")
        .sample_seconds(static_cast<double>(s.max_tick_duration.count()) / 1e6);
    e.family("members", "gauge", "Members present ((channel, connectionId, clientId)).")
        .sample(s.counts.members);
    e.family("clients", "gauge", "Distinct clientIds present.").sample(s.counts.clients);
    e.family("connections", "gauge", "Distinct connectionIds present.")
        .sample(s.counts.connections);
    e.family("channels", "gauge", "Channels with at least one member.").sample(s.counts.channels);
    e.family("collecting", "gauge", "1 while collecting (after a start command).")
        .sample(flag(s.collecting));
    e.family("last_publish_ok", "gauge", "1 when the last publish round succeeded.")
        .sample(flag(s.last_publish_ok));
    e.family("commands_total", "counter", "Start/stop commands acted on.").sample(s.commands);
    e.family("checkpoint_writes_total", "counter", "Checkpoints written to DATA_DIR.")
        .sample(s.checkpoint_writes);
    e.family("checkpoint_write_failures_total", "counter", "Checkpoint writes that failed.")
        .sample(s.checkpoint_write_failures);
    e.family("checkpoint_loads_total", "counter", "Checkpoints restored into the store.")
        .sample(s.checkpoint_loads);
    e.family("checkpoint_load_failures_total", "counter",
             "Corrupt or unreadable checkpoints ignored.")
        .sample(s.checkpoint_load_failures);
    e.family("checkpoint_members_loaded_total", "counter", "Members restored from checkpoints.")
        .sample(s.checkpoint_members_loaded);
    return out;
}

}  // namespace presenceagg

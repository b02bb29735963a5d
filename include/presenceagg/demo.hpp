// SPDX-License-Identifier: MIT
#pragma once

/// The built-in demo: a simulated Ably Queue (`SimulatedQueueSource`), a sink that records what
/// would be published to Ably (`DemoAblyRestSink`) and the live terminal summary
/// (`render_summary`). With the in-memory store they run the whole Pipeline with no account, no
/// configuration and no external service (`presence-agg demo`).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/export.hpp>
#include <presenceagg/logging.hpp>
#include <presenceagg/presence.hpp>
#include <presenceagg/queue_source.hpp>
#include <presenceagg/stats.hpp>

namespace presenceagg {

// ---------------------------------------------------------------------------------------------
// Simulated queue

/// A population of clients for the simulated queue. Every rate and probability applies per
/// presence event; every duration is simulated time (see `events_per_second`).
struct SimulationConfig {
    std::uint64_t seed = 1;  ///< same seed, same `start_time_ms`, unpaced: same deliveries
    std::size_t clients = 300;
    std::size_t channels = 20;                 ///< channels named `channel_prefix` + name
    std::size_t outside_channels = 3;          ///< channels named `outside_prefix` + name
    std::string channel_prefix = "presence:";  ///< the namespace the pipeline aggregates
    std::string outside_prefix = "chat:";      ///< events the pipeline must filter out
    double online_fraction = 0.6;              ///< share of clients the churn keeps online
    double multi_device_fraction = 0.3;        ///< share of clients that open several connections
    std::size_t max_connections_per_client = 3;
    std::size_t max_channels_per_connection = 4;
    /// Presence events per second, paced with a steady clock; 0 runs as fast as possible.
    double events_per_second = 300.0;
    /// When unpaced, timestamps still advance as if events came at this rate.
    double simulated_events_per_second = 300.0;
    /// `run()` returns after this many presence events in total (0: only when stopped).
    /// Duplicates and occupancy deliveries do not count.
    std::uint64_t max_events = 0;
    /// Share of events that are an abrupt connection drop (each produces Ably's synthesized
    /// leaves `synthesized_leave_delay` later)...
    double drop_probability = 0.03;
    /// ...of which this share reconnect on a new connection id within `reconnect_delay_max`.
    double reconnect_probability = 0.7;
    std::chrono::milliseconds synthesized_leave_delay{15'000};
    std::chrono::milliseconds reconnect_delay_max{5'000};
    /// After a fresh presence delivery, redeliver a recent one (redelivered = true).
    double duplicate_probability = 0.02;
    /// Occupancy envelopes for the channels whose membership changed, at most this often.
    std::chrono::milliseconds occupancy_interval{2'000};
    /// Timestamp (ms since the epoch) of the first event; 0: the wall clock at the first run().
    std::int64_t start_time_ms = 0;
    std::string app_id = "dEm0Ap";
    std::string site = "eu-west-1-A";
    std::string rule_id = "dEm0Rl";
    Logger log;
};

/// What the simulation did so far; `expected_members` is its ground truth.
struct SimulationStats {
    std::uint64_t presence_events = 0;         ///< distinct presence messages generated
    std::array<std::uint64_t, 5> by_action{};  ///< indexed by PresenceAction
    std::uint64_t synthesized_leaves = 0;
    std::uint64_t outside_namespace_events = 0;  ///< presence events outside `channel_prefix`
    std::uint64_t duplicates = 0;  ///< deliveries repeated on purpose (redelivered = true)
    std::uint64_t requeue_redeliveries = 0;  ///< deliveries repeated because the handler requeued
    std::uint64_t occupancy_events = 0;
    std::uint64_t connection_drops = 0;
    std::uint64_t reconnections = 0;
    /// What native Ably presence would have delivered for the namespace's events:
    /// the sum over events of (members present in the channel, counting the event's own member
    /// — i.e. after an enter, before a leave — plus 1 for the inbound event itself). Each
    /// member's connection is assumed to subscribe to presence on the channels it is in.
    std::uint64_t native_fanout_messages = 0;
    std::size_t expected_members = 0;   ///< present now, inside the namespace
    std::size_t expected_channels = 0;  ///< namespace channels with at least one member
    std::size_t online_clients = 0;     ///< clients with a live connection (all channels)
    std::size_t live_connections = 0;
    std::int64_t last_timestamp_ms = 0;
};

/// A QueueSource that invents a realistic population and delivers Ably enveloped queue bodies
/// (`channel.presence`, and `channel.occupancy` as StreamKind::Occupancy), exactly as an Ably
/// Queue rule with enveloping on would: integer actions, `data` as a JSON string with
/// encoding "json", ids "connectionId:msgSerial:index" with msgSerial increasing per connection,
/// synthesized leaves (ids not prefixed by the connectionId) after abrupt drops, new connection
/// ids on reconnection, duplicates now and then. Requeued deliveries come back later with
/// redelivered = true; rejected ones are dropped.
///
/// Thread-safe: `run()` owns one thread at a time; the side API (`simulation_stats`,
/// `expected_member_keys`, `stats`) may be called from any thread, also during `run()`. The
/// ground truth includes every event generated, including the one being delivered right now;
/// once `run()` returned and every delivery was applied, a correct store holds exactly
/// `expected_member_keys()`.
class PRESENCEAGG_API SimulatedQueueSource final : public QueueSource {
public:
    /// Throws Error(Errc::InvalidConfig) naming the field for an unusable config.
    explicit SimulatedQueueSource(SimulationConfig config);
    ~SimulatedQueueSource() override;
    SimulatedQueueSource(const SimulatedQueueSource&) = delete;
    SimulatedQueueSource& operator=(const SimulatedQueueSource&) = delete;

    /// Delivers until stop is requested (observed within ~1 ms when paced, after the current
    /// handler call otherwise) or `max_events` is reached (after redelivering what was
    /// requeued). Calling it again continues the same simulation.
    void run(std::stop_token stop, const DeliveryHandler& handler) override;
    [[nodiscard]] QueueSourceStats stats() const override;

    [[nodiscard]] SimulationStats simulation_stats() const;
    /// Members present now, sorted; only the namespace unless `include_outside`.
    [[nodiscard]] std::vector<MemberKey> expected_member_keys(bool include_outside = false) const;
    [[nodiscard]] std::size_t expected_members() const;
    /// See SimulationStats::native_fanout_messages.
    [[nodiscard]] std::uint64_t native_fanout_messages() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The same source behind the interface. Keep a `SimulatedQueueSource*` (by constructing it
/// with make_unique yourself) when the side API is needed after handing ownership away.
[[nodiscard]] PRESENCEAGG_API std::unique_ptr<QueueSource> make_simulated_queue_source(
    SimulationConfig config = {});

// ---------------------------------------------------------------------------------------------
// Demo sink

struct DemoSinkConfig {
    /// Appends every published message as one NDJSON line
    /// {"channel","id","name","data","encoding":"json","timestamp"} — `data` is the message's
    /// JSON text as a JSON string, as Ably's history returns it. Empty: count only.
    std::string record_path;
    bool truncate = false;  ///< start `record_path` empty instead of appending
    /// Tests: every n-th publish fails with a retryable 503 and records nothing (0: never).
    std::uint64_t fail_every = 0;
    /// Timestamps of recorded messages in ms; empty: the wall clock.
    std::function<std::int64_t()> clock;
    Logger log;
};

struct DemoSinkChannelCounters {
    std::uint64_t requests = 0;  ///< successful publish calls
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;     ///< message data bytes
    std::uint64_t failures = 0;  ///< injected failures

    friend bool operator==(const DemoSinkChannelCounters&,
                           const DemoSinkChannelCounters&) = default;
};

struct DemoSinkCounters {
    DemoSinkChannelCounters total;
    std::map<std::string, DemoSinkChannelCounters, std::less<>> channels;
    std::uint64_t write_errors = 0;  ///< NDJSON lines that could not be written (not failures)
};

/// Records what would be published; never fails unless `fail_every` says so. A record file that
/// cannot be written later is counted in `write_errors` and logged once, never reported as a
/// publish failure. Thread-safe. Nothing is ever in flight, so `cancel()` has no effect.
class PRESENCEAGG_API DemoAblyRestSink final : public AblyRestSink {
public:
    /// Throws Error(Errc::Io) naming `record_path` when the file cannot be opened.
    explicit DemoAblyRestSink(DemoSinkConfig config);
    ~DemoAblyRestSink() override;
    DemoAblyRestSink(const DemoAblyRestSink&) = delete;
    DemoAblyRestSink& operator=(const DemoAblyRestSink&) = delete;

    [[nodiscard]] PublishResult publish(std::string_view channel,
                                        std::span<const OutboundMessage> messages) override;
    void cancel() noexcept override {}

    [[nodiscard]] DemoSinkCounters counters() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

[[nodiscard]] PRESENCEAGG_API std::unique_ptr<AblyRestSink> make_demo_sink(
    DemoSinkConfig config = {});

// ---------------------------------------------------------------------------------------------
// Live summary

/// Events per second over a sliding window of samples of a monotonic total. Not thread-safe.
class PRESENCEAGG_API EventRateTracker {
public:
    using Clock = std::chrono::steady_clock;

    explicit EventRateTracker(std::chrono::milliseconds window = std::chrono::seconds(5));

    /// Adds a sample and returns the rate over the window (0 until two samples are apart).
    /// A total lower than the previous one (a restart) starts over.
    double update(std::uint64_t total, Clock::time_point now);
    [[nodiscard]] double rate() const noexcept { return rate_; }

private:
    std::chrono::milliseconds window_;
    std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
    double rate_ = 0.0;
};

enum class SummaryStyle : std::uint8_t {
    Plain,    ///< text lines, for logs and pipes
    InPlace,  ///< ANSI: cursor home, each line cleared to its end, rest of the screen cleared
};

/// What the summary shows besides the pipeline's Stats.
struct SummaryExtras {
    std::string title = "presence-agg demo";
    std::chrono::seconds uptime{0};
    double events_per_second = 0.0;  ///< e.g. from EventRateTracker over Stats::presence_events
    std::optional<std::uint64_t> native_fanout_messages;  ///< from SimulatedQueueSource
    std::optional<std::size_t> expected_members;          ///< the simulation's ground truth
    std::string footer;  ///< one line, e.g. where the sink records, "Ctrl-C to stop"
    SummaryStyle style = SummaryStyle::Plain;
};

/// The live summary, at most 80 columns and 24 lines: presence totals, event rate and actions,
/// queue and store figures (decode errors, filtered, duplicates, stale), publishes, parts and
/// bytes per view, and native fan-out cost against messages published.
[[nodiscard]] PRESENCEAGG_API std::string render_summary(const Stats& stats,
                                                         const SummaryExtras& extras);

}  // namespace presenceagg

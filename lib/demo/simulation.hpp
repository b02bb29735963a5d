// SPDX-License-Identifier: MIT
#pragma once

// The demo's population model: a deterministic, single-threaded discrete-event simulation of
// clients entering, updating and leaving Ably channels, written out as Ably queue envelopes.
// SimulatedQueueSource adds pacing, delivery and locking around it.

#include <cstddef>
#include <cstdint>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/demo.hpp>
#include <presenceagg/presence.hpp>

namespace presenceagg::detail {

/// xoshiro256** seeded through splitmix64. Used instead of <random> distributions, whose
/// results differ between standard libraries, so a seed means the same run everywhere.
class SimRandom {
public:
    explicit SimRandom(std::uint64_t seed) noexcept;

    std::uint64_t next() noexcept;
    /// Uniform in [0, n); n > 0.
    std::size_t below(std::size_t n) noexcept;
    /// Uniform in [0, 1).
    double unit() noexcept;
    bool chance(double p) noexcept { return unit() < p; }

private:
    std::uint64_t s_[4];
};

/// Not thread-safe; SimulatedQueueSource serializes access.
class Simulation {
public:
    /// Throws Error(Errc::InvalidConfig) naming the SimulationConfig field.
    explicit Simulation(const SimulationConfig& config);

    /// Generates the next presence event, stamped `now_ms`, and writes its `channel.presence`
    /// envelope into `body` (replacing its content).
    void next_presence(std::int64_t now_ms, std::string& body);

    /// When the occupancy interval has elapsed, writes one `channel.occupancy` envelope per
    /// channel whose member count changed since it was last reported into `bodies[0..n)` (the
    /// vector only grows, its strings are reused) and returns n.
    std::size_t take_occupancy(std::int64_t now_ms, std::vector<std::string>& bodies);

    /// With `duplicate_probability`, copies one of the recent presence bodies into `body` and
    /// returns true.
    bool take_duplicate(std::string& body);

    [[nodiscard]] std::vector<MemberKey> member_keys(bool include_outside) const;
    [[nodiscard]] SimulationStats stats() const;
    [[nodiscard]] std::uint64_t presence_events() const noexcept { return stats_.presence_events; }
    [[nodiscard]] const std::vector<std::string>& channel_names() const noexcept {
        return channel_names_;
    }

private:
    struct Channel {
        std::string name;
        bool inside = true;
        std::size_t members = 0;
        std::size_t reported_members = 0;
        bool dirty = false;
    };
    struct Client {
        std::string id;
        std::string name;
        std::string avatar;
        std::vector<std::size_t> favourites;  // channel indices, most liked first
        std::size_t live_connections = 0;
        bool multi_device = false;
    };
    struct Membership {
        std::size_t channel = 0;
        std::size_t status = 0;
        std::int64_t since = 0;
        std::size_t live_pos = 0;  // index in live_members_ while the connection is live
    };
    struct Connection {
        std::string id;
        std::size_t client = 0;
        std::uint32_t generation = 0;
        std::uint64_t msg_serial = 0;
        std::int64_t last_timestamp = 0;
        std::size_t device = 0;
        bool in_use = false;
        bool live = false;
        std::size_t live_pos = 0;  // index in live_connections_ while live
        std::vector<Membership> channels;
    };
    struct LiveMember {
        std::size_t slot;
        std::size_t channel;
    };
    enum class PendingKind : std::uint8_t { SynthesizedLeave, Reconnect, Join };
    struct Pending {
        std::int64_t due = 0;
        std::uint64_t order = 0;  // ties broken by scheduling order: deterministic
        PendingKind kind = PendingKind::Join;
        std::size_t slot = 0;
        std::uint32_t generation = 0;
        std::size_t client = 0;
        std::vector<std::size_t> channels;  // one for a leave or a join; all for a reconnect

        [[nodiscard]] std::size_t channel() const noexcept { return channels.front(); }
    };
    struct PendingLater {
        bool operator()(const Pending& a, const Pending& b) const noexcept {
            return a.due != b.due ? a.due > b.due : a.order > b.order;
        }
    };

    void build_channels();
    void build_clients();
    std::string make_connection_id();
    std::string make_synthesized_id(std::string_view connection_id);
    void schedule(Pending pending);

    bool run_pending(Pending& pending, std::int64_t now, std::string& body);
    bool do_connect(std::int64_t now, std::string& body);
    bool do_join(std::int64_t now, std::string& body);
    bool do_update(std::int64_t now, std::string& body);
    bool do_leave(std::int64_t now, std::string& body);
    bool do_drop(std::int64_t now);

    std::size_t open_connection(std::size_t client);
    void close_connection(std::size_t slot);  // live -> gone, no events
    void free_slot(std::size_t slot);
    bool enter(std::size_t slot, std::size_t channel, std::int64_t now, std::string& body);
    std::size_t pick_channel_for(const Connection& conn);

    void remove_live_member(std::size_t slot, std::size_t channel);
    /// Applies one event to the ground truth and writes its envelope.
    void emit(std::size_t slot,
              std::size_t membership,
              PresenceAction action,
              std::string_view id,
              std::int64_t now,
              std::string& body);
    void write_member_data(const Connection& conn, const Membership& m);

    SimulationConfig config_;
    SimRandom rng_;
    std::vector<Channel> channels_;
    std::vector<std::string> channel_names_;
    std::vector<double> favourite_weights_;  // cumulative, over inside channels by rank
    std::vector<Client> clients_;
    std::vector<Connection> connections_;  // slots, reused
    std::vector<std::size_t> free_slots_;
    std::vector<std::size_t> live_connections_;
    std::vector<LiveMember> live_members_;
    std::priority_queue<Pending, std::vector<Pending>, PendingLater> pending_;
    std::uint64_t pending_order_ = 0;
    std::uint64_t connection_counter_ = 0;
    std::size_t online_clients_ = 0;
    std::set<MemberKey> present_;  // ground truth, every channel
    std::int64_t next_occupancy_ = 0;
    std::vector<std::string> recent_;  // ring of recent presence bodies, for duplicates
    std::size_t recent_next_ = 0;
    std::string id_;    // scratch
    std::string data_;  // scratch
    SimulationStats stats_;
};

}  // namespace presenceagg::detail

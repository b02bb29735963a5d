// SPDX-License-Identifier: MIT
#pragma once

/// Deterministic generator of Ably presence traffic for the end-to-end benchmark: enveloped
/// queue bodies (source `channel.presence`, one presence message each, json data of 120-180
/// bytes) over a pool of channels and clients with several connections each. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace presenceagg::bench {

/// One (channel, clientId, connectionId) member slot, by index.
struct Slot {
    std::uint32_t channel = 0;
    std::uint32_t client = 0;
    std::uint32_t connection = 0;  ///< 0..kConnectionsPerClient-1
};

/// What one generated event did.
struct Change {
    std::string body;  ///< enveloped queue JSON
    int action = 0;    ///< 2 enter, 3 leave, 4 update
    std::size_t leaf_json_bytes =
        0;  ///< by-channel path + leaf JSON of the member ("null" if left)
    std::size_t channel_members = 0;      ///< members present in the channel when it happened
    std::size_t presence_json_bytes = 0;  ///< the presence message object as Ably delivers it
};

class Workload {
public:
    static constexpr std::uint32_t kConnectionsPerClient = 3;

    Workload(std::uint32_t channels, std::uint32_t clients, std::uint64_t seed);

    /// A new member enters (a slot not present yet; after a few tries, an update instead).
    Change enter();
    /// A random present member updates its data (an enter when nobody is present).
    Change update();
    /// A random present member leaves (an enter when nobody is present).
    Change leave();
    /// The drain mix: enter while below `target_members`, otherwise enter 35%, update 40%,
    /// leave 25%.
    Change mixed(std::size_t target_members);

    [[nodiscard]] std::size_t members() const noexcept { return present_.size(); }
    [[nodiscard]] std::uint64_t count(int action) const noexcept;

    [[nodiscard]] static std::string channel_name(std::uint32_t channel);
    [[nodiscard]] static std::string client_name(std::uint32_t client);
    [[nodiscard]] static std::string connection_name(std::uint32_t client,
                                                     std::uint32_t connection);
    /// The member's presence data (JSON text) for its `version`-th change.
    [[nodiscard]] static std::string data_json(const Slot& slot, std::uint64_t version);

private:
    Change emit(const Slot& slot, int action);
    [[nodiscard]] std::uint64_t key(const Slot& slot) const noexcept;
    std::uint64_t random(std::uint64_t bound) { return rng_() % bound; }

    std::uint32_t channels_;
    std::uint32_t clients_;
    std::mt19937_64 rng_;
    std::vector<Slot> present_;                                // dense, for random picks
    std::unordered_map<std::uint64_t, std::size_t> index_;     // slot key -> present_ index
    std::unordered_map<std::uint64_t, std::uint64_t> serial_;  // connection key -> msgSerial
    std::vector<std::uint32_t> per_channel_;
    std::uint64_t timestamp_ = 1'700'000'000'000;
    std::uint64_t counts_[5] = {};
};

}  // namespace presenceagg::bench

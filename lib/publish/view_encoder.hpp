// SPDX-License-Identifier: MIT
#pragma once

// ViewEncoder: turns one publish round of one view (a snapshot visited from the store, or the
// pending diff leaves) into Ably messages ("parts") and publish requests, every one within
// max_message_size. The bytes are specified in docs/wire-format.md.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/presence_store.hpp>

#include "publish/leaf_path.hpp"

namespace presenceagg::detail {

/// One HTTP publish request: consecutive parts of a round.
struct PublishRequest {
    std::vector<OutboundMessage> messages;
    std::size_t body_size = 0;   ///< publish_body_size(messages) (wire/publish_body.hpp)
    std::size_t data_bytes = 0;  ///< sum of the messages' data sizes
};

/// Everything one round sends.
struct EncodedRound {
    View view = View::ByChannel;
    bool snapshot = true;
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
    std::uint64_t base = 0;  ///< diff only
    std::uint64_t hash = 0;
    std::vector<PublishRequest> requests;
    std::size_t parts = 0;
    std::size_t leaves = 0;     ///< leaves written (stubs included)
    std::size_t oversized = 0;  ///< leaves replaced by an {"id","oversized","timestamp"} stub
    std::size_t dropped = 0;    ///< leaves that did not fit even as a stub (left out)
    std::size_t data_bytes = 0;

    [[nodiscard]] std::size_t messages() const noexcept { return parts; }
};

/// Builds one round from leaves given in canonical order. Not thread-safe.
class RoundBuilder {
public:
    /// `base` is used for diffs only. `max_message_size` must have passed
    /// ViewEncoder::check_max_message_size.
    RoundBuilder(View view,
                 bool snapshot,
                 std::uint64_t epoch,
                 std::uint64_t seq,
                 std::uint64_t base,
                 std::size_t max_message_size);

    /// Adds one leaf; paths strictly increasing, `view_depth(view)` segments. `leaf_json` is one
    /// compact JSON value ("null" removes the leaf in a diff).
    void add(std::span<const std::string_view> path, std::string_view leaf_json);

    /// Closes the round: numbers the parts, writes the messages and packs them into requests.
    /// An empty round still has one part with an empty body.
    [[nodiscard]] EncodedRound finish(std::uint64_t hash);

private:
    bool try_append(std::span<const std::string_view> path, std::string_view leaf_json);
    void close_part();
    [[nodiscard]] std::string header(std::size_t part, std::size_t parts, std::uint64_t hash) const;
    [[nodiscard]] std::string message_id(std::size_t part) const;

    View view_;
    bool snapshot_;
    std::uint64_t epoch_;
    std::uint64_t seq_;
    std::uint64_t base_;
    std::size_t max_message_size_;
    std::size_t depth_;
    std::size_t body_budget_;  // escaped bytes available to one part's body

    std::vector<std::string> bodies_;  // closed parts
    std::string body_;                 // part being filled
    std::size_t body_escaped_ = 0;
    std::size_t body_leaves_ = 0;
    std::array<std::string, 3> prev_;  // previous path in this part
    std::string scratch_;
    EncodedRound round_;
};

/// Stateless apart from the size limit; thread-compatible.
class ViewEncoder {
public:
    /// The smallest max_message_size accepted: room for the envelope, the header and a small
    /// body in the worst case (longest view name, 20-digit seq and base).
    static constexpr std::size_t kMinMessageSize = 512;

    /// Throws Error(InvalidConfig) when `max_message_size` < kMinMessageSize.
    explicit ViewEncoder(std::size_t max_message_size);

    [[nodiscard]] std::size_t max_message_size() const noexcept { return max_message_size_; }

    /// A full snapshot of `view` as visited now; the round's hash is what visit() returned.
    [[nodiscard]] EncodedRound snapshot(const PresenceStore& store,
                                        View view,
                                        std::uint64_t epoch,
                                        std::uint64_t seq) const;

    /// A diff of `leaves` applying on `base`; `hash` is the view's hash after it.
    [[nodiscard]] EncodedRound diff(View view,
                                    std::uint64_t epoch,
                                    std::uint64_t seq,
                                    std::uint64_t base,
                                    std::uint64_t hash,
                                    const PendingLeaves& leaves) const;

    static void check_max_message_size(std::size_t max_message_size);

private:
    std::size_t max_message_size_;
};

}  // namespace presenceagg::detail

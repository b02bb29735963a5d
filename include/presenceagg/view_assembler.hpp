// SPDX-License-Identifier: MIT
#pragma once

/// `ViewAssembler`: the consumer side of the wire format (docs/wire-format.md). Feed it the Ably
/// messages of one view channel in channel order; it collects the parts of each round, applies
/// snapshots and diffs, verifies the content hash, and gives back the view's canonical JSON.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <presenceagg/export.hpp>
#include <presenceagg/presence_store.hpp>

namespace presenceagg {

/// What `ViewAssembler::add` did with one message.
enum class AssembleStatus : std::uint8_t {
    Applied,       ///< a round completed and its hash matched: the state is valid at its seq
    PartStored,    ///< a part of a round was kept; waiting for the others
    Gap,           ///< a diff that does not apply on the current state; waiting for a snapshot
    HashMismatch,  ///< a round completed but its hash did not match; waiting for a snapshot
    Malformed,     ///< not a message of this format (or beyond a size bound); ignored
    OtherView,     ///< a message of another view; ignored
    Stale,         ///< an older seq, an older epoch, or a round already applied; ignored
};
/// "applied", "part-stored", "gap", "hash-mismatch", "malformed", "other-view", "stale".
PRESENCEAGG_API std::string_view to_string(AssembleStatus status) noexcept;

struct ViewAssemblerConfig {
    /// Follow only this view; unset: the view of the first well-formed message.
    std::optional<View> view;
    /// Bounds that keep hostile input from growing memory without limit.
    std::size_t max_message_bytes = 4 * 1024 * 1024;  ///< one Ably message as given to add()
    std::size_t max_parts = 100'000;                  ///< parts of one round
    std::size_t max_round_bytes = 256 * 1024 * 1024;  ///< leaf bytes held for one round
    std::size_t max_leaves = 20'000'000;              ///< leaves of the assembled view
    std::size_t max_leaf_depth = 128;                 ///< JSON nesting inside one leaf
};

/// Not thread-safe (one consumer feeds it); movable.
class PRESENCEAGG_API ViewAssembler {
public:
    explicit ViewAssembler(ViewAssemblerConfig config = {});
    ~ViewAssembler();
    ViewAssembler(ViewAssembler&&) noexcept;
    ViewAssembler& operator=(ViewAssembler&&) noexcept;
    ViewAssembler(const ViewAssembler&) = delete;
    ViewAssembler& operator=(const ViewAssembler&) = delete;

    /// Takes one Ably message as the REST history API returns it:
    /// {"id","name","data","encoding","timestamp",...}, where `data` is a JSON string when
    /// `encoding` is "json", or already the object. A bare data object ({"v":1,...}) is accepted
    /// too. Never throws for bad input: it returns Malformed and counts it.
    AssembleStatus add(std::string_view ably_message_json);

    /// The view followed (unset until the first well-formed message when not configured).
    [[nodiscard]] std::optional<View> view() const noexcept;
    /// The epoch being followed, 16 lowercase hex digits; empty before the first message.
    [[nodiscard]] std::string epoch() const;
    /// The seq of the state (0 before the first applied round).
    [[nodiscard]] std::uint64_t seq() const noexcept;
    /// True when the state is complete and verified.
    [[nodiscard]] bool has_state() const noexcept;
    /// The canonical JSON of the view: the same bytes the publisher's snapshot body would have
    /// for this state (leaves keep the bytes they arrived with). Empty without a valid state.
    [[nodiscard]] std::string state_json() const;
    /// The content hash of the state (docs/wire-format.md).
    [[nodiscard]] std::uint64_t hash() const noexcept;
    /// Leaves in the state.
    [[nodiscard]] std::size_t leaves() const noexcept;

    [[nodiscard]] std::uint64_t gaps() const noexcept;
    [[nodiscard]] std::uint64_t mismatches() const noexcept;
    [[nodiscard]] std::uint64_t malformed() const noexcept;
    [[nodiscard]] std::uint64_t rounds_applied() const noexcept;
    /// Why the last Malformed message was rejected.
    [[nodiscard]] std::string last_error() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace presenceagg

// SPDX-License-Identifier: MIT
#pragma once

// Parses the data of one wire-format message (docs/wire-format.md) into its header fields and
// leaves, keeping every leaf's exact source bytes so that the assembled view re-serializes to
// the publisher's bytes. Used by ViewAssembler; bad input gives an error string, never a crash.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/presence_store.hpp>

#include "publish/leaf_path.hpp"

namespace presenceagg::detail {

struct ParsedLeaf {
    LeafPath path;
    std::string raw;         ///< the leaf's JSON as it appeared in the body
    bool removed = false;    ///< null in a diff
    std::uint64_t hash = 0;  ///< the leaf's content hash (0 when removed)
};

struct ParsedPart {
    View view = View::ByChannel;
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
    bool snapshot = true;
    std::uint64_t base = 0;
    std::uint64_t part = 0;
    std::uint64_t parts = 0;
    std::uint64_t hash = 0;
    std::vector<ParsedLeaf> leaves;
    std::size_t leaf_bytes = 0;  ///< sum of the raw leaf sizes
};

/// Parses `data` (the message's data as JSON text). On failure returns nullopt and sets `error`.
[[nodiscard]] std::optional<ParsedPart> parse_part(std::string_view data,
                                                   std::size_t max_leaf_depth,
                                                   std::string& error);

/// 16 lowercase hex digits to a number; nullopt for anything else.
[[nodiscard]] std::optional<std::uint64_t> parse_hex64(std::string_view s) noexcept;

}  // namespace presenceagg::detail

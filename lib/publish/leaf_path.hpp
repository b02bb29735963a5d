// SPDX-License-Identifier: MIT
#pragma once

// Paths of view leaves and the per-view path permutations, shared by the encoder, the publisher
// and the assembler. View names and depths are presenceagg::to_string(View), parse_view() and
// view_depth() (lib/common).

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <presenceagg/presence_store.hpp>

namespace presenceagg::detail {

/// Up to three path segments; Counts uses the first two and leaves the third empty. Compared
/// segment by segment in byte order, which is the canonical order of a view.
using LeafPath = std::array<std::string, 3>;

/// Leaf changes waiting for the next round of one view: the latest leaf JSON per path, or nullopt
/// for a removed leaf. Bounded by the number of distinct changed leaves, whatever the event rate.
using PendingLeaves = std::map<LeafPath, std::optional<std::string>>;

inline constexpr std::size_t kViewCount = 4;

[[nodiscard]] constexpr std::size_t view_index(View v) noexcept {
    return static_cast<std::size_t>(v);
}

[[nodiscard]] constexpr bool is_member_view(View v) noexcept {
    return v != View::Counts;
}

/// Where a member sits in a member view: ByChannel (channel, client, connection), ByClient
/// (client, channel, connection), ByConnection (connection, client, channel).
[[nodiscard]] inline LeafPath member_path(View v,
                                          std::string_view channel,
                                          std::string_view client_id,
                                          std::string_view connection_id) {
    switch (v) {
        case View::ByClient:
            return {std::string(client_id), std::string(channel), std::string(connection_id)};
        case View::ByConnection:
            return {std::string(connection_id), std::string(client_id), std::string(channel)};
        default:
            return {std::string(channel), std::string(client_id), std::string(connection_id)};
    }
}

/// The member identity behind a member-view path.
struct MemberIdentity {
    std::string_view channel;
    std::string_view client_id;
    std::string_view connection_id;
};

[[nodiscard]] inline MemberIdentity member_identity(View v, const LeafPath& p) noexcept {
    switch (v) {
        case View::ByClient:
            return {p[1], p[0], p[2]};
        case View::ByConnection:
            return {p[2], p[1], p[0]};
        default:
            return {p[0], p[1], p[2]};
    }
}

/// The path as string_views, `depth_of(v)` long, for TreeWriter.
struct PathViews {
    std::array<std::string_view, 3> segments;
    std::size_t depth;
    [[nodiscard]] std::span<const std::string_view> span() const noexcept {
        return {segments.data(), depth};
    }
};

[[nodiscard]] inline PathViews path_views(const LeafPath& p, std::size_t depth) noexcept {
    return {{p[0], p[1], p[2]}, depth};
}

}  // namespace presenceagg::detail

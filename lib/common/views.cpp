// SPDX-License-Identifier: MIT
// Names of store outcomes and views.
#include <presenceagg/presence_store.hpp>

namespace presenceagg {

std::string_view to_string(ApplyOutcome outcome) noexcept {
    switch (outcome) {
        case ApplyOutcome::Applied:
            return "applied";
        case ApplyOutcome::Duplicate:
            return "duplicate";
        case ApplyOutcome::Stale:
            return "stale";
        case ApplyOutcome::Rejected:
            return "rejected";
    }
    return "unknown";
}

std::string_view to_string(View view) noexcept {
    switch (view) {
        case View::ByChannel:
            return "by-channel";
        case View::ByClient:
            return "by-client";
        case View::ByConnection:
            return "by-connection";
        case View::Counts:
            return "counts";
    }
    return "unknown";
}

std::optional<View> parse_view(std::string_view name) noexcept {
    for (const View v : kAllViews) {
        if (to_string(v) == name) return v;
    }
    return std::nullopt;
}

std::size_t view_depth(View view) noexcept {
    return view == View::Counts ? 2 : 3;
}

}  // namespace presenceagg

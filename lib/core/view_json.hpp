// SPDX-License-Identifier: MIT
#pragma once

// Whole views as canonical JSON text, serialised with TreeWriter from PresenceStore::visit().
// For the CLI's `replay` and for tests; the publisher streams views itself.

#include <string>

#include <presenceagg/presence_store.hpp>

namespace presenceagg::detail {

/// The canonical JSON of one view ("{}" when it has no leaves).
[[nodiscard]] std::string view_json(const PresenceStore& store, View view);

/// {"by-channel":...,"by-client":...,"by-connection":...,"counts":...}. Each view is visited
/// separately, so the four are mutually consistent only when nothing is applied meanwhile.
[[nodiscard]] std::string all_views_json(const PresenceStore& store);

}  // namespace presenceagg::detail

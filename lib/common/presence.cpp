// SPDX-License-Identifier: MIT
#include <presenceagg/presence.hpp>

namespace presenceagg {

std::string_view to_string(PresenceAction action) noexcept {
    switch (action) {
        case PresenceAction::Absent:
            return "absent";
        case PresenceAction::Present:
            return "present";
        case PresenceAction::Enter:
            return "enter";
        case PresenceAction::Leave:
            return "leave";
        case PresenceAction::Update:
            return "update";
    }
    return "unknown";
}

std::optional<PresenceAction> parse_presence_action(std::string_view text) noexcept {
    static constexpr std::string_view kNames[] = {"absent", "present", "enter", "leave", "update"};
    for (std::size_t i = 0; i < std::size(kNames); ++i) {
        if (text == kNames[i]) return static_cast<PresenceAction>(i);
    }
    if (text.size() == 1 && text[0] >= '0' && text[0] <= '4') {
        return static_cast<PresenceAction>(text[0] - '0');
    }
    return std::nullopt;
}

}  // namespace presenceagg

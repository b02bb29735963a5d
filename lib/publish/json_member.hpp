// SPDX-License-Identifier: MIT
#pragma once

// Member lookup on a RapidJSON object without comparing member iterators (RapidJSON 1.1.0's
// iterator comparisons are ambiguous under C++20's reversed operators).

#include <string_view>

#include <rapidjson/document.h>

namespace presenceagg::detail {

/// The value of the first member named `key`, or null; `object` must be an object.
[[nodiscard]] inline const rapidjson::Value* find_member(const rapidjson::Value& object,
                                                         std::string_view key) {
    const auto begin = object.MemberBegin();
    for (rapidjson::SizeType i = 0; i < object.MemberCount(); ++i) {
        const auto& member = *(begin + static_cast<std::ptrdiff_t>(i));
        if (member.name.IsString() &&
            std::string_view(member.name.GetString(), member.name.GetStringLength()) == key) {
            return &member.value;
        }
    }
    return nullptr;
}

}  // namespace presenceagg::detail

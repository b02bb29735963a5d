// SPDX-License-Identifier: MIT
#include <presenceagg/presenceagg.hpp>

namespace presenceagg {

std::string_view library_version() noexcept {
    return kVersion;
}

}  // namespace presenceagg

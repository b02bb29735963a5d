// SPDX-License-Identifier: MIT
#pragma once

// What every codec fuzz target asserts: a successful decode yields messages whose data is
// one compact JSON value and whose strings are valid UTF-8; a failed decode appends nothing
// and explains itself in valid UTF-8. Violations abort so libFuzzer records the input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <presenceagg/decode.hpp>

#include "../../unit/codec/codec_test_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace presenceagg::fuzz {

[[noreturn]] inline void violated(const char* what) {
    std::fprintf(stderr, "codec invariant violated: %s\n", what);
    std::abort();
}

inline void check(bool ok, const char* what) {
    if (!ok) violated(what);
}

inline void check_result(const DecodeResult& r) {
    check(r.ok() == r.message.empty(), "message set exactly when an error is");
    check(detail::is_valid_utf8(r.message), "error message is valid UTF-8");
    check(r.ok() || r.error.category() == error_category(), "error from the presenceagg category");
}

inline void check_batch(const DecodeResult& r, const DecodedBatch& batch) {
    check_result(r);
    if (!r.ok()) {
        check(batch.presence_count == 0 && batch.occupancy.empty() && batch.ignored_sources == 0,
              "a rejected body appends nothing");
        return;
    }
    check(batch.presence_count <= batch.presence.size(), "presence_count within the pool");
    check(test::valid_output(batch.messages()), "messages valid");
    for (const auto& o : batch.occupancy) {
        check(detail::is_valid_utf8(o.channel), "occupancy channel");
    }
}

/// Small limits for some inputs, so the limit paths get fuzzed too.
inline DecodeLimits limits_for(std::uint8_t selector) {
    DecodeLimits limits;
    if ((selector & 0x80U) != 0) {
        limits.max_depth = 6;
        limits.max_string_bytes = 24;
        limits.max_member_data_bytes = 96;
        limits.max_body_bytes = 2048;
    }
    return limits;
}

}  // namespace presenceagg::fuzz

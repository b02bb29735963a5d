// SPDX-License-Identifier: MIT
// Feeds the SSE parser the input in chunks whose sizes come from the input itself, and checks
// that the result does not depend on how the bytes were split, and that the bound holds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "command/sse_parser.hpp"

using presenceagg::detail::SseEvent;
using presenceagg::detail::SseParser;

// Declared first for -Wmissing-declarations; libFuzzer or replay_main.cpp calls it.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    constexpr std::size_t kMax = 256;  // small bound so overflows are reached
    const std::size_t stride = 1 + data[0] % 17;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    SseParser whole(kMax);
    whole.feed(input);
    SseParser split(kMax);
    for (std::size_t pos = 0; pos < input.size(); pos += stride) {
        split.feed(input.substr(pos, stride));
    }
    const std::vector<SseEvent> a = whole.take_events();
    const std::vector<SseEvent> b = split.take_events();
    if (a != b || whole.last_event_id() != split.last_event_id() ||
        whole.retry() != split.retry() || whole.error_count() != split.error_count()) {
        std::abort();
    }
    for (const SseEvent& e : a) {
        if (e.data.size() > kMax || e.type.size() > kMax || e.last_event_id.size() > kMax) {
            std::abort();
        }
    }
    whole.end_of_stream();
    whole.feed(input);
    (void)whole.take_events();
    return 0;
}

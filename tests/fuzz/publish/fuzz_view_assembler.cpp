// SPDX-License-Identifier: MIT
// Bytes -> NDJSON lines -> ViewAssembler. Invariants: no crash, no hang; the same lines always
// give the same result; a valid state renders as a non-empty JSON object.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <presenceagg/view_assembler.hpp>

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    presenceagg::ViewAssemblerConfig config;
    config.max_parts = 64;  // keeps per-round allocations small under the fuzzer
    presenceagg::ViewAssembler a(config);
    presenceagg::ViewAssembler b(config);
    std::size_t start = 0;
    while (start <= input.size()) {
        std::size_t end = input.find('\n', start);
        if (end == std::string_view::npos) end = input.size();
        const auto line = input.substr(start, end - start);
        const auto sa = a.add(line);
        const auto sb = b.add(line);
        check(sa == sb);
        check(static_cast<unsigned>(sa) <=
              static_cast<unsigned>(presenceagg::AssembleStatus::Stale));
        start = end + 1;
    }
    check(a.has_state() == b.has_state());
    check(a.hash() == b.hash());
    if (a.has_state()) {
        const auto json = a.state_json();
        check(json == b.state_json());
        check(json.size() >= 2 && json.front() == '{' && json.back() == '}');
    } else {
        check(a.state_json().empty());
    }
    return 0;
}

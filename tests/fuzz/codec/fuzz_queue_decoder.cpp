// SPDX-License-Identifier: MIT
// Fuzzes Decoder::decode_queue_message. Input: one selector byte, then the message.
//   selector bit 0 clear: the rest is an enveloped body, no headers.
//   selector bit 0 set:   the rest is "name: value" header lines, an empty line, then the
//                         body (the non-enveloped form and header-driven sources).
//   selector bit 7:       small decode limits.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace presenceagg;
    if (size == 0) return 0;
    const std::uint8_t selector = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    std::vector<Header> headers;
    if ((selector & 1U) != 0) {
        while (!rest.empty()) {
            const std::size_t eol = rest.find('\n');
            const std::string_view line = rest.substr(0, eol);
            rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
            if (line.empty()) break;
            const std::size_t colon = line.find(':');
            std::string_view value =
                colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
        }
    }
    Decoder decoder(fuzz::limits_for(selector));
    DecodedBatch batch;
    const DecodeResult r = decoder.decode_queue_message(rest, headers, batch);
    fuzz::check_batch(r, batch);
    // The same decoder, reused, must give the same answer (no state leaks between calls).
    DecodedBatch again;
    const DecodeResult r2 = decoder.decode_queue_message(rest, headers, again);
    fuzz::check(r.error == r2.error && r.message == r2.message, "decoding is repeatable");
    fuzz::check(again.presence_count == batch.presence_count, "same message count");
    return 0;
}

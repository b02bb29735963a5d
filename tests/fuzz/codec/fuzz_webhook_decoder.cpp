// SPDX-License-Identifier: MIT
// Fuzzes Decoder::decode_webhook. Input: one selector byte (bit 7: small limits), then the
// body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace presenceagg;
    if (size == 0) return 0;
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    Decoder decoder(fuzz::limits_for(data[0]));
    DecodedBatch batch;
    const DecodeResult r = decoder.decode_webhook(body, batch);
    fuzz::check_batch(r, batch);
    if (r.ok()) {
        // Decoding into a batch that already holds messages appends after them.
        const std::size_t first = batch.presence_count;
        const DecodeResult r2 = decoder.decode_webhook(body, batch);
        fuzz::check(r2.ok() && batch.presence_count == 2 * first, "append is stable");
    }
    return 0;
}

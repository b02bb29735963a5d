// SPDX-License-Identifier: MIT
// Fuzzes Decoder::decode_channel_presence and decode_batch_presence. Input: one selector byte
// (bit 0: batch, else channel presence; bit 7: small limits), then the body.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace presenceagg;
    if (size == 0) return 0;
    const std::uint8_t selector = data[0];
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    Decoder decoder(fuzz::limits_for(selector));
    if ((selector & 1U) == 0) {
        std::vector<PresenceMessage> out(1);  // pages append after what is there
        const DecodeResult r = decoder.decode_channel_presence(body, "room:1", out);
        fuzz::check_result(r);
        fuzz::check(!out.empty(), "existing entries kept");
        if (!r.ok()) {
            fuzz::check(out.size() == 1, "a rejected page appends nothing");
        } else {
            const std::span<const PresenceMessage> added(out.data() + 1, out.size() - 1);
            fuzz::check(test::valid_output(added), "members valid");
            for (const auto& m : added) fuzz::check(m.channel == "room:1", "channel given");
        }
        return 0;
    }
    std::vector<ChannelPresence> out;
    const DecodeResult r = decoder.decode_batch_presence(body, out);
    fuzz::check_result(r);
    if (!r.ok()) {
        fuzz::check(out.empty(), "a rejected batch appends nothing");
        return 0;
    }
    for (const auto& c : out) {
        fuzz::check(detail::is_valid_utf8(c.channel), "channel valid");
        fuzz::check(detail::is_valid_utf8(c.error_message), "error message valid");
        fuzz::check(test::valid_output(c.members), "members valid");
        for (const auto& m : c.members) fuzz::check(m.channel == c.channel, "member channel");
    }
    return 0;
}

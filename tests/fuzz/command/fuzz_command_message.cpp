// SPDX-License-Identifier: MIT
// Decodes the input as an Ably message, a history answer and an error: never crashes, and a
// decoded command is only Start/Stop for a message named "update".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "command/command_message.hpp"

using presenceagg::detail::Command;

// Declared first for -Wmissing-declarations; libFuzzer or replay_main.cpp calls it.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto message = presenceagg::detail::decode_command_message(input);
    if (message && message.message.command != Command::Other && message.message.name != "update") {
        std::abort();
    }
    const auto history = presenceagg::detail::decode_command_history(input);
    if (history && history.latest && history.latest->command != Command::Other &&
        history.latest->name != "update") {
        std::abort();
    }
    (void)presenceagg::detail::decode_ably_error(input);
    (void)presenceagg::detail::strip_channel_qualifier(input);
    bool ok = false;
    const auto bytes = presenceagg::detail::command_text::decode_base64(input, ok);
    if (!ok && !bytes.empty()) std::abort();
    (void)presenceagg::detail::command_text::is_valid_utf8(input);
    return 0;
}

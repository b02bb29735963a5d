// SPDX-License-Identifier: MIT
// `presence-agg replay`: apply a captured stream exactly as Ably delivered it, print the views
// (or, with --explain, why one member is or is not shown).
#include <cstdio>
#include <iostream>
#include <regex>
#include <string>

#include <presenceagg/decode.hpp>
#include <presenceagg/presence_store.hpp>

#include "commands.hpp"
#include "core/view_json.hpp"
#include "input_lines.hpp"

namespace presenceagg::cli {
namespace {

/// Messages remembered per member when explaining: enough to show the decisions around the
/// member's last change.
constexpr std::size_t kReplayExplainHistory = 8;

}  // namespace

int run_replay(const CommandLine& line) {
    const ReplayOptions& opt = line.replay;
    const bool webhook = opt.format == "webhook";
    std::optional<std::regex> filter;
    if (line.settings.origin("namespace-regex") != Origin::Default) {
        try {
            filter.emplace(line.settings.text("namespace-regex"), std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            std::cerr << "presence-agg: " << Settings::label("namespace-regex")
                      << ": invalid regular expression: " << e.what() << '\n';
            return 2;
        }
    }

    InputLines input(opt.file);
    Decoder decoder;
    DecodedBatch batch;
    const bool explain = opt.explain.size() == 3;
    MemoryPresenceStoreConfig store_config;
    if (explain) store_config.explain_history = kReplayExplainHistory;
    auto store = make_memory_presence_store(store_config);
    std::size_t bad = 0;
    std::size_t lines = 0;
    std::size_t events = 0;
    std::string text;
    for (;;) {
        const auto status = input.next(text);
        if (status == InputLines::Status::End) break;
        if (status == InputLines::Status::Failed) {
            std::cerr << "presence-agg: read error in " << opt.file << '\n';
            return 1;
        }
        if (status == InputLines::Status::TooLong) {
            ++bad;
            std::cerr << opt.file << ':' << input.line_number() << ": line too long, skipped\n";
            continue;
        }
        if (!text.empty() && text.back() == '\r') text.pop_back();
        if (text.find_first_not_of(" \t") == std::string::npos) continue;
        ++lines;
        batch.clear();
        const DecodeResult r = webhook ? decoder.decode_webhook(text, batch)
                                       : decoder.decode_queue_message(text, {}, batch);
        if (!r.ok()) {
            ++bad;
            std::cerr << opt.file << ':' << input.line_number() << ": " << r.message << '\n';
            continue;
        }
        for (const PresenceMessage& m : batch.messages()) {
            if (filter && !std::regex_search(m.channel, *filter)) continue;
            store->apply(m);
            ++events;
        }
    }

    if (explain) {
        // MemberKey is (channel, connectionId, clientId); the option reads channel, client, conn.
        std::cout << to_text(store->explain({opt.explain[0], opt.explain[2], opt.explain[1]}))
                  << '\n';
    } else if (!opt.view.empty()) {
        std::cout << detail::view_json(*store, *parse_view(opt.view)) << '\n';
    } else {
        std::cout << detail::all_views_json(*store) << '\n';
    }
    const StoreStats st = store->stats();
    std::cerr << "replayed " << lines << " lines, " << events << " events: " << st.applied
              << " applied, " << st.duplicate << " duplicate, " << st.stale << " stale, "
              << st.rejected << " rejected; " << bad << " bad lines\n";
    return (opt.strict && bad > 0) ? 1 : 0;
}

}  // namespace presenceagg::cli

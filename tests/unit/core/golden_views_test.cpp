// SPDX-License-Identifier: MIT
// A fixed scenario's four views, byte for byte, against tests/unit/core/golden/<view>.json.
// Set PRESENCEAGG_UPDATE_GOLDEN=1 to rewrite the files (then review the diff by hand).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <doctest/doctest.h>

#include <presenceagg/presence_store.hpp>

#include "core/view_json.hpp"
#include "json_value.hpp"
#include "store_test_support.hpp"

namespace {

using presenceagg::PresenceAction;
using presenceagg::test::msg;

std::filesystem::path golden_dir() {
    const char* root = std::getenv("PRESENCEAGG_SOURCE_ROOT");
    REQUIRE_MESSAGE(root != nullptr, "PRESENCEAGG_SOURCE_ROOT is not set (run through meson test)");
    return std::filesystem::path(root) / "tests" / "unit" / "core" / "golden";
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot read ", path.string());
    return {std::istreambuf_iterator<char>(in), {}};
}

void build_scenario(presenceagg::PresenceStore& store) {
    const auto apply = [&](presenceagg::PresenceMessage m) {
        REQUIRE(store.apply(m) == presenceagg::ApplyOutcome::Applied);
    };
    apply(msg("lobby", "ann", "conn-a", "conn-a:1:0", PresenceAction::Enter, 1700000000000,
              "{\"status\":\"here\"}"));
    apply(msg("lobby", "bob", "conn-b", "conn-b:4:0", PresenceAction::Enter, 1700000000100,
              "\"text data\""));
    apply(msg("lobby", "bob", "conn-b2", "conn-b2:1:0", PresenceAction::Present, 1700000000200));
    apply(msg("room/2", "ann", "conn-a", "conn-a:1:1", PresenceAction::Enter, 1700000000000,
              "[1,2,3]"));
    apply(msg("room:1", "c:d/e", "conn-b", "conn-b:5:0", PresenceAction::Enter, 1700000000300,
              "null"));
    auto secret = msg("room:1", "zo\xc3\xab \"q\"", "conn-z", "conn-z:2:3", PresenceAction::Update,
                      1700000000400, "\"c2VjcmV0\"");
    secret.encoding = "cipher+aes-128-cbc/base64";
    secret.extras = "{\"headers\":{\"role\":\"mod\"}}";
    apply(secret);
    // Gone again: must appear nowhere.
    apply(msg("lobby", "gone", "conn-g", "conn-g:1:0", PresenceAction::Enter, 1700000000000));
    apply(msg("lobby", "gone", "conn-g", "conn-g:2:0", PresenceAction::Leave, 1700000000500));
    apply(msg("lobby", "ann", "conn-a", "conn-a:3:0", PresenceAction::Update, 1700000000600,
              "{\"status\":\"away\"}"));
    store.set_suspect("quiet", true);
    store.set_suspect("room:1", true);
}

}  // namespace

TEST_SUITE("MemoryPresenceStore golden views") {
    TEST_CASE("a fixed scenario serialises to the golden JSON of each view") {
        auto store = presenceagg::make_memory_presence_store();
        build_scenario(*store);
        const bool update = std::getenv("PRESENCEAGG_UPDATE_GOLDEN") != nullptr;
        for (const presenceagg::View view : presenceagg::kAllViews) {
            CAPTURE(to_string(view));
            const auto path = golden_dir() / (std::string(to_string(view)) + ".json");
            const std::string actual = presenceagg::detail::view_json(*store, view) + "\n";
            if (update) {
                std::ofstream(path, std::ios::binary) << actual;
            }
            CHECK(actual == read_file(path));
            CHECK(presenceagg::test::JsonReader::parse(actual).has_value());
        }
        const std::string all = presenceagg::detail::all_views_json(*store);
        const auto parsed = presenceagg::test::JsonReader::parse(all);
        REQUIRE(parsed.has_value());
        REQUIRE(parsed->members.size() == 4);
        CHECK(parsed->members[3].key == "counts");
        CHECK(all.starts_with("{\"by-channel\":{\"lobby\":"));
        CHECK(all.find(",\"counts\":{\"channels\":") != std::string::npos);
    }
}

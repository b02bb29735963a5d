// SPDX-License-Identifier: MIT
#include "core/view_json.hpp"

#include "wire/json_text.hpp"

namespace presenceagg::detail {
namespace {

void append_view(std::string& out, const PresenceStore& store, View view) {
    TreeWriter writer(out, view_depth(view));
    store.visit(view, [&](std::span<const std::string_view> path, std::string_view leaf) {
        writer.leaf(path, leaf);
    });
    writer.finish();
}

}  // namespace

std::string view_json(const PresenceStore& store, View view) {
    std::string out;
    append_view(out, store, view);
    return out;
}

std::string all_views_json(const PresenceStore& store) {
    std::string out = "{";
    bool first = true;
    for (const View view : kAllViews) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, to_string(view));
        out.push_back(':');
        append_view(out, store, view);
    }
    out.push_back('}');
    return out;
}

}  // namespace presenceagg::detail

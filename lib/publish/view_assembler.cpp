// SPDX-License-Identifier: MIT
#include <algorithm>
#include <deque>
#include <map>
#include <vector>

#include <presenceagg/view_assembler.hpp>

#include "publish/json_scan.hpp"
#include "publish/leaf_path.hpp"
#include "publish/part_parser.hpp"
#include "wire/content_hash.hpp"
#include "wire/json_text.hpp"

namespace presenceagg {

using detail::LeafPath;
using detail::ParsedLeaf;
using detail::ParsedPart;

std::string_view to_string(AssembleStatus status) noexcept {
    switch (status) {
        case AssembleStatus::Applied:
            return "applied";
        case AssembleStatus::PartStored:
            return "part-stored";
        case AssembleStatus::Gap:
            return "gap";
        case AssembleStatus::HashMismatch:
            return "hash-mismatch";
        case AssembleStatus::Malformed:
            return "malformed";
        case AssembleStatus::OtherView:
            return "other-view";
        case AssembleStatus::Stale:
            return "stale";
    }
    return "unknown";
}

namespace {

// Epochs left behind are remembered so that their late messages read as Stale, not as yet
// another restart. Epochs are random, so only this memory orders them.
constexpr std::size_t kRetiredEpochs = 16;

struct StoredLeaf {
    std::string raw;
    std::uint64_t hash = 0;
};

struct Round {
    std::uint64_t seq = 0;
    bool snapshot = true;
    std::uint64_t base = 0;
    std::uint64_t parts = 0;
    std::uint64_t hash = 0;
    bool gap = false;  // a diff that cannot apply: its parts are answered Gap, not kept
    std::vector<std::optional<std::vector<ParsedLeaf>>> received;
    std::size_t count = 0;
    std::size_t bytes = 0;
};

}  // namespace

struct ViewAssembler::Impl {
    ViewAssemblerConfig config;
    std::optional<View> view;
    bool have_epoch = false;
    std::uint64_t epoch = 0;
    std::deque<std::uint64_t> retired;
    std::uint64_t seq = 0;      // seq of the state
    std::uint64_t decided = 0;  // highest seq of this epoch whose round completed or was refused
    bool has_state = false;
    std::map<LeafPath, StoredLeaf> state;
    std::uint64_t state_hash = 0;
    std::optional<Round> round;
    std::uint64_t gaps = 0;
    std::uint64_t mismatches = 0;
    std::uint64_t malformed = 0;
    std::uint64_t applied = 0;
    std::string last_error;

    AssembleStatus reject(std::string why) {
        ++malformed;
        last_error = std::move(why);
        return AssembleStatus::Malformed;
    }

    void invalidate() {
        has_state = false;
        state.clear();
        state_hash = 0;
    }

    AssembleStatus add(std::string_view json);
    AssembleStatus accept(ParsedPart part);
    AssembleStatus complete();
    void put(const ParsedLeaf& leaf, std::map<LeafPath, StoredLeaf>& into, std::uint64_t& hash);
};

AssembleStatus ViewAssembler::Impl::add(std::string_view json) {
    if (json.size() > config.max_message_bytes) return reject("message larger than the bound");
    // Envelope nesting beyond this is not an Ably message (extras are shallow).
    constexpr std::size_t kMaxEnvelopeDepth = 64;
    const auto fields = detail::scan_object(json, kMaxEnvelopeDepth);
    if (!fields) return reject("not a JSON object");
    using detail::find_member;
    using Kind = detail::JsonMember::Kind;

    std::string_view data;
    std::optional<std::string_view> name;
    if (find_member(*fields, "v") != nullptr && find_member(*fields, "body") != nullptr) {
        data = json;  // a bare data object
    } else {
        const detail::JsonMember* d = find_member(*fields, "data");
        if (d == nullptr) return reject("no \"data\"");
        std::string_view encoding;
        if (const detail::JsonMember* e = find_member(*fields, "encoding"); e != nullptr) {
            if (e->kind == Kind::String) {
                encoding = e->text;
            } else if (e->kind != Kind::Null) {
                return reject("\"encoding\" is not a string");
            }
        }
        if (d->kind == Kind::String) {
            // History gives data as text with encoding "json"; text without an encoding is
            // accepted too when it is the data object.
            if (encoding != "json" && encoding != "utf-8/json" && !encoding.empty()) {
                return reject("unsupported encoding");
            }
            data = d->text;
        } else if (d->kind == Kind::Object && encoding.empty()) {
            data = json.substr(d->begin, d->end - d->begin);  // already decoded: its own bytes
        } else {
            return reject("\"data\" is neither JSON text nor an object");
        }
        if (const detail::JsonMember* n = find_member(*fields, "name");
            n != nullptr && n->kind == Kind::String) {
            name = n->text;
        }
    }

    std::string error;
    auto part = detail::parse_part(data, config.max_leaf_depth, error);
    if (!part) return reject(std::move(error));
    if (name && *name != (part->snapshot ? "snapshot" : "diff")) {
        return reject("message name does not match \"kind\"");
    }
    return accept(std::move(*part));
}

AssembleStatus ViewAssembler::Impl::accept(ParsedPart part) {
    if (config.view && part.view != *config.view) return AssembleStatus::OtherView;
    if (view && part.view != *view) return AssembleStatus::OtherView;
    if (part.parts > config.max_parts) return reject("more parts than the bound");
    view = part.view;

    if (!have_epoch || part.epoch != epoch) {
        if (std::find(retired.begin(), retired.end(), part.epoch) != retired.end()) {
            return AssembleStatus::Stale;
        }
        if (have_epoch) {
            retired.push_back(epoch);
            if (retired.size() > kRetiredEpochs) retired.pop_front();
        }
        // A new publisher: nothing of the old stream applies to it.
        have_epoch = true;
        epoch = part.epoch;
        seq = 0;
        decided = 0;
        round.reset();
        invalidate();
    }

    if (part.seq <= decided) return AssembleStatus::Stale;
    if (round && part.seq < round->seq) return AssembleStatus::Stale;
    if (round && part.seq > round->seq) round.reset();  // an incomplete round is abandoned

    if (!round) {
        Round r;
        r.seq = part.seq;
        r.snapshot = part.snapshot;
        r.base = part.base;
        r.parts = part.parts;
        r.hash = part.hash;
        if (!part.snapshot && (!has_state || part.base != seq)) {
            ++gaps;
            r.gap = true;
            invalidate();
        } else {
            r.received.resize(part.parts);
        }
        round = std::move(r);
    } else if (round->snapshot != part.snapshot || round->parts != part.parts ||
               round->hash != part.hash || (!part.snapshot && round->base != part.base)) {
        return reject("part disagrees with its round");
    }

    Round& r = *round;
    if (r.gap) return AssembleStatus::Gap;
    auto& slot = r.received[part.part];
    if (slot) return AssembleStatus::Stale;  // a redelivered part
    r.bytes += part.leaf_bytes;
    if (r.bytes > config.max_round_bytes) {
        round.reset();
        return reject("round larger than the bound");
    }
    slot = std::move(part.leaves);
    if (++r.count < r.parts) return AssembleStatus::PartStored;
    return complete();
}

void ViewAssembler::Impl::put(const ParsedLeaf& leaf,
                              std::map<LeafPath, StoredLeaf>& into,
                              std::uint64_t& hash) {
    if (leaf.removed) {
        if (const auto it = into.find(leaf.path); it != into.end()) {
            hash -= it->second.hash;
            into.erase(it);
        }
        return;
    }
    auto [it, inserted] = into.try_emplace(leaf.path);
    if (!inserted) hash -= it->second.hash;
    it->second.raw = leaf.raw;
    it->second.hash = leaf.hash;
    hash += leaf.hash;
}

AssembleStatus ViewAssembler::Impl::complete() {
    Round r = std::move(*round);
    round.reset();
    decided = r.seq;
    if (r.snapshot) {
        std::map<LeafPath, StoredLeaf> next;
        std::uint64_t next_hash = 0;
        for (const auto& leaves : r.received) {
            for (const auto& leaf : *leaves) put(leaf, next, next_hash);
        }
        state = std::move(next);
        state_hash = next_hash;
    } else {
        for (const auto& leaves : r.received) {
            for (const auto& leaf : *leaves) put(leaf, state, state_hash);
        }
    }
    if (state.size() > config.max_leaves) {
        invalidate();
        return reject("view larger than the bound");
    }
    if (state_hash != r.hash) {
        ++mismatches;
        invalidate();
        return AssembleStatus::HashMismatch;
    }
    has_state = true;
    seq = r.seq;
    ++applied;
    return AssembleStatus::Applied;
}

ViewAssembler::ViewAssembler(ViewAssemblerConfig config)
    : impl_(std::make_unique<Impl>()) {
    impl_->config = config;
    impl_->view = config.view;
}

ViewAssembler::~ViewAssembler() = default;
ViewAssembler::ViewAssembler(ViewAssembler&&) noexcept = default;
ViewAssembler& ViewAssembler::operator=(ViewAssembler&&) noexcept = default;

AssembleStatus ViewAssembler::add(std::string_view ably_message_json) {
    try {
        return impl_->add(ably_message_json);
    } catch (const std::bad_alloc&) {
        impl_->round.reset();
        return impl_->reject("out of memory");
    }
}

std::optional<View> ViewAssembler::view() const noexcept {
    return impl_->view;
}

std::string ViewAssembler::epoch() const {
    return impl_->have_epoch ? detail::hash_hex(impl_->epoch) : std::string();
}

std::uint64_t ViewAssembler::seq() const noexcept {
    return impl_->seq;
}
bool ViewAssembler::has_state() const noexcept {
    return impl_->has_state;
}
std::uint64_t ViewAssembler::hash() const noexcept {
    return impl_->state_hash;
}
std::size_t ViewAssembler::leaves() const noexcept {
    return impl_->state.size();
}
std::uint64_t ViewAssembler::gaps() const noexcept {
    return impl_->gaps;
}
std::uint64_t ViewAssembler::mismatches() const noexcept {
    return impl_->mismatches;
}
std::uint64_t ViewAssembler::malformed() const noexcept {
    return impl_->malformed;
}
std::uint64_t ViewAssembler::rounds_applied() const noexcept {
    return impl_->applied;
}
std::string ViewAssembler::last_error() const {
    return impl_->last_error;
}

std::string ViewAssembler::state_json() const {
    if (!impl_->has_state || !impl_->view) return {};
    const std::size_t depth = view_depth(*impl_->view);
    std::string out;
    detail::TreeWriter writer(out, depth);
    for (const auto& [path, leaf] : impl_->state) {
        writer.leaf(detail::path_views(path, depth).span(), leaf.raw);
    }
    writer.finish();
    return out;
}

}  // namespace presenceagg

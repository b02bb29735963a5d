// SPDX-License-Identifier: MIT
#include "publish/view_encoder.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

#include <presenceagg/error.hpp>

#include "publish/json_scan.hpp"
#include "wire/content_hash.hpp"
#include "wire/json_text.hpp"
#include "wire/publish_body.hpp"

namespace presenceagg::detail {

namespace {

// The part numbers reserved while parts are filled, before their count is known: the widest
// header any real part number can produce.
constexpr std::size_t kReservedPartNumber = 9'999'999'999ULL;

// The id and timestamp of a member leaf, for the stub that replaces an oversized leaf.
std::optional<std::string> oversized_stub(std::string_view leaf_json) {
    const auto members = scan_object(leaf_json, 256);
    if (!members) return std::nullopt;
    const JsonMember* id = find_member(*members, "id");
    const JsonMember* ts = find_member(*members, "timestamp");
    if (id == nullptr || id->kind != JsonMember::Kind::String) return std::nullopt;
    if (ts == nullptr || ts->kind != JsonMember::Kind::Number) return std::nullopt;
    std::int64_t timestamp = 0;
    const auto [end, ec] =
        std::from_chars(ts->text.data(), ts->text.data() + ts->text.size(), timestamp);
    if (ec != std::errc() || end != ts->text.data() + ts->text.size()) return std::nullopt;
    std::string stub = "{\"id\":";
    append_json_string(stub, id->text);
    stub += ",\"oversized\":true,\"timestamp\":";
    append_json_int(stub, timestamp);
    stub.push_back('}');
    return stub;
}

// seq, base and part numbers stay far below 2^63.
void append_uint(std::string& out, std::uint64_t v) {
    append_json_int(out, static_cast<std::int64_t>(v));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

RoundBuilder::RoundBuilder(View view,
                           bool snapshot,
                           std::uint64_t epoch,
                           std::uint64_t seq,
                           std::uint64_t base,
                           std::size_t max_message_size)
    : view_(view),
      snapshot_(snapshot),
      epoch_(epoch),
      seq_(seq),
      base_(base),
      max_message_size_(max_message_size),
      depth_(view_depth(view)) {
    const OutboundMessage widest{message_id(kReservedPartNumber), snapshot ? "snapshot" : "diff",
                                 header(kReservedPartNumber, kReservedPartNumber, 0) + "}"};
    const std::size_t fixed = publish_body_size(std::span(&widest, 1));
    body_budget_ = max_message_size > fixed ? max_message_size - fixed : 0;
    body_.assign(1, '{');  // not = "{": GCC 12 -Wrestrict false positive
    body_escaped_ = 1;
    round_.view = view;
    round_.snapshot = snapshot;
    round_.epoch = epoch;
    round_.seq = seq;
    round_.base = snapshot ? 0 : base;
}

std::string RoundBuilder::message_id(std::size_t part) const {
    std::string id = hash_hex(epoch_);
    id.push_back('.');
    id += to_string(view_);
    id.push_back('.');
    append_uint(id, seq_);
    id.push_back(':');
    append_uint(id, part);
    return id;
}

std::string RoundBuilder::header(std::size_t part, std::size_t parts, std::uint64_t hash) const {
    std::string h = "{\"v\":1,\"view\":\"";
    h += to_string(view_);
    h += "\",\"epoch\":\"";
    h += hash_hex(epoch_);
    h += "\",\"seq\":";
    append_uint(h, seq_);
    if (snapshot_) {
        h += ",\"kind\":\"snapshot\"";
    } else {
        h += ",\"kind\":\"diff\",\"base\":";
        append_uint(h, base_);
    }
    h += ",\"part\":";
    append_uint(h, part);
    h += ",\"parts\":";
    append_uint(h, parts);
    h += ",\"hash\":\"";
    h += hash_hex(hash);
    h += "\",\"body\":";
    return h;
}

bool RoundBuilder::try_append(std::span<const std::string_view> path, std::string_view leaf_json) {
    scratch_.clear();
    std::size_t common = 0;
    if (body_leaves_ > 0) {
        while (common + 1 < depth_ && prev_[common] == path[common]) ++common;
        scratch_.append(depth_ - 1 - common, '}');
        scratch_.push_back(',');
    }
    for (std::size_t i = common; i < depth_; ++i) {
        append_json_string(scratch_, path[i]);
        scratch_.push_back(':');
        if (i + 1 < depth_) scratch_.push_back('{');
    }
    scratch_ += leaf_json;
    const std::size_t escaped = json_string_size(scratch_) - 2;  // inside the data string
    // After this leaf the part closes with depth_ braces (inner objects plus the body itself).
    if (body_escaped_ + escaped + depth_ > body_budget_) return false;
    body_ += scratch_;
    body_escaped_ += escaped;
    for (std::size_t i = common; i < depth_; ++i) prev_[i].assign(path[i]);
    ++body_leaves_;
    ++round_.leaves;
    return true;
}

void RoundBuilder::close_part() {
    if (body_leaves_ > 0) {
        body_.append(depth_, '}');
    } else {
        body_.push_back('}');
    }
    bodies_.push_back(std::move(body_));
    body_.assign(1, '{');  // not = "{": GCC 12 -Wrestrict false positive
    body_escaped_ = 1;
    body_leaves_ = 0;
}

void RoundBuilder::add(std::span<const std::string_view> path, std::string_view leaf_json) {
    if (try_append(path, leaf_json)) return;
    if (body_leaves_ > 0) {
        close_part();
        if (try_append(path, leaf_json)) return;
    }
    // Too large even alone: members keep their identity and version so that the view's hash
    // stays verifiable; anything else is left out.
    if (is_member_view(view_) && leaf_json != "null") {
        if (const auto stub = oversized_stub(leaf_json); stub && try_append(path, *stub)) {
            ++round_.oversized;
            return;
        }
    }
    ++round_.dropped;
}

EncodedRound RoundBuilder::finish(std::uint64_t hash) {
    if (body_leaves_ > 0 || bodies_.empty()) close_part();
    round_.hash = hash;
    round_.parts = bodies_.size();
    const std::string_view name = snapshot_ ? "snapshot" : "diff";

    PublishRequest request;
    request.body_size = 2;
    for (std::size_t i = 0; i < bodies_.size(); ++i) {
        OutboundMessage m{message_id(i), std::string(name), header(i, bodies_.size(), hash)};
        m.data += bodies_[i];
        m.data.push_back('}');
        std::string().swap(bodies_[i]);
        const std::size_t size = publish_body_element_size(m, false);
        if (!request.messages.empty() && request.body_size + 1 + size > max_message_size_) {
            round_.requests.push_back(std::move(request));
            request = PublishRequest{};
            request.body_size = 2;
        }
        request.body_size += size + (request.messages.empty() ? 0 : 1);
        request.data_bytes += m.data.size();
        round_.data_bytes += m.data.size();
        request.messages.push_back(std::move(m));
    }
    round_.requests.push_back(std::move(request));
    bodies_.clear();
    return std::move(round_);
}

// ---------------------------------------------------------------------------------------------

void ViewEncoder::check_max_message_size(std::size_t max_message_size) {
    if (max_message_size < kMinMessageSize) {
        throw Error(Errc::InvalidConfig, "publish max_message_size must be at least " +
                                             std::to_string(kMinMessageSize) + " bytes");
    }
}

ViewEncoder::ViewEncoder(std::size_t max_message_size)
    : max_message_size_(max_message_size) {
    check_max_message_size(max_message_size);
}

EncodedRound ViewEncoder::snapshot(const PresenceStore& store,
                                   View view,
                                   std::uint64_t epoch,
                                   std::uint64_t seq) const {
    RoundBuilder builder(view, true, epoch, seq, 0, max_message_size_);
    const std::uint64_t hash =
        store.visit(view, [&](std::span<const std::string_view> path, std::string_view leaf) {
            builder.add(path, leaf);
        });
    return builder.finish(hash);
}

EncodedRound ViewEncoder::diff(View view,
                               std::uint64_t epoch,
                               std::uint64_t seq,
                               std::uint64_t base,
                               std::uint64_t hash,
                               const PendingLeaves& leaves) const {
    RoundBuilder builder(view, false, epoch, seq, base, max_message_size_);
    const std::size_t depth = view_depth(view);
    for (const auto& [path, leaf] : leaves) {
        builder.add(path_views(path, depth).span(), leaf ? std::string_view(*leaf) : "null");
    }
    return builder.finish(hash);
}

}  // namespace presenceagg::detail

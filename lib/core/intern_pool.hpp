// SPDX-License-Identifier: MIT
#pragma once

// InternPool: each distinct string gets a small integer id, reference-counted and released when
// the last user lets go, so member records hold three 32-bit ids instead of three strings. Ids
// compare equal exactly when the strings do (the table compares bytes, not hashes). Each entry
// carries a caller-defined `Extra` (per-channel or per-client bookkeeping). Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/index_table.hpp"

namespace presenceagg::detail {

template <class Extra>
class InternPool {
public:
    struct Entry {
        std::string name;
        std::uint32_t refs = 0;  // 0 = free slot
        Extra extra{};
    };

    /// The id of `name`, or kNoIndex when it is not interned.
    [[nodiscard]] std::uint32_t find(std::string_view name) const {
        return find(name, hash_bytes(name));
    }
    [[nodiscard]] std::uint32_t find(std::string_view name, std::uint64_t hash) const {
        return table_.find(hash, [&](std::uint32_t id) { return entries_[id].name == name; });
    }

    /// Finds or adds `name` and takes one reference to it.
    std::uint32_t acquire(std::string_view name) { return acquire(name, hash_bytes(name)); }
    /// The same, with `hash == hash_bytes(name)` already computed.
    std::uint32_t acquire(std::string_view name, std::uint64_t hash) {
        std::uint32_t id = find(name, hash);
        if (id == kNoIndex) {
            if (free_.empty()) {
                id = static_cast<std::uint32_t>(entries_.size());
                entries_.emplace_back();
            } else {
                id = free_.back();
                free_.pop_back();
            }
            entries_[id].name.assign(name);
            table_.insert(hash, id);
            ++live_;
            ++generation_;
        }
        ++entries_[id].refs;
        return id;
    }

    void retain(std::uint32_t id) noexcept { ++entries_[id].refs; }

    /// Drops one reference; the entry is freed (and its id reusable) when none remain.
    void release(std::uint32_t id) {
        Entry& e = entries_[id];
        if (--e.refs != 0) return;
        table_.erase(hash_bytes(e.name), id);
        std::string().swap(e.name);
        e.extra = Extra{};
        free_.push_back(id);
        --live_;
    }

    [[nodiscard]] Entry& operator[](std::uint32_t id) noexcept { return entries_[id]; }
    [[nodiscard]] const Entry& operator[](std::uint32_t id) const noexcept { return entries_[id]; }
    [[nodiscard]] std::string_view name(std::uint32_t id) const noexcept {
        return entries_[id].name;
    }

    /// Number of ids ever handed out (live or free); ids are below this.
    [[nodiscard]] std::size_t id_limit() const noexcept { return entries_.size(); }
    [[nodiscard]] std::size_t live() const noexcept { return live_; }
    [[nodiscard]] bool is_live(std::uint32_t id) const noexcept { return entries_[id].refs != 0; }
    /// Changes whenever a string is added, so sorted orders can be cached.
    [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }

private:
    std::vector<Entry> entries_;
    std::vector<std::uint32_t> free_;
    IndexTable table_;
    std::size_t live_ = 0;
    std::uint64_t generation_ = 0;
};

}  // namespace presenceagg::detail

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
        std::uint64_t hash = 0;
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
    std::uint32_t acquire(std::string_view name) {
        const std::uint64_t hash = hash_bytes(name);
        std::uint32_t id = find(name, hash);
        if (id == kNoIndex) {
            if (free_.empty()) {
                id = static_cast<std::uint32_t>(entries_.size());
                entries_.emplace_back();
                // Room for every id in the free list, so release() never allocates.
                if (free_.capacity() < entries_.size()) free_.reserve(entries_.capacity());
            } else {
                id = free_.back();
                free_.pop_back();
            }
            Entry& e = entries_[id];
            e.name.assign(name);
            e.hash = hash;
            table_.insert(hash, id);
            ++live_;
            ++generation_;
        }
        ++entries_[id].refs;
        return id;
    }

    void retain(std::uint32_t id) noexcept { ++entries_[id].refs; }

    /// Drops one reference; the entry is freed (and its id reusable) when none remain.
    void release(std::uint32_t id) noexcept {
        Entry& e = entries_[id];
        if (--e.refs != 0) return;
        table_.erase(e.hash, id);
        std::string().swap(e.name);
        e.extra = Extra{};
        free_.push_back(id);  // never reallocates: see acquire()
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

    /// Forgets everything (entries must have no users left).
    void reset() {
        entries_.clear();
        entries_.shrink_to_fit();
        free_.clear();
        free_.shrink_to_fit();
        table_.clear();
        live_ = 0;
        ++generation_;
    }

private:
    std::vector<Entry> entries_;
    std::vector<std::uint32_t> free_;
    IndexTable table_;
    std::size_t live_ = 0;
    std::uint64_t generation_ = 0;
};

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

// IndexTable: an open-addressing hash index from a caller-defined key to a 32-bit record index.
// The records live elsewhere (the caller's arrays); the table keeps only (hash tag, index) pairs
// in 8-byte slots, so a lookup costs one cache line for the slot plus one record comparison for
// the match. Keys are always compared exactly by the caller's predicate: the hash only narrows
// the search, it is never identity. Linear probing with backward-shift deletion; no tombstones.
// Not thread-safe.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace presenceagg::detail {

inline constexpr std::uint32_t kNoIndex = 0xFFFFFFFFU;

/// The 64-bit finaliser of MurmurHash3: spreads every input bit over the result.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/// A fast, well-mixed hash of a byte string (8 bytes per step), for hash-table placement only.
[[nodiscard]] inline std::uint64_t hash_bytes(std::string_view s) noexcept {
    constexpr std::uint64_t kMul = 0x9e3779b97f4a7c15ULL;
    std::uint64_t h = s.size() * kMul;
    const char* p = s.data();
    std::size_t n = s.size();
    while (n >= 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, 8);
        h = (h ^ mix64(w)) * kMul;
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);
        h = (h ^ mix64(w ^ (static_cast<std::uint64_t>(n) << 56))) * kMul;
    }
    return mix64(h);
}

/// A hash of a member key (three strings) for table placement, in one pass: each field's length
/// and 8-byte words are folded with a multiply-rotate step, then the result is mixed once.
[[nodiscard]] inline std::uint64_t hash_key3(std::string_view a,
                                             std::string_view b,
                                             std::string_view c) noexcept {
    constexpr std::uint64_t kMul = 0x9e3779b97f4a7c15ULL;
    std::uint64_t h = 0x243f6a8885a308d3ULL;
    const auto step = [&](std::uint64_t w) { h = std::rotl((h ^ w) * kMul, 29); };
    for (const std::string_view s : {a, b, c}) {
        step(s.size());
        const char* p = s.data();
        std::size_t n = s.size();
        while (n >= 8) {
            std::uint64_t w = 0;
            std::memcpy(&w, p, 8);
            step(w);
            p += 8;
            n -= 8;
        }
        if (n >= 4) {  // 4..7 bytes: two overlapping 4-byte reads
            std::uint32_t lo = 0;
            std::uint32_t hi = 0;
            std::memcpy(&lo, p, 4);
            std::memcpy(&hi, p + n - 4, 4);
            step((std::uint64_t{hi} << 32) | lo);
        } else if (n > 0) {  // 1..3 bytes: first, middle and last
            const auto byte = [&](std::size_t k) {
                return std::uint64_t{static_cast<unsigned char>(p[k])};
            };
            step(byte(0) | (byte(n / 2) << 8) | (byte(n - 1) << 16));
        }
    }
    return mix64(h);
}

class IndexTable {
public:
    IndexTable() = default;

    /// Starts loading the cache line where a lookup of `hash` begins.
    void prefetch(std::uint64_t hash) const noexcept {
        if (!slots_.empty()) __builtin_prefetch(&slots_[home(tag_of(hash))]);
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t memory_bytes() const noexcept {
        return slots_.capacity() * sizeof(std::uint64_t);
    }

    /// The index whose key matches (`is_key(index)`), or kNoIndex.
    template <class IsKey>
    [[nodiscard]] std::uint32_t find(std::uint64_t hash, IsKey&& is_key) const {
        if (size_ == 0) return kNoIndex;
        const std::uint32_t tag = tag_of(hash);
        for (std::size_t pos = home(tag);; pos = (pos + 1) & mask_) {
            const std::uint64_t slot = slots_[pos];
            if (slot == 0) return kNoIndex;
            if (slot_tag(slot) == tag && is_key(slot_index(slot))) return slot_index(slot);
        }
    }

    /// Adds `index` under `hash`; the caller guarantees its key is not in the table yet.
    void insert(std::uint64_t hash, std::uint32_t index) {
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        place(make_slot(tag_of(hash), index));
        ++size_;
    }

    /// Removes the slot holding `index` (inserted under `hash`); false when absent.
    bool erase(std::uint64_t hash, std::uint32_t index) noexcept {
        if (size_ == 0) return false;
        const std::uint64_t wanted = make_slot(tag_of(hash), index);
        std::size_t pos = home(tag_of(hash));
        while (slots_[pos] != wanted) {
            if (slots_[pos] == 0) return false;
            pos = (pos + 1) & mask_;
        }
        // Backward-shift: pull later entries of the probe run into the hole.
        std::size_t hole = pos;
        for (std::size_t next = (hole + 1) & mask_;; next = (next + 1) & mask_) {
            const std::uint64_t slot = slots_[next];
            if (slot == 0) break;
            const std::size_t want = home(slot_tag(slot));
            // Movable when its home is not in the cyclic range (hole, next].
            if (((next - want) & mask_) >= ((next - hole) & mask_)) {
                slots_[hole] = slot;
                hole = next;
            }
        }
        slots_[hole] = 0;
        --size_;
        return true;
    }

    void clear() noexcept {
        std::vector<std::uint64_t>().swap(slots_);
        mask_ = 0;
        shift_ = 32;
        size_ = 0;
    }

private:
    static constexpr std::uint32_t tag_of(std::uint64_t hash) noexcept {
        return static_cast<std::uint32_t>(hash >> 32);
    }
    static constexpr std::uint64_t make_slot(std::uint32_t tag, std::uint32_t index) noexcept {
        return (static_cast<std::uint64_t>(tag) << 32) | (static_cast<std::uint64_t>(index) + 1);
    }
    static constexpr std::uint32_t slot_tag(std::uint64_t slot) noexcept {
        return static_cast<std::uint32_t>(slot >> 32);
    }
    static constexpr std::uint32_t slot_index(std::uint64_t slot) noexcept {
        return static_cast<std::uint32_t>(slot & 0xFFFFFFFFU) - 1;
    }
    // Home position from the top bits of the tag, so a rehash needs no original hashes.
    [[nodiscard]] std::size_t home(std::uint32_t tag) const noexcept {
        return shift_ >= 32 ? 0 : static_cast<std::size_t>(tag >> shift_);
    }

    void place(std::uint64_t slot) noexcept {
        std::size_t pos = home(slot_tag(slot));
        while (slots_[pos] != 0) pos = (pos + 1) & mask_;
        slots_[pos] = slot;
    }

    void grow() {
        const std::size_t capacity = slots_.empty() ? 16 : slots_.size() * 2;
        std::vector<std::uint64_t> old(capacity, 0);
        old.swap(slots_);
        mask_ = capacity - 1;
        shift_ = 32 - static_cast<unsigned>(std::countr_zero(capacity));
        for (const std::uint64_t slot : old) {
            if (slot != 0) place(slot);
        }
    }

    std::vector<std::uint64_t> slots_;
    std::size_t mask_ = 0;
    unsigned shift_ = 32;
    std::size_t size_ = 0;
};

}  // namespace presenceagg::detail

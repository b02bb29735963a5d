// SPDX-License-Identifier: MIT
#pragma once

// MemberText: one heap block per member holding its key strings (channel, clientId,
// connectionId), its message id and its rendered leaf JSON, behind a small header of lengths.
// Keeping the key here lets a lookup confirm a hash-table hit exactly with the one cache line it
// has to read anyway, instead of visiting three interned strings. An update rewrites id and leaf
// in place when they fit. Not thread-safe.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace presenceagg::detail {

class MemberText {
public:
    /// Fills a fresh text: key, id and leaf.
    void assign(std::string_view channel,
                std::string_view client,
                std::string_view connection,
                std::string_view id,
                std::string_view leaf) {
        Header h{};
        h.channel_len = static_cast<std::uint32_t>(channel.size());
        h.client_len = static_cast<std::uint32_t>(client.size());
        h.connection_len = static_cast<std::uint32_t>(connection.size());
        const std::size_t key = channel.size() + client.size() + connection.size();
        reserve(h, sizeof(Header) + key + id.size() + leaf.size(), false);
        char* p = data_.get() + sizeof(Header);
        p = put(p, channel);
        p = put(p, client);
        put(p, connection);
        write_version(h, id, leaf);
    }

    /// Replaces id and leaf; the key stays.
    void set_version(std::string_view id, std::string_view leaf) {
        Header h = header();
        reserve(h, sizeof(Header) + key_size(h) + id.size() + leaf.size(), true);
        write_version(h, id, leaf);
    }

    /// Drops the leaf (a tombstone keeps key and id).
    void drop_leaf() noexcept {
        if (!data_) return;
        Header h = header();
        h.leaf_len = 0;
        std::memcpy(data_.get(), &h, sizeof h);
    }

    void release() noexcept { data_.reset(); }
    [[nodiscard]] bool empty() const noexcept { return !data_; }

    [[nodiscard]] bool key_equals(std::string_view channel,
                                  std::string_view client,
                                  std::string_view connection) const noexcept {
        if (!data_) return false;
        const Header h = header();
        if (h.channel_len != channel.size() || h.client_len != client.size() ||
            h.connection_len != connection.size()) {
            return false;
        }
        const char* p = data_.get() + sizeof(Header);
        return std::memcmp(p, channel.data(), channel.size()) == 0 &&
               std::memcmp(p + channel.size(), client.data(), client.size()) == 0 &&
               std::memcmp(p + channel.size() + client.size(), connection.data(),
                           connection.size()) == 0;
    }

    [[nodiscard]] std::string_view channel() const noexcept {
        if (!data_) return {};
        return {data_.get() + sizeof(Header), header().channel_len};
    }
    [[nodiscard]] std::string_view client() const noexcept {
        if (!data_) return {};
        const Header h = header();
        return {data_.get() + sizeof(Header) + h.channel_len, h.client_len};
    }
    [[nodiscard]] std::string_view connection() const noexcept {
        if (!data_) return {};
        const Header h = header();
        return {data_.get() + sizeof(Header) + h.channel_len + h.client_len, h.connection_len};
    }
    [[nodiscard]] std::string_view id() const noexcept {
        if (!data_) return {};
        const Header h = header();
        return {data_.get() + sizeof(Header) + key_size(h), h.id_len};
    }
    [[nodiscard]] std::string_view leaf() const noexcept {
        if (!data_) return {};
        const Header h = header();
        return {data_.get() + sizeof(Header) + key_size(h) + h.id_len, h.leaf_len};
    }

private:
    struct Header {
        std::uint32_t capacity;
        std::uint32_t channel_len;
        std::uint32_t client_len;
        std::uint32_t connection_len;
        std::uint32_t id_len;
        std::uint32_t leaf_len;
    };

    static std::size_t key_size(const Header& h) noexcept {
        return std::size_t{h.channel_len} + h.client_len + h.connection_len;
    }
    static char* put(char* p, std::string_view s) noexcept {
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        return p + s.size();
    }
    // The header is copied in and out with memcpy: the block is plain char storage.
    [[nodiscard]] Header header() const noexcept {
        Header h;
        std::memcpy(&h, data_.get(), sizeof h);
        return h;
    }

    /// Makes room for `need` bytes; keeps header and key when `keep` (reallocating if needed).
    /// A block much larger than needed is shrunk so one huge update does not pin memory.
    void reserve(Header& h, std::size_t need, bool keep) {
        const bool fits = data_ && need <= h.capacity;
        const bool oversized = data_ && h.capacity > 256 && need < h.capacity / 4;
        if (fits && !oversized) return;
        // First use: what a 16-byte-granular allocator (glibc: 8 bytes of header) hands out
        // anyway; once a member has grown, some slack for the next growth.
        const std::size_t want = keep && data_ && !oversized ? need + need / 8 : need;
        const std::size_t capacity = ((want + 8 + 15) & ~std::size_t{15}) - 8;
        auto fresh = std::make_unique_for_overwrite<char[]>(capacity);
        if (keep && data_) std::memcpy(fresh.get(), data_.get(), sizeof(Header) + key_size(h));
        data_ = std::move(fresh);
        h.capacity = static_cast<std::uint32_t>(capacity);
    }

    void write_version(Header& h, std::string_view id, std::string_view leaf) noexcept {
        char* p = data_.get() + sizeof(Header) + key_size(h);
        p = put(p, id);
        put(p, leaf);
        h.id_len = static_cast<std::uint32_t>(id.size());
        h.leaf_len = static_cast<std::uint32_t>(leaf.size());
        std::memcpy(data_.get(), &h, sizeof h);
    }

    std::unique_ptr<char[]> data_;
};

}  // namespace presenceagg::detail

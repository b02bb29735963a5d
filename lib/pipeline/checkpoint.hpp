// SPDX-License-Identifier: MIT
#pragma once

// Durable checkpoints of the store in DATA_DIR, so that a restart starts from the members known
// at shutdown instead of an empty picture.
//
// File format (dir/presence.checkpoint), UTF-8 text, one record per line:
//   presenceagg-checkpoint <version> <created-ms> <member-count>
//   ["<channel>","<clientId>","<connectionId>",<member leaf JSON>]     (member-count lines)
//   end <FNV-1a-64 of every byte before this line, 16 lowercase hex digits>
// The leaf is the by-channel view's leaf verbatim. The file never holds credentials.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/presence_store.hpp>

namespace presenceagg::detail {

inline constexpr std::string_view kCheckpointFileName = "presence.checkpoint";
inline constexpr std::string_view kCheckpointFormat = "presenceagg-checkpoint";
inline constexpr std::uint32_t kCheckpointVersion = 1;
/// Files larger than this are refused unread.
inline constexpr std::uint64_t kCheckpointMaxBytes = 8ULL << 30;
/// One member line larger than this is corrupt (Ably messages are far smaller).
inline constexpr std::size_t kCheckpointMaxLineBytes = 16U << 20;

struct CheckpointWriteResult {
    bool ok = false;
    std::size_t members = 0;
    std::uint64_t bytes = 0;
    std::string error;  ///< why it failed (names the file); empty on success
};

enum class CheckpointLoadStatus : std::uint8_t {
    Loaded,   ///< the members were applied to the store
    Missing,  ///< there is no checkpoint file: nothing to do
    Invalid,  ///< corrupt, truncated, unreadable or incompatible; the store is untouched
};

struct CheckpointLoadResult {
    CheckpointLoadStatus status = CheckpointLoadStatus::Missing;
    std::size_t members = 0;
    std::int64_t created_ms = 0;
    std::vector<std::string> channels;  ///< channels with members in the checkpoint, sorted
    std::string error;                  ///< the reason, for Invalid
};

/// The checkpoint file in `dir`.
[[nodiscard]] std::filesystem::path checkpoint_path(const std::filesystem::path& dir);

/// Writes every present member of `store` atomically (temp file O_EXCL 0600, fsync, rename,
/// fsync of the directory). Never throws. Safe to call concurrently for different directories;
/// callers serialize writes to the same directory.
CheckpointWriteResult write_checkpoint(const PresenceStore& store,
                                       const std::filesystem::path& dir,
                                       std::int64_t created_ms);

/// Validates the whole file, then applies each member as a Present message. On any problem
/// nothing is applied. Never throws (except std::bad_alloc).
CheckpointLoadResult load_checkpoint(const std::filesystem::path& dir,
                                     PresenceStore& store,
                                     std::uint64_t max_bytes = kCheckpointMaxBytes);

/// Parses and validates a checkpoint's text without applying it; `error` is set on failure.
bool parse_checkpoint(std::string_view text,
                      std::vector<PresenceMessage>& members,
                      std::int64_t& created_ms,
                      std::string& error);

/// Removes temp files an interrupted write left in `dir`; returns how many.
std::size_t remove_stale_checkpoint_temps(const std::filesystem::path& dir) noexcept;

}  // namespace presenceagg::detail

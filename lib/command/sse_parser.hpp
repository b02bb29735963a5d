// SPDX-License-Identifier: MIT
#pragma once

/// An incremental Server-Sent-Events parser following the WHATWG "event stream interpretation"
/// rules, with a bound on line and event size so that a hostile or broken server cannot make it
/// grow without limit.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenceagg::detail {

/// One dispatched event.
struct SseEvent {
    std::string type = "message";  ///< the `event` field, "message" when absent
    std::string data;              ///< `data` lines joined with '\n' (empty for a bare "data")
    std::string last_event_id;     ///< the stream's last event id at dispatch (may be empty)

    friend bool operator==(const SseEvent&, const SseEvent&) = default;
};

enum class SseParseError {
    LineTooLong,    ///< a single line exceeded the bound; the event is skipped
    EventTooLarge,  ///< the event's data exceeded the bound; the event is skipped
};

/// Feed bytes in chunks of any size, then pull dispatched events with `take_events()`.
///
/// - Line ends CR, LF and CRLF, including a CR at the end of one chunk and its LF at the start of
///   the next. A leading UTF-8 byte-order mark is skipped.
/// - ':' lines are comments (Ably keepalives); "field: value" loses one leading space.
/// - `id` persists across events; an id containing NUL is ignored. `retry` (digits only) is kept.
/// - A blank line dispatches; nothing is dispatched when the data is empty, but the id is kept.
/// - A line or an event's data beyond `max_bytes` records an error, and everything up to the next
///   blank line is discarded without being buffered.
///
/// Activity for idle watchdogs is `bytes_fed()`: it grows with every byte, comments included.
/// Not thread-safe: one owner feeds and pulls.
class SseParser {
public:
    static constexpr std::size_t kDefaultMaxBytes = std::size_t{1} << 20;

    explicit SseParser(std::size_t max_bytes = kDefaultMaxBytes);

    /// Parses `bytes`; complete events are queued for `take_events()`.
    void feed(std::string_view bytes);

    /// The connection ended: a partial event is dropped (WHATWG). The last event id, retry and
    /// counters survive; the next `feed()` starts a new stream (a BOM is skipped again).
    void end_of_stream() noexcept;

    /// Events dispatched since the last call, oldest first.
    [[nodiscard]] std::vector<SseEvent> take_events();
    /// Errors recorded since the last call, oldest first.
    [[nodiscard]] std::vector<SseParseError> take_errors();
    [[nodiscard]] bool has_events() const noexcept { return !events_.empty(); }

    /// The id to resume from: the id in force at the last dispatch point (blank line).
    [[nodiscard]] const std::string& last_event_id() const noexcept { return last_event_id_; }
    /// Restores the resume id, e.g. after constructing a parser for a new connection.
    void set_last_event_id(std::string id) { last_event_id_ = id_buffer_ = std::move(id); }
    /// The last valid `retry` value, if any.
    [[nodiscard]] std::optional<std::chrono::milliseconds> retry() const noexcept { return retry_; }

    [[nodiscard]] std::uint64_t bytes_fed() const noexcept { return bytes_fed_; }
    [[nodiscard]] std::uint64_t events_dispatched() const noexcept { return dispatched_; }
    [[nodiscard]] std::uint64_t error_count() const noexcept { return error_count_; }

private:
    void process_line(std::string_view line);
    void process_field(std::string_view field, std::string_view value);
    void dispatch();
    void fail(SseParseError error);
    void clear_event() noexcept;

    std::size_t max_bytes_;
    // line assembly
    std::string line_;
    std::size_t line_length_ = 0;  // bytes in the current line, counted even when discarding
    bool after_cr_ = false;        // the previous byte was CR: a following LF is not a new line
    bool discarding_ = false;      // skipping up to the next blank line after an overflow
    std::size_t bom_matched_ = 0;  // bytes of a leading BOM seen; kBomDone once decided
    // event assembly
    std::string data_;
    std::string type_;
    std::string id_buffer_;
    std::string last_event_id_;
    std::optional<std::chrono::milliseconds> retry_;
    // output
    std::vector<SseEvent> events_;
    std::vector<SseParseError> errors_;
    std::uint64_t bytes_fed_ = 0;
    std::uint64_t dispatched_ = 0;
    std::uint64_t error_count_ = 0;
};

}  // namespace presenceagg::detail

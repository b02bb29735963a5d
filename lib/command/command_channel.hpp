// SPDX-License-Identifier: MIT
#pragma once

/// `CommandChannel`: follows the Ably channel that starts and stops collection.
///
/// On start it reads the channel's last message through REST history and applies it, then
/// follows new messages over Ably SSE (`/sse`), resuming with `lastEvent` after a drop. When SSE
/// cannot be established (404, or repeated failures) it polls REST history instead and tries SSE
/// again now and then. Commands are idempotent: a message already applied (same id) or older
/// than the last applied one (timestamp) is ignored, since rewind, resume and polling all replay.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include <presenceagg/ably.hpp>
#include <presenceagg/logging.hpp>

#include "command/command_message.hpp"

namespace presenceagg::detail {

/// Timing knobs; the defaults are the production values.
struct CommandChannelSettings {
    /// REST history polling period while SSE is unavailable.
    std::chrono::milliseconds history_poll_interval{5'000};
    /// Reconnect when the stream carried no byte (keepalives count) for this long.
    std::chrono::milliseconds idle_timeout{90'000};
    /// Reconnect backoff: starts here, doubles per failure up to `backoff_max`, with jitter
    /// (each delay is drawn from [d/2, d]); reset once a connection delivers an event.
    std::chrono::milliseconds backoff_initial{1'000};
    std::chrono::milliseconds backoff_max{30'000};
    /// Delay after a non-retryable Ably error (4xxxx other than token errors).
    std::chrono::milliseconds fatal_backoff{300'000};
    /// While polling, try SSE again this often.
    std::chrono::milliseconds sse_retry_interval{60'000};
    /// Consecutive SSE failures before falling back to history polling.
    unsigned failures_before_fallback = 3;
    /// After the stream was down this long, read history once before resuming (the resume
    /// window on Ably is about two minutes).
    std::chrono::milliseconds resync_after_gap{100'000};
    /// Bound on one SSE line or event.
    std::size_t max_event_bytes = std::size_t{1} << 20;
};

/// Where a command came from.
enum class CommandSource { History, Stream, Poll };

[[nodiscard]] std::string_view to_string(CommandSource source) noexcept;

struct CommandInfo {
    std::string id;              ///< Ably message id (may be empty)
    std::int64_t timestamp = 0;  ///< ms since the epoch (0 when unknown)
    CommandSource source = CommandSource::History;
};

/// A consistent copy of the channel's counters.
struct CommandChannelCounters {
    std::uint64_t connects = 0;          ///< SSE streams opened (HTTP 200 text/event-stream)
    std::uint64_t connect_failures = 0;  ///< SSE attempts that did not open or broke
    std::uint64_t events = 0;            ///< SSE events dispatched (any type)
    std::uint64_t messages = 0;          ///< Ably messages decoded (stream, history, polls)
    std::uint64_t commands_applied = 0;  ///< Start/Stop callbacks made
    std::uint64_t duplicates = 0;        ///< commands ignored as already applied or older
    std::uint64_t errors = 0;            ///< error events, decode errors, HTTP failures, overflows
    std::uint64_t history_requests = 0;  ///< REST history requests made
    std::uint64_t idle_timeouts = 0;     ///< streams dropped by the idle watchdog
    bool connected = false;              ///< an SSE stream is open now
    bool polling = false;                ///< in history-polling fallback now
};

/// Owns one std::jthread. `start()` and `stop()` may be called from any thread; `counters()` and
/// `last_event_id()` are thread-safe. The callback runs on the channel's thread, one call at a
/// time, and must not block for long (the stream is not read meanwhile); exceptions it throws
/// are caught and counted. Calling `stop()` from inside the callback only requests the stop.
class CommandChannel {
public:
    using Callback = std::function<void(Command, const CommandInfo&)>;

    /// Throws Error(InvalidConfig) naming the setting when `channel` is empty, the endpoint has
    /// no key, or a setting is out of range.
    CommandChannel(AblyEndpoint endpoint,
                   std::string channel,
                   Logger log,
                   Callback on_command,
                   CommandChannelSettings settings = {});
    ~CommandChannel();
    CommandChannel(const CommandChannel&) = delete;
    CommandChannel& operator=(const CommandChannel&) = delete;

    /// Starts the thread; a second call while running does nothing.
    void start();
    /// Stops promptly (an open stream is woken at once) and joins. Idempotent.
    void stop() noexcept;
    [[nodiscard]] bool running() const noexcept { return running_.load(); }

    [[nodiscard]] CommandChannelCounters counters() const noexcept;
    /// The SSE id a reconnect would resume from (empty before the first id).
    [[nodiscard]] std::string last_event_id() const;

private:
    class Worker;

    AblyEndpoint endpoint_;
    std::string channel_;
    Logger log_;
    Callback on_command_;
    CommandChannelSettings settings_;

    struct AtomicCounters {
        std::atomic<std::uint64_t> connects{0}, connect_failures{0}, events{0}, messages{0},
            commands_applied{0}, duplicates{0}, errors{0}, history_requests{0}, idle_timeouts{0};
        std::atomic<bool> connected{false}, polling{false};
    };
    AtomicCounters counters_;
    mutable std::mutex id_mutex_;
    std::string last_event_id_;  // guarded by id_mutex_

    std::atomic<bool> running_{false};
    std::mutex lifecycle_mutex_;                // serialises start() and stop()
    std::stop_source stop_source_;              // the worker's token; replaced by start()
    std::atomic<std::thread::id> worker_id_{};  // the worker thread, for stop() from inside
    std::jthread thread_;  // last: stopped and joined before the members it uses
};

}  // namespace presenceagg::detail

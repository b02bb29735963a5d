// SPDX-License-Identifier: MIT
#include "command/command_channel.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <functional>
#include <optional>
#include <random>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include <presenceagg/error.hpp>

#include "command/command_http.hpp"
#include "command/sse_parser.hpp"

namespace presenceagg::detail {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kComponent = "command";
constexpr std::size_t kRecentIds = 32;

bool is_token_error(int code) noexcept {
    return code >= 40140 && code <= 40149;
}

/// What to do after an attempt to stream failed.
enum class Retry {
    Backoff,      ///< network, 5xx, token errors, idle: exponential backoff
    Fatal,        ///< a 4xxxx configuration problem: long backoff, poll meanwhile
    Unsupported,  ///< the server has no SSE: poll, try again much later
};

Retry classify_ably_code(int code, long http_status) noexcept {
    if (is_token_error(code)) return Retry::Backoff;  // basic auth: a reconnect is all we can do
    if (code >= 40000 && code < 50000) return code / 100 == 429 ? Retry::Backoff : Retry::Fatal;
    if (code == 0 && http_status >= 400 && http_status < 500 && http_status != 408 &&
        http_status != 429) {
        return Retry::Fatal;
    }
    return Retry::Backoff;
}

void check_positive(milliseconds value, const char* setting) {
    if (value.count() <= 0) {
        throw Error(Errc::InvalidConfig,
                    std::string("command channel: ") + setting + " must be positive");
    }
}

}  // namespace

std::string_view to_string(CommandSource source) noexcept {
    switch (source) {
        case CommandSource::History:
            return "history";
        case CommandSource::Stream:
            return "stream";
        case CommandSource::Poll:
            return "poll";
    }
    return "unknown";
}

/// Everything that lives on the channel's thread: the curl handles, the parser, the dedup state.
class CommandChannel::Worker {
public:
    Worker(CommandChannel& owner, std::stop_token stop)
        : owner_(owner),
          settings_(owner.settings_),
          stop_(std::move(stop)),
          http_(owner.endpoint_),
          rng_(static_cast<std::minstd_rand::result_type>(
              Clock::now().time_since_epoch().count() ^
              static_cast<long long>(std::hash<std::thread::id>{}(std::this_thread::get_id())))),
          backoff_(settings_.backoff_initial) {}

    void run() {
        fetch_history(CommandSource::History);
        auto next_stream = Clock::now();
        auto next_poll = Clock::now() + settings_.history_poll_interval;
        while (!stop_.stop_requested()) {
            if (Clock::now() >= next_stream) {
                if (!first_connect_ && Clock::now() - last_alive_ > settings_.resync_after_gap) {
                    fetch_history(CommandSource::Poll);
                }
                next_stream = Clock::now() + stream_once();
                if (stop_.stop_requested()) break;
            }
            if (polling_ && Clock::now() >= next_poll) {
                fetch_history(CommandSource::Poll);
                next_poll = Clock::now() + settings_.history_poll_interval;
            }
            auto until = next_stream;
            if (polling_) until = std::min(until, next_poll);
            sleep_until(until);
        }
        set_connected(false);
    }

private:
    /// One SSE attempt; returns the delay before the next one.
    milliseconds stream_once() {
        std::string channels = first_connect_ ? "[?rewind=1]" + owner_.channel_ : owner_.channel_;
        std::string url =
            owner_.endpoint_.base_url() + "/sse?v=1.2&channels=" + command_url_encode(channels);
        if (!parser_.last_event_id().empty()) {
            url += "&lastEvent=" + command_url_encode(parser_.last_event_id());
        }
        CommandHttpRequest request;
        request.url = std::move(url);
        request.accept = "text/event-stream";
        request.streaming = true;
        request.idle_timeout = settings_.idle_timeout;

        stream_ = StreamState{};
        const auto on_body = [this](std::string_view bytes) {
            parser_.feed(bytes);
            return true;
        };
        const auto on_poll = [this] {
            if (!stream_.opened && http_.stream_open()) on_opened();
            return drain();
        };
        const CommandHttpResult result = http_.get(request, stop_, on_body, on_poll);
        parser_.end_of_stream();
        if (!stream_.opened && result.event_stream) on_opened();
        if (stream_.opened) {
            last_alive_ = Clock::now();
            set_connected(false);
        }
        if (result.outcome == CommandHttpOutcome::Stopped) return milliseconds(0);
        (void)drain();
        // A quiet command channel may carry only keepalives for hours: a stream that stayed
        // open longer than the longest backoff was healthy too, not a failed attempt.
        if (stream_.opened && !stream_.healthy &&
            Clock::now() - stream_.opened_at >= settings_.backoff_max) {
            stream_.healthy = true;
        }

        if (stream_.healthy) {
            // A stream that delivered events counts as a success, however it ended.
            failures_ = 0;
            backoff_ = settings_.backoff_initial;
            set_polling(false);
        }
        Retry retry = Retry::Backoff;
        std::string reason;
        if (stream_.error) {
            retry = classify_ably_code(stream_.error->code, stream_.error->status_code);
            reason = "error event " + std::to_string(stream_.error->code);
        } else if (result.event_stream) {
            if (result.outcome == CommandHttpOutcome::IdleTimeout) {
                ++owner_.counters_.idle_timeouts;
                reason = "idle timeout";
            } else {
                reason = result.outcome == CommandHttpOutcome::Completed ? "stream ended"
                                                                         : "stream broke";
            }
        } else if (result.outcome == CommandHttpOutcome::Completed) {
            const AblyErrorInfo info = decode_ably_error(result.body);
            const long status = result.http_status;
            if (status == 404 || status == 405 || status == 501) {
                retry = Retry::Unsupported;
            } else if (status >= 200 && status < 300) {
                retry = Retry::Unsupported;  // answered, but not with an event stream
            } else {
                retry = classify_ably_code(info.code, status);
            }
            reason = "HTTP " + std::to_string(status) +
                     (info.code != 0 ? " code " + std::to_string(info.code) : std::string());
        } else if (result.outcome == CommandHttpOutcome::IdleTimeout) {
            ++owner_.counters_.idle_timeouts;
            reason = "idle timeout before the stream opened";
        } else {
            reason = result.error.empty() ? std::string("transfer failed") : result.error;
        }

        if (stream_.healthy && !stream_.error) {
            log(LogLevel::Info, "stream closed, resuming", {{"reason", reason}});
            return jitter(backoff_);
        }
        ++owner_.counters_.connect_failures;
        if (!stream_.opened) ++owner_.counters_.errors;
        ++failures_;
        milliseconds delay{0};
        switch (retry) {
            case Retry::Backoff:
                delay = jitter(backoff_);
                backoff_ = std::min(backoff_ * 2, settings_.backoff_max);
                if (failures_ >= settings_.failures_before_fallback) {
                    set_polling(true);
                    delay = std::max(delay, settings_.sse_retry_interval);
                }
                break;
            case Retry::Fatal:
                delay = settings_.fatal_backoff;
                set_polling(true);
                break;
            case Retry::Unsupported:
                delay = settings_.sse_retry_interval;
                set_polling(true);
                break;
        }
        log(retry == Retry::Fatal ? LogLevel::Error : LogLevel::Warn, "stream unavailable",
            {{"reason", reason},
             {"retry_in_ms", std::to_string(delay.count())},
             {"polling", polling_ ? "yes" : "no"}});
        return delay;
    }

    void on_opened() {
        stream_.opened = true;
        stream_.opened_at = Clock::now();
        first_connect_ = false;  // rewind only on the first stream that actually opened
        ++owner_.counters_.connects;
        set_connected(true);
        log(LogLevel::Info, "stream open", {{"last_event_id", parser_.last_event_id()}});
    }

    /// Handles what the parser produced; false ends the stream (after an error event).
    bool drain() {
        for (const SseParseError e : parser_.take_errors()) {
            ++owner_.counters_.errors;
            log(LogLevel::Warn, e == SseParseError::LineTooLong ? "oversized SSE line skipped"
                                                                : "oversized SSE event skipped");
        }
        for (SseEvent& event : parser_.take_events()) {
            ++owner_.counters_.events;
            if (event.type == "message") {
                stream_.healthy = true;
                handle_json(event.data, CommandSource::Stream);
            } else if (event.type == "error") {
                ++owner_.counters_.errors;
                stream_.error = decode_ably_error(event.data);
                log(LogLevel::Warn, "error event",
                    {{"code", std::to_string(stream_.error->code)},
                     {"message", stream_.error->message}});
            } else {
                stream_.healthy = true;  // heartbeat, presence: alive, nothing to do
            }
        }
        publish_last_event_id();
        if (stream_.healthy) {
            failures_ = 0;
            backoff_ = settings_.backoff_initial;
            if (polling_) set_polling(false);
        }
        return !stream_.error.has_value();
    }

    void fetch_history(CommandSource source) {
        ++owner_.counters_.history_requests;
        CommandHttpRequest request;
        request.url = owner_.endpoint_.base_url() + "/channels/" +
                      command_url_encode(owner_.channel_) + "/messages?limit=1&direction=backwards";
        request.total_timeout = owner_.endpoint_.request_timeout;
        const CommandHttpResult result = http_.get(request, stop_);
        if (result.outcome == CommandHttpOutcome::Stopped) return;
        std::string problem;
        if (result.outcome != CommandHttpOutcome::Completed) {
            problem =
                result.outcome == CommandHttpOutcome::TooLarge ? "answer too large" : result.error;
        } else if (result.http_status != 200) {
            const AblyErrorInfo info = decode_ably_error(result.body);
            problem = "HTTP " + std::to_string(result.http_status) +
                      (info.code != 0 ? " code " + std::to_string(info.code) : std::string());
        }
        if (problem.empty()) {
            const CommandHistoryResult decoded = decode_command_history(result.body);
            if (decoded.error) {
                problem = "bad history answer: " + decoded.error.message();
            } else {
                history_failing_ = false;
                if (decoded.latest) {
                    ++owner_.counters_.messages;
                    handle_message(*decoded.latest, source);
                } else {
                    log(LogLevel::Debug, "history is empty");
                }
                return;
            }
        }
        ++owner_.counters_.errors;
        // Repeated poll failures are logged once at warn, then quietly.
        log(history_failing_ ? LogLevel::Debug : LogLevel::Warn, "history request failed",
            {{"reason", problem}});
        history_failing_ = true;
    }

    void handle_json(std::string_view json, CommandSource source) {
        const CommandDecodeResult decoded = decode_command_message(json);
        if (decoded.error) {
            ++owner_.counters_.errors;
            log(LogLevel::Warn, "undecodable message", {{"error", decoded.error.message()}});
            return;
        }
        ++owner_.counters_.messages;
        handle_message(decoded.message, source);
    }

    void handle_message(const CommandMessage& msg, CommandSource source) {
        if (!msg.channel.empty() &&
            strip_channel_qualifier(msg.channel) != strip_channel_qualifier(owner_.channel_)) {
            log(LogLevel::Debug, "message for another channel ignored", {{"from", msg.channel}});
            return;
        }
        if (msg.command == Command::Other) {
            log(LogLevel::Debug, "message is not a command", {{"name", msg.name}});
            return;
        }
        if (is_duplicate(msg)) {
            ++owner_.counters_.duplicates;
            log(LogLevel::Debug, "command already applied",
                {{"id", msg.id}, {"source", std::string(to_string(source))}});
            return;
        }
        remember(msg);
        ++owner_.counters_.commands_applied;
        log(LogLevel::Info, "command",
            {{"command", std::string(to_string(msg.command))},
             {"id", msg.id},
             {"source", std::string(to_string(source))}});
        if (!owner_.on_command_) return;
        try {
            owner_.on_command_(msg.command, CommandInfo{msg.id, msg.timestamp, source});
        } catch (const std::exception& e) {
            ++owner_.counters_.errors;
            log(LogLevel::Error, "command handler failed", {{"error", e.what()}});
        } catch (...) {
            ++owner_.counters_.errors;
            log(LogLevel::Error, "command handler failed");
        }
    }

    [[nodiscard]] bool is_duplicate(const CommandMessage& msg) const {
        if (!msg.id.empty()) {
            if (std::find(recent_ids_.begin(), recent_ids_.end(), msg.id) != recent_ids_.end()) {
                return true;
            }
        }
        if (msg.timestamp != 0 && last_timestamp_ != 0 && msg.timestamp < last_timestamp_) {
            return true;
        }
        // Neither id nor timestamp: only a change of command is news.
        return msg.id.empty() && msg.timestamp == 0 && last_command_ == msg.command;
    }

    void remember(const CommandMessage& msg) {
        if (!msg.id.empty()) {
            if (recent_ids_.size() == kRecentIds) recent_ids_.erase(recent_ids_.begin());
            recent_ids_.push_back(msg.id);
        }
        last_timestamp_ = std::max(last_timestamp_, msg.timestamp);
        last_command_ = msg.command;
    }

    void publish_last_event_id() {
        const std::lock_guard lock(owner_.id_mutex_);
        if (owner_.last_event_id_ != parser_.last_event_id()) {
            owner_.last_event_id_ = parser_.last_event_id();
        }
    }

    void set_connected(bool connected) { owner_.counters_.connected = connected; }

    void set_polling(bool polling) {
        if (polling_ == polling) return;
        polling_ = polling;
        owner_.counters_.polling = polling;
        log(LogLevel::Info, polling ? "polling history (SSE unavailable)" : "SSE restored");
    }

    milliseconds jitter(milliseconds d) {
        if (d.count() <= 1) return d;
        std::uniform_int_distribution<std::int64_t> dist(d.count() / 2, d.count());
        return milliseconds(dist(rng_));
    }

    void sleep_until(Clock::time_point deadline) {
        std::unique_lock lock(sleep_mutex_);
        (void)sleep_cv_.wait_until(lock, stop_, deadline, [] { return false; });
    }

    /// Logs with the channel name first; at most three further fields are kept.
    void log(LogLevel level,
             std::string_view message,
             std::initializer_list<LogField> fields = {}) const noexcept {
        const Logger& logger = owner_.log_;
        if (!logger.enabled(level)) return;
        try {
            LogField channel{"channel", owner_.channel_};
            const LogField* f = fields.begin();
            switch (fields.size()) {
                case 0:
                    logger.log(level, kComponent, message, {channel});
                    break;
                case 1:
                    logger.log(level, kComponent, message, {channel, f[0]});
                    break;
                case 2:
                    logger.log(level, kComponent, message, {channel, f[0], f[1]});
                    break;
                default:
                    logger.log(level, kComponent, message, {channel, f[0], f[1], f[2]});
                    break;
            }
        } catch (...) {
            // Copying a field failed (out of memory): a log line is not worth failing for.
        }
    }

    struct StreamState {
        bool opened = false;   // HTTP 2xx text/event-stream
        bool healthy = false;  // at least one non-error event
        Clock::time_point opened_at{};
        std::optional<AblyErrorInfo> error;
    };

    CommandChannel& owner_;
    const CommandChannelSettings& settings_;
    std::stop_token stop_;
    CommandHttpClient http_;
    SseParser parser_{settings_.max_event_bytes};
    std::minstd_rand rng_;
    StreamState stream_;
    bool first_connect_ = true;
    bool polling_ = false;
    bool history_failing_ = false;
    unsigned failures_ = 0;
    milliseconds backoff_;
    Clock::time_point last_alive_ = Clock::now();
    std::vector<std::string> recent_ids_;
    std::int64_t last_timestamp_ = 0;
    Command last_command_ = Command::Other;
    std::mutex sleep_mutex_;
    std::condition_variable_any sleep_cv_;
};

CommandChannel::CommandChannel(AblyEndpoint endpoint,
                               std::string channel,
                               Logger log,
                               Callback on_command,
                               CommandChannelSettings settings)
    : endpoint_(std::move(endpoint)),
      channel_(std::move(channel)),
      log_(std::move(log)),
      on_command_(std::move(on_command)),
      settings_(settings) {
    if (channel_.empty()) throw Error(Errc::InvalidConfig, "command channel: channel is empty");
    if (endpoint_.key.empty()) throw Error(Errc::InvalidConfig, "command channel: no API key");
    check_positive(settings_.history_poll_interval, "history_poll_interval");
    check_positive(settings_.idle_timeout, "idle_timeout");
    check_positive(settings_.backoff_initial, "backoff_initial");
    check_positive(settings_.backoff_max, "backoff_max");
    check_positive(settings_.fatal_backoff, "fatal_backoff");
    check_positive(settings_.sse_retry_interval, "sse_retry_interval");
    check_positive(settings_.resync_after_gap, "resync_after_gap");
    if (settings_.backoff_max < settings_.backoff_initial) {
        throw Error(Errc::InvalidConfig, "command channel: backoff_max is below backoff_initial");
    }
    if (settings_.failures_before_fallback == 0) {
        throw Error(Errc::InvalidConfig, "command channel: failures_before_fallback must be >= 1");
    }
    if (settings_.max_event_bytes < 1024) {
        throw Error(Errc::InvalidConfig, "command channel: max_event_bytes must be >= 1024");
    }
}

CommandChannel::~CommandChannel() {
    stop();
}

void CommandChannel::start() {
    const std::lock_guard lock(lifecycle_mutex_);
    if (thread_.joinable()) return;
    running_ = true;
    // Our own stop source (set before the thread exists) lets stop() called from the callback
    // request a stop without touching thread_; the jthread's own token is forwarded to it.
    stop_source_ = std::stop_source();
    thread_ = std::jthread([this](const std::stop_token& thread_stop) {
        worker_id_ = std::this_thread::get_id();
        const std::stop_callback forward(thread_stop,
                                         [this]() noexcept { (void)stop_source_.request_stop(); });
        try {
            Worker worker(*this, stop_source_.get_token());
            worker.run();
        } catch (const std::exception& e) {
            ++counters_.errors;
            log_.log(LogLevel::Error, kComponent, "command channel failed", {{"error", e.what()}});
        } catch (...) {
            ++counters_.errors;
            log_.log(LogLevel::Error, kComponent, "command channel failed");
        }
        counters_.connected = false;
        counters_.polling = false;
        running_ = false;
    });
}

void CommandChannel::stop() noexcept {
    // From the callback (the channel's own thread): request only; joining would deadlock.
    if (std::this_thread::get_id() == worker_id_.load()) {
        (void)stop_source_.request_stop();
        return;
    }
    const std::lock_guard lock(lifecycle_mutex_);
    if (!thread_.joinable()) return;
    (void)thread_.request_stop();
    thread_.join();
    worker_id_ = std::thread::id();
    running_ = false;
}

CommandChannelCounters CommandChannel::counters() const noexcept {
    CommandChannelCounters c;
    c.connects = counters_.connects;
    c.connect_failures = counters_.connect_failures;
    c.events = counters_.events;
    c.messages = counters_.messages;
    c.commands_applied = counters_.commands_applied;
    c.duplicates = counters_.duplicates;
    c.errors = counters_.errors;
    c.history_requests = counters_.history_requests;
    c.idle_timeouts = counters_.idle_timeouts;
    c.connected = counters_.connected;
    c.polling = counters_.polling;
    return c;
}

std::string CommandChannel::last_event_id() const {
    const std::lock_guard lock(id_mutex_);
    return last_event_id_;
}

}  // namespace presenceagg::detail

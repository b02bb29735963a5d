// SPDX-License-Identifier: MIT
#pragma once

// RecordingSink: an AblyRestSink test double. It records every publish call (channel, messages,
// the result it gave), and fails on demand: a queue of scripted per-call results, a sticky
// failure, or a callback deciding per call. Thread-safe; wait_for_calls() lets a test wait for
// a background publisher without sleeping.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/error.hpp>

#include "wire/json_text.hpp"

namespace presenceagg::test {

class RecordingSink final : public AblyRestSink {
public:
    /// One publish call as the sink saw it.
    struct Call {
        std::string channel;
        std::vector<OutboundMessage> messages;
        PublishResult result;
        bool delivered =
            false;  ///< the messages reached the channel (ok, or a scripted "lost ack")
    };

    /// A scripted outcome for one call.
    struct Outcome {
        PublishResult result;
        /// The request reached Ably although the caller sees a failure (e.g. a timeout after
        /// Ably accepted it): its messages count as delivered.
        bool delivered = false;
    };

    using Decider = std::function<std::optional<Outcome>(std::string_view channel,
                                                         std::span<const OutboundMessage>)>;

    // ---- ready-made results ------------------------------------------------------------------

    /// An HTTP failure as the curl sink reports it: 429 -> AblyRateLimited, 401 ->
    /// AblyUnauthorized, other 4xx -> AblyRejected, 5xx -> AblyServerError.
    static PublishResult http_failure(int status,
                                      int ably_code = 0,
                                      std::chrono::milliseconds retry_after = {}) {
        PublishResult r;
        r.http_status = status;
        r.ably_error_code = ably_code != 0 ? ably_code : status * 100;
        r.retry_after = retry_after;
        r.error = status == 429   ? make_error_code(Errc::AblyRateLimited)
                  : status == 401 ? make_error_code(Errc::AblyUnauthorized)
                  : status >= 500 ? make_error_code(Errc::AblyServerError)
                                  : make_error_code(Errc::AblyRejected);
        r.message = "scripted HTTP " + std::to_string(status);
        return r;
    }
    /// A transport failure (DNS, connect, timeout): retryable.
    static PublishResult transport_failure() {
        PublishResult r;
        r.error = make_error_code(Errc::HttpTransport);
        r.message = "scripted transport failure";
        return r;
    }
    /// Retryable (503) or not (400, Ably code 40000).
    static PublishResult retryable_failure() { return http_failure(503); }
    static PublishResult fatal_failure() { return http_failure(400, 40000); }
    static PublishResult success() {
        PublishResult r;
        r.http_status = 201;
        return r;
    }

    // ---- scripting ---------------------------------------------------------------------------

    /// The next calls get these outcomes, in order, before anything else applies.
    void script(std::vector<Outcome> outcomes) {
        std::lock_guard lock(mutex_);
        for (auto& o : outcomes) script_.push_back(std::move(o));
    }
    /// The next `times` calls fail with `result`.
    void fail_next(PublishResult result, std::size_t times = 1, bool delivered = false) {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < times; ++i) script_.push_back({result, delivered});
    }
    /// Every call without a scripted outcome fails with `result` (nullopt: succeed again).
    void fail_always(std::optional<PublishResult> result) {
        std::lock_guard lock(mutex_);
        sticky_ = std::move(result);
    }
    /// Consulted after the script, before the sticky failure; nullopt means "no opinion".
    void decide(Decider decider) {
        std::lock_guard lock(mutex_);
        decider_ = std::move(decider);
    }

    // ---- AblyRestSink ------------------------------------------------------------------------

    PublishResult publish(std::string_view channel,
                          std::span<const OutboundMessage> messages) override {
        std::unique_lock lock(mutex_);
        Outcome outcome{success(), true};
        if (cancelled_) {
            outcome = {PublishResult{make_error_code(Errc::Cancelled), 0, 0, {}, "cancelled"},
                       false};
        } else if (!script_.empty()) {
            outcome = std::move(script_.front());
            script_.pop_front();
        } else if (auto decided = decider_ ? decider_(channel, messages) : std::nullopt) {
            outcome = std::move(*decided);
        } else if (sticky_) {
            outcome = {*sticky_, false};
        }
        if (outcome.result.ok()) outcome.delivered = true;
        calls_.push_back(Call{std::string(channel),
                              std::vector<OutboundMessage>(messages.begin(), messages.end()),
                              outcome.result, outcome.delivered});
        lock.unlock();
        cv_.notify_all();
        return outcome.result;
    }

    void cancel() noexcept override {
        std::lock_guard lock(mutex_);
        cancelled_ = true;
    }
    void reset_cancel() {
        std::lock_guard lock(mutex_);
        cancelled_ = false;
    }

    // ---- inspection --------------------------------------------------------------------------

    [[nodiscard]] std::vector<Call> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    [[nodiscard]] std::size_t call_count() const {
        std::lock_guard lock(mutex_);
        return calls_.size();
    }
    /// Messages that reached `channel` (empty: every channel), in publish order.
    [[nodiscard]] std::vector<OutboundMessage> delivered(std::string_view channel = {}) const {
        std::lock_guard lock(mutex_);
        std::vector<OutboundMessage> out;
        for (const auto& c : calls_) {
            if (!c.delivered || (!channel.empty() && c.channel != channel)) continue;
            out.insert(out.end(), c.messages.begin(), c.messages.end());
        }
        return out;
    }
    void clear() {
        std::lock_guard lock(mutex_);
        calls_.clear();
    }
    /// Waits until at least `n` calls were recorded; false on timeout.
    bool wait_for_calls(std::size_t n, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
    }

    /// One recorded message as an Ably REST history item would show it (what ViewAssembler and
    /// `presence-agg assemble` read): {"id","name","encoding":"json","data":"<text>"}.
    [[nodiscard]] static std::string as_history_json(const OutboundMessage& m) {
        std::string out = "{\"id\":";
        detail::append_json_string(out, m.id);
        out += ",\"name\":";
        detail::append_json_string(out, m.name);
        out += ",\"encoding\":\"json\",\"data\":";
        detail::append_json_string(out, m.data);
        out.push_back('}');
        return out;
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::deque<Outcome> script_;
    std::optional<PublishResult> sticky_;
    Decider decider_;
    bool cancelled_ = false;
    std::vector<Call> calls_;
};

}  // namespace presenceagg::test

// SPDX-License-Identifier: MIT
#include "rest/bootstrapper.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include <presenceagg/error.hpp>

#include "rest/ably_rest_client.hpp"
#include "rest/backoff.hpp"

namespace presenceagg::detail {
namespace {

constexpr std::string_view kComponent = "rest";

bool is_cancelled(const AblyError& e) noexcept {
    return e.error == Errc::Cancelled;
}

std::string fmt_double(double v) {
    const auto tenths = static_cast<long long>(v * 10.0 + 0.5);
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

}  // namespace

struct Bootstrapper::Chunk {
    std::vector<std::string> channels;
    std::size_t attempts = 0;  ///< failed attempts so far
    bool single = false;       ///< fetch with GET /channels/{name}/presence (name holds ',')
};

struct Bootstrapper::Fetch {
    std::mutex mutex;
    std::condition_variable_any cv;
    std::deque<Chunk> queue;          // guarded by mutex
    std::size_t pending = 0;          // chunks queued or in flight; guarded by mutex
    std::size_t max_chunk = 1;        // shrinks on 90010; guarded by mutex
    std::vector<std::string> failed;  // guarded by mutex

    void push(Chunk chunk) {
        {
            const std::lock_guard lock(mutex);
            queue.push_back(std::move(chunk));
            ++pending;
        }
        cv.notify_one();
    }
    void finish_one() {
        {
            const std::lock_guard lock(mutex);
            --pending;
        }
        cv.notify_all();
    }
    std::optional<Chunk> pop(std::stop_token stop) {
        std::unique_lock lock(mutex);
        cv.wait(lock, stop, [this] { return !queue.empty() || pending == 0; });
        if (stop.stop_requested() || queue.empty()) return std::nullopt;
        Chunk chunk = std::move(queue.front());
        queue.pop_front();
        if (!chunk.single && chunk.channels.size() > max_chunk) {
            // Split lazily so a 90010 shrink applies to work not yet started.
            Chunk rest;
            rest.attempts = chunk.attempts;
            rest.channels.assign(chunk.channels.begin() + static_cast<std::ptrdiff_t>(max_chunk),
                                 chunk.channels.end());
            chunk.channels.resize(max_chunk);
            queue.push_front(std::move(rest));
            ++pending;
            lock.unlock();
            cv.notify_one();
        }
        return chunk;
    }
    void shrink(std::size_t to) {
        const std::lock_guard lock(mutex);
        max_chunk = std::min(max_chunk, std::max<std::size_t>(1, to));
    }
};

Bootstrapper::Bootstrapper(AblyEndpoint ably,
                           BootstrapConfig config,
                           std::regex filter,
                           PresenceStore& store,
                           RateLimiter& limiter,
                           Logger log,
                           BootstrapTuning tuning)
    : ably_(std::move(ably)),
      config_(config),
      filter_(std::move(filter)),
      store_(store),
      limiter_(limiter),
      log_(std::move(log)),
      tuning_(tuning) {
    if (config_.channels_per_request == 0) {
        throw Error(Errc::InvalidConfig, "bootstrap.channels_per_request must be at least 1");
    }
    if (config_.enumeration_page == 0 || config_.enumeration_page > 1000) {
        throw Error(Errc::InvalidConfig, "bootstrap.enumeration_page must be within 1..1000");
    }
    if (config_.concurrency == 0) {
        throw Error(Errc::InvalidConfig, "bootstrap.concurrency must be at least 1");
    }
    if (tuning_.max_attempts == 0) tuning_.max_attempts = 1;
}

Bootstrapper::~Bootstrapper() = default;

BootstrapStats Bootstrapper::stats() const noexcept {
    BootstrapStats s;
    s.done = done_.load();
    s.channels_enumerated = enumerated_.load();
    s.channels_matched = matched_.load();
    s.channels_fetched = fetched_.load();
    s.members_fetched = members_.load();
    s.requests = requests_.load();
    s.failures = failures_.load();
    return s;
}

bool Bootstrapper::matches(const std::string& channel) const {
    try {
        return std::regex_search(channel, filter_);
    } catch (const std::regex_error&) {
        return false;  // pathological backtracking: treat as outside the namespace
    }
}

void Bootstrapper::log_progress(std::chrono::steady_clock::time_point started,
                                bool fetching) const {
    if (!log_.enabled(LogLevel::Info)) return;
    const auto s = stats();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    const double rate =
        elapsed.count() > 0 ? static_cast<double>(s.channels_fetched) / elapsed.count() : 0.0;
    std::string eta = "unknown";
    if (fetching && rate > 0 && s.channels_matched >= s.channels_fetched) {
        eta = fmt_double(static_cast<double>(s.channels_matched - s.channels_fetched) / rate) + "s";
    }
    log_.log(LogLevel::Info, kComponent,
             fetching ? "bootstrap fetching presence" : "bootstrap enumerating channels",
             {{"enumerated", std::to_string(s.channels_enumerated)},
              {"matched", std::to_string(s.channels_matched)},
              {"fetched", std::to_string(s.channels_fetched)},
              {"members", std::to_string(s.members_fetched)},
              {"rate", fmt_double(rate) + " channels/s"},
              {"eta", eta}});
}

BootstrapResult Bootstrapper::run(std::stop_token outer_stop) {
    done_ = false;
    enumerated_ = matched_ = fetched_ = members_ = requests_ = failures_ = 0;
    // One stop source for this run, so fetch threads and the progress wait share it.
    std::stop_source stop_source;
    const std::stop_callback forward(outer_stop, [&stop_source] { stop_source.request_stop(); });
    const auto stop = stop_source.get_token();

    const auto started = std::chrono::steady_clock::now();
    BootstrapResult result;
    log_.log(LogLevel::Info, kComponent, "bootstrap started",
             {{"page", std::to_string(config_.enumeration_page)},
              {"channels_per_request", std::to_string(config_.channels_per_request)},
              {"concurrency", std::to_string(config_.concurrency)}});

    auto enumeration = enumerate(stop);
    result.enumeration_complete = enumeration.complete;
    result.enumeration_error = enumeration.error;
    if (!stop.stop_requested()) {
        log_progress(started, false);
        result.failed = fetch(std::move(enumeration.matched), stop);
    }
    result.cancelled = stop.stop_requested();
    done_ = true;
    const auto s = stats();
    log_.log(result.failed.empty() && result.enumeration_complete ? LogLevel::Info : LogLevel::Warn,
             kComponent, result.cancelled ? "bootstrap cancelled" : "bootstrap finished",
             {{"enumerated", std::to_string(s.channels_enumerated)},
              {"matched", std::to_string(s.channels_matched)},
              {"fetched", std::to_string(s.channels_fetched)},
              {"members", std::to_string(s.members_fetched)},
              {"failed", std::to_string(result.failed.size())},
              {"requests", std::to_string(s.requests)},
              {"enumeration",
               result.enumeration_complete ? "complete" : result.enumeration_error.describe()}});
    return result;
}

Bootstrapper::Enumeration Bootstrapper::enumerate(std::stop_token stop) {
    Enumeration out;
    AblyRestClient client(ably_);
    client.set_stop_token(stop);
    client.set_gate([this, stop] {
        if (!limiter_.acquire(stop)) return false;
        ++requests_;
        return true;
    });
    Backoff backoff(tuning_.backoff_min, tuning_.backoff_max);
    std::unordered_set<std::string> seen;
    std::size_t restarts = 0;
    auto last_log = std::chrono::steady_clock::now();
    const auto started = last_log;

    bool restart = true;
    while (restart) {
        restart = false;
        std::string next;  // empty: first page
        std::size_t retries = 0;
        std::size_t pages = 0;
        while (true) {
            if (stop.stop_requested()) {
                out.error = make_ably_error(make_error_code(Errc::Cancelled), "cancelled");
                return out;
            }
            if (pages >= tuning_.max_enumeration_pages) {
                out.error = make_ably_error(make_error_code(Errc::AblyRejected),
                                            "channel enumeration does not end (page limit)");
                return out;
            }
            auto page = next.empty() ? client.list_channels(config_.enumeration_page)
                                     : client.list_channels_page(next);
            if (!page.error.ok()) {
                if (is_cancelled(page.error)) {
                    out.error = page.error;
                    return out;
                }
                ++failures_;
                if (page.error.code == kAblyEnumerationRestart) {
                    // The cursor died with a cluster change: walk again from the start. Names
                    // already seen stay valid (deduplicated below).
                    if (++restarts > tuning_.max_enumeration_restarts) {
                        out.error = page.error;
                        return out;
                    }
                    log_.log(
                        LogLevel::Warn, kComponent, "channel enumeration restarted",
                        {{"error", page.error.describe()}, {"restart", std::to_string(restarts)}});
                    restart = true;
                    break;
                }
                const bool retry =
                    page.error.code == kAblyEnumerationInFlight || page.error.retryable();
                if (!retry || ++retries > tuning_.max_enumeration_retries) {
                    log_.log(LogLevel::Error, kComponent, "channel enumeration failed",
                             {{"error", page.error.describe()}});
                    out.error = page.error;
                    return out;
                }
                const auto delay = backoff.delay(retries, page.error.retry_after);
                log_.log(LogLevel::Warn, kComponent, "channel enumeration page failed; retrying",
                         {{"error", page.error.describe()},
                          {"retry_in_ms", std::to_string(delay.count())}});
                if (!sleep_for(stop, delay)) {
                    out.error = make_ably_error(make_error_code(Errc::Cancelled), "cancelled");
                    return out;
                }
                continue;
            }
            retries = 0;
            ++pages;
            for (auto& name : page.channels) {
                if (!seen.insert(name).second) continue;
                ++enumerated_;
                if (matches(name)) {
                    ++matched_;
                    out.matched.push_back(std::move(name));
                }
            }
            if (page.next.empty()) {
                out.complete = true;
                return out;
            }
            if (page.next == next) {
                out.error =
                    make_ably_error(make_error_code(Errc::AblyRejected),
                                    "channel enumeration does not advance (same next link)");
                return out;
            }
            next = std::move(page.next);
            const auto now = std::chrono::steady_clock::now();
            if (now - last_log >= tuning_.progress_interval) {
                last_log = now;
                log_progress(started, false);
            }
        }
    }
    return out;
}

std::vector<std::string> Bootstrapper::fetch(std::vector<std::string> channels,
                                             std::stop_token stop) {
    Fetch fetch;
    fetch.max_chunk = config_.channels_per_request;
    Chunk batch;
    for (auto& name : channels) {
        if (name.find(',') != std::string::npos) {
            // ',' separates names in GET /presence?channels=: ask for this one alone.
            fetch.push(Chunk{{std::move(name)}, 0, true});
            continue;
        }
        batch.channels.push_back(std::move(name));
        if (batch.channels.size() == config_.channels_per_request) {
            fetch.push(std::move(batch));
            batch = Chunk{};
        }
    }
    if (!batch.channels.empty()) fetch.push(std::move(batch));
    if (fetch.pending == 0) return {};

    const std::size_t workers = std::min(config_.concurrency, fetch.pending);
    const auto started = std::chrono::steady_clock::now();
    // Each fetch thread gets its own client (curl handles are thread-bound). They are made
    // here so a failure to create one throws before any thread starts.
    std::vector<std::unique_ptr<AblyRestClient>> clients;
    clients.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
        auto client = std::make_unique<AblyRestClient>(ably_);
        client->set_stop_token(stop);
        client->set_gate([this, stop] {
            if (!limiter_.acquire(stop)) return false;
            ++requests_;
            return true;
        });
        clients.push_back(std::move(client));
    }
    {
        std::vector<std::jthread> threads;
        threads.reserve(workers);
        for (std::size_t i = 0; i < workers; ++i) {
            threads.emplace_back(
                [this, &fetch, &client = *clients[i], stop] { fetch_worker(fetch, client, stop); });
        }
        // Progress reports until the work is done (or stop); the threads are joined below.
        std::unique_lock lock(fetch.mutex);
        while (fetch.pending != 0 && !stop.stop_requested()) {
            const bool done = fetch.cv.wait_for(lock, stop, tuning_.progress_interval,
                                                [&fetch] { return fetch.pending == 0; });
            if (done || stop.stop_requested()) break;
            lock.unlock();
            log_progress(started, true);
            lock.lock();
        }
    }
    const std::lock_guard lock(fetch.mutex);
    return std::move(fetch.failed);
}

void Bootstrapper::fetch_worker(Fetch& fetch, AblyRestClient& client, std::stop_token stop) {
    Backoff backoff(tuning_.backoff_min, tuning_.backoff_max);
    while (auto chunk = fetch.pop(stop)) {
        try {
            fetch_chunk(fetch, *chunk, client, backoff, stop);
        } catch (const std::exception& e) {
            // A throwing store or allocation failure: count these channels as failed and keep
            // the accounting straight so the other workers still finish.
            log_.log(LogLevel::Error, kComponent, "presence fetch failed unexpectedly",
                     {{"error", e.what()}});
            const std::lock_guard lock(fetch.mutex);
            fetch.failed.insert(fetch.failed.end(), chunk->channels.begin(), chunk->channels.end());
        }
        fetch.finish_one();
    }
}

void Bootstrapper::fetch_chunk(
    Fetch& fetch, Chunk& chunk, AblyRestClient& client, Backoff& backoff, std::stop_token stop) {
    auto apply_members = [this](const std::string& channel, std::vector<PresenceMessage>& members) {
        for (auto& m : members) {
            if (m.channel.empty()) m.channel = channel;
            // REST answers are PRESENT messages; newness rules make the order against queue
            // events irrelevant.
            (void)store_.apply(m);
        }
        members_ += members.size();
        ++fetched_;
    };

    if (chunk.single) {
        auto answer = client.channel_presence(chunk.channels.front());
        if (!answer.error.ok()) {
            retry_or_fail(fetch, std::move(chunk), answer.error, false, backoff, stop);
            return;
        }
        apply_members(chunk.channels.front(), answer.members);
        return;
    }

    auto answer = client.batch_presence(chunk.channels);
    if (!answer.error.ok()) {
        if (answer.error.code == kAblyTooManyChannels && chunk.channels.size() > 1) {
            // Ably's per-request channel cap is lower than configured: halve and try again.
            const auto half = chunk.channels.size() / 2;
            fetch.shrink(half);
            ++failures_;
            log_.log(LogLevel::Info, kComponent, "batch presence channel cap hit; halving",
                     {{"channels_per_request", std::to_string(half)}});
            fetch.push(std::move(chunk));
            return;
        }
        retry_or_fail(fetch, std::move(chunk), answer.error, false, backoff, stop);
        return;
    }

    std::unordered_set<std::string_view> outstanding(chunk.channels.begin(), chunk.channels.end());
    Chunk retry;
    retry.attempts = chunk.attempts;
    AblyError first_error;
    for (auto& entry : answer.channels) {
        const auto it = outstanding.find(entry.channel);
        if (it == outstanding.end()) continue;  // not asked for, or answered twice
        outstanding.erase(it);
        if (entry.error || entry.ably_error_code != 0) {
            if (first_error.ok()) {
                first_error.error = entry.error ? entry.error : make_error_code(Errc::AblyRejected);
                first_error.code = entry.ably_error_code;
                first_error.message = entry.error_message;
            }
            retry.channels.push_back(entry.channel);
            continue;
        }
        apply_members(entry.channel, entry.members);
    }
    for (const auto& name : chunk.channels) {
        if (outstanding.contains(name)) retry.channels.push_back(name);
    }
    if (!retry.channels.empty()) {
        if (first_error.ok()) {
            first_error = make_ably_error(make_error_code(Errc::MissingField),
                                          "channel missing from the batch presence answer");
        }
        retry_or_fail(fetch, std::move(retry), first_error, true, backoff, stop);
    }
}

void Bootstrapper::retry_or_fail(Fetch& fetch,
                                 Chunk chunk,
                                 const AblyError& error,
                                 bool always_retry,
                                 Backoff& backoff,
                                 std::stop_token stop) {
    if (is_cancelled(error) || stop.stop_requested()) return;
    ++failures_;
    ++chunk.attempts;
    const bool retry = (always_retry || error.retryable() || error.code == kAblyTooManyChannels) &&
                       chunk.attempts < tuning_.max_attempts;
    if (!retry) {
        log_.log(LogLevel::Warn, kComponent, "presence fetch failed; channels marked suspect",
                 {{"channels", std::to_string(chunk.channels.size())},
                  {"first", chunk.channels.empty() ? std::string() : chunk.channels.front()},
                  {"attempts", std::to_string(chunk.attempts)},
                  {"error", error.describe()}});
        for (const auto& name : chunk.channels) store_.set_suspect(name, true);
        const std::lock_guard lock(fetch.mutex);
        fetch.failed.insert(fetch.failed.end(), chunk.channels.begin(), chunk.channels.end());
        return;
    }
    const auto delay = backoff.delay(chunk.attempts, error.retry_after);
    if (log_.enabled(LogLevel::Debug)) {
        log_.log(LogLevel::Debug, kComponent, "presence fetch failed; retrying",
                 {{"channels", std::to_string(chunk.channels.size())},
                  {"attempt", std::to_string(chunk.attempts)},
                  {"retry_in_ms", std::to_string(delay.count())},
                  {"error", error.describe()}});
    }
    if (!sleep_for(stop, delay)) return;
    fetch.push(std::move(chunk));
}

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <mutex>
#include <regex>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <utility>

#include <presenceagg/decode.hpp>
#include <presenceagg/error.hpp>
#include <presenceagg/pipeline.hpp>

#include "command/command_channel.hpp"
#include "pipeline/checkpoint.hpp"
#include "publish/view_publisher.hpp"
#include "rest/bootstrapper.hpp"
#include "rest/drift_repairer.hpp"
#include "rest/rate_limiter.hpp"

namespace presenceagg {
namespace {

constexpr const char* kComponent = "pipeline";
constexpr std::size_t kFilterCacheLimit = 1 << 16;
constexpr auto kRepairPeriod = std::chrono::seconds(1);

std::regex compile_namespace(const std::string& pattern) {
    try {
        return std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
        throw Error(Errc::InvalidConfig,
                    std::string("NAMESPACE_REGEX is not a valid regular expression: ") + e.what());
    }
}

// Counters the consumer thread updates and any thread reads.
struct ConsumerCounters {
    std::atomic<std::uint64_t> bodies{0}, decode_errors{0}, presence{0}, occupancy{0}, filtered{0},
        ignored{0};
    std::array<std::atomic<std::uint64_t>, 5> by_action{};
};

// Caches NAMESPACE_REGEX per channel name: matching a std::regex costs microseconds, and the
// consumer sees the same few channels over and over. Consumer thread only.
class NamespaceFilter {
public:
    explicit NamespaceFilter(const std::regex& re)
        : re_(re) {}

    bool matches(const std::string& channel) {
        if (const auto it = cache_.find(channel); it != cache_.end()) return it->second;
        if (cache_.size() >= kFilterCacheLimit) cache_.clear();
        const bool ok = std::regex_search(channel, re_);
        cache_.emplace(channel, ok);
        return ok;
    }

private:
    const std::regex& re_;
    std::unordered_map<std::string, bool> cache_;
};

}  // namespace

/// One collection session: a consumer, a bootstrap and a drift-repair loop, and the publisher of
/// one epoch. Restarting collection replaces the whole session.
struct Session {
    std::shared_ptr<detail::ViewPublisher> publisher;
    std::unique_ptr<detail::RateLimiter> limiter;
    std::unique_ptr<detail::Bootstrapper> bootstrapper;
    std::shared_ptr<detail::DriftRepairer> repairer;
    std::atomic<bool> bootstrap_done{false};
    /// Channels restored from the checkpoint, to reconcile with Ably after the bootstrap.
    std::vector<std::string> restored_channels;
    std::jthread bootstrap;  // members below are stopped first (declared last, destroyed first)
    std::jthread repair;
    std::jthread consumer;
};

struct Pipeline::Impl {
    PipelineConfig config;
    std::unique_ptr<PresenceStore> store;
    std::unique_ptr<QueueSource> source;
    std::unique_ptr<AblyRestSink> sink;
    std::unique_ptr<Scheduler> scheduler;
    Logger log;
    std::regex namespace_re;
    bool rest_available;  // an API key to bootstrap, repair and follow commands with

    ConsumerCounters counters;
    std::atomic<std::uint64_t> commands{0};
    std::atomic<std::uint64_t> ticks{0};
    std::atomic<std::int64_t> last_tick_us{0};
    std::atomic<std::int64_t> max_tick_us{0};

    // Checkpoints (DATA_DIR).
    std::mutex checkpoint_mutex;  // one write at a time
    std::atomic<std::uint64_t> checkpoint_writes{0}, checkpoint_write_failures{0},
        checkpoint_loads{0}, checkpoint_load_failures{0}, checkpoint_members_loaded{0};
    /// Set when start() restored a checkpoint: the first session keeps the store.
    bool keep_restored = false;                  // guarded by lifecycle_mutex
    std::vector<std::string> restored_channels;  // guarded by lifecycle_mutex

    std::mutex lifecycle_mutex;                               // start/stop and session changes
    std::unique_ptr<Session> session;                         // guarded by lifecycle_mutex
    std::shared_ptr<detail::ViewPublisher> active_publisher;  // guarded by publisher_mutex
    std::mutex publisher_mutex;
    BootstrapStats last_bootstrap;  // guarded by lifecycle_mutex (stats of ended sessions)
    std::array<PublishViewStats, 4> last_publish{};  // guarded by lifecycle_mutex (likewise)

    std::unique_ptr<detail::CommandChannel> command;
    std::atomic<bool> running{false};
    std::atomic<bool> collecting{false};
    std::atomic<bool> started{false};

    std::mutex done_mutex;
    std::condition_variable done_cv;
    bool stopped = false;      // guarded by done_mutex
    std::exception_ptr fatal;  // guarded by done_mutex

    // Periodic checkpoints are written here, not on the scheduler thread: at a million members a
    // write takes about a second and must not delay publish ticks.
    std::mutex checkpoint_request_mutex;
    std::condition_variable_any checkpoint_cv;
    bool checkpoint_requested = false;  // guarded by checkpoint_request_mutex
    std::jthread checkpoint_writer;     // declared last: stopped and joined first

    Impl(PipelineConfig cfg,
         std::unique_ptr<PresenceStore> st,
         std::unique_ptr<QueueSource> src,
         std::unique_ptr<AblyRestSink> sk,
         std::unique_ptr<Scheduler> sch)
        : config(std::move(cfg)),
          store(std::move(st)),
          source(std::move(src)),
          sink(std::move(sk)),
          scheduler(std::move(sch)),
          log(config.log),
          namespace_re(compile_namespace(config.namespace_regex)),
          rest_available(!config.ably.key.empty()) {
        if (!store || !source || !sink || !scheduler) {
            throw Error(Errc::InvalidConfig,
                        "Pipeline needs a store, a source, a sink and a scheduler");
        }
        if (config.publish.interval <= std::chrono::milliseconds::zero()) {
            throw Error(Errc::InvalidConfig, "PUBLISH_INTERVAL must be positive");
        }
        if (!config.data_dir.empty() &&
            config.checkpoint_interval <= std::chrono::milliseconds::zero()) {
            throw Error(Errc::InvalidConfig, "CHECKPOINT_INTERVAL must be positive");
        }
        if ((config.bootstrap.enabled || config.repair.enabled ||
             !config.command.channel.empty()) &&
            !rest_available) {
            throw Error(Errc::InvalidConfig,
                        "ABLY_API_KEY is required for the bootstrap, drift repair and the command "
                        "channel (disable them to run without Ably REST)");
        }
    }

    void fail(std::exception_ptr error) {
        {
            const std::lock_guard lock(done_mutex);
            if (!fatal) fatal = std::move(error);
        }
        done_cv.notify_all();
    }

    // The consumer thread's delivery handler: decode, filter, apply, settle.
    Disposition handle(const Delivery& d,
                       Decoder& decoder,
                       DecodedBatch& batch,
                       NamespaceFilter& filter,
                       detail::DriftRepairer* repairer,
                       std::vector<Header>& headers_with_type) {
        counters.bodies.fetch_add(1, std::memory_order_relaxed);
        batch.clear();
        std::span<const Header> headers = d.headers;
        if (!headers.empty() && !d.content_type.empty()) {
            // Non-enveloped bodies are interpreted by their content type.
            headers_with_type.assign(d.headers.begin(), d.headers.end());
            headers_with_type.push_back({"content-type", std::string(d.content_type)});
            headers = headers_with_type;
        }
        const DecodeResult r = decoder.decode_queue_message(d.body, headers, batch);
        if (!r.ok()) {
            counters.decode_errors.fetch_add(1, std::memory_order_relaxed);
            log.log(LogLevel::Warn, kComponent, "rejected a malformed queue message",
                    {{"error", r.message}, {"bytes", std::to_string(d.body.size())}});
            return Disposition::Reject;
        }
        counters.ignored.fetch_add(batch.ignored_sources, std::memory_order_relaxed);
        for (const PresenceMessage& m : batch.messages()) {
            counters.presence.fetch_add(1, std::memory_order_relaxed);
            counters.by_action[static_cast<std::size_t>(m.action)].fetch_add(
                1, std::memory_order_relaxed);
            if (!filter.matches(m.channel)) {
                counters.filtered.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            store->apply(m);
        }
        for (const OccupancyMessage& o : batch.occupancy) {
            counters.occupancy.fetch_add(1, std::memory_order_relaxed);
            if (repairer != nullptr) repairer->on_occupancy(o, detail::DriftRepairer::Clock::now());
        }
        return Disposition::Ack;
    }

    // Creates DATA_DIR (0700) when needed and restores its checkpoint into the store.
    void restore_checkpoint() {
        namespace fs = std::filesystem;
        const fs::path dir(config.data_dir);
        std::error_code ec;
        if (!fs::exists(dir, ec)) {
            if (!fs::create_directories(dir, ec) || ec) {
                throw Error(Errc::Io,
                            "DATA_DIR " + dir.string() + " cannot be created: " + ec.message());
            }
            fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
        } else if (!fs::is_directory(dir, ec)) {
            throw Error(Errc::InvalidConfig, "DATA_DIR " + dir.string() + " is not a directory");
        }
        detail::remove_stale_checkpoint_temps(dir);
        const auto began = std::chrono::steady_clock::now();
        const detail::CheckpointLoadResult r = detail::load_checkpoint(dir, *store);
        switch (r.status) {
            case detail::CheckpointLoadStatus::Missing:
                log.log(LogLevel::Info, kComponent, "no checkpoint to restore",
                        {{"file", detail::checkpoint_path(dir).string()}});
                break;
            case detail::CheckpointLoadStatus::Invalid:
                checkpoint_load_failures.fetch_add(1, std::memory_order_relaxed);
                log.log(LogLevel::Warn, kComponent,
                        "ignoring an unusable checkpoint; bootstrapping from scratch",
                        {{"reason", r.error}});
                break;
            case detail::CheckpointLoadStatus::Loaded: {
                checkpoint_loads.fetch_add(1, std::memory_order_relaxed);
                checkpoint_members_loaded.fetch_add(r.members, std::memory_order_relaxed);
                keep_restored = true;
                restored_channels = r.channels;
                const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - began)
                                    .count();
                log.log(LogLevel::Info, kComponent, "restored the checkpoint",
                        {{"file", detail::checkpoint_path(dir).string()},
                         {"members", std::to_string(r.members)},
                         {"channels", std::to_string(r.channels.size())},
                         {"created_ms", std::to_string(r.created_ms)},
                         {"load_ms", std::to_string(ms)}});
                break;
            }
        }
    }

    // Writes a checkpoint of the store now; failures are logged and counted.
    void write_checkpoint_now() noexcept {
        if (config.data_dir.empty()) return;
        try {
            const std::lock_guard lock(checkpoint_mutex);
            const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
            const auto r = detail::write_checkpoint(*store, config.data_dir, now_ms);
            if (r.ok) {
                checkpoint_writes.fetch_add(1, std::memory_order_relaxed);
                log.log(
                    LogLevel::Debug, kComponent, "checkpoint written",
                    {{"members", std::to_string(r.members)}, {"bytes", std::to_string(r.bytes)}});
            } else {
                checkpoint_write_failures.fetch_add(1, std::memory_order_relaxed);
                log.log(LogLevel::Warn, kComponent, "checkpoint write failed",
                        {{"error", r.error}});
            }
        } catch (const std::exception& e) {
            checkpoint_write_failures.fetch_add(1, std::memory_order_relaxed);
            log.log(LogLevel::Warn, kComponent, "checkpoint write failed", {{"error", e.what()}});
        }
    }

    // Verifies the channels restored from the checkpoint against Ably (members that left while
    // we were down are removed by replace_channel). Rate-limited by the repairer; stop-aware.
    void reconcile_restored(Session& s, const std::stop_token& stop) {
        if (s.restored_channels.empty() || !s.repairer) return;
        std::size_t ok = 0;
        std::size_t failed = 0;
        for (const std::string& channel : s.restored_channels) {
            if (stop.stop_requested()) break;
            if (s.repairer->repair(channel, stop)) {
                store->set_suspect(channel, false);
                ++ok;
            } else {
                ++failed;
            }
        }
        log.log(LogLevel::Info, kComponent, "reconciled the checkpoint's channels with Ably",
                {{"verified", std::to_string(ok)},
                 {"failed", std::to_string(failed)},
                 {"cancelled", stop.stop_requested() ? "true" : "false"}});
        s.restored_channels.clear();
    }

    void start_session() {
        auto s = std::make_unique<Session>();
        if (keep_restored) {
            // The first session after a restored checkpoint keeps it; later ones start clean.
            keep_restored = false;
            s->restored_channels = std::move(restored_channels);
            restored_channels.clear();
            if (config.repair.enabled && rest_available) {
                for (const std::string& channel : s->restored_channels)
                    store->set_suspect(channel, true);
            } else {
                log.log(LogLevel::Info, kComponent,
                        "drift repair is off: the checkpoint is trusted unverified",
                        {{"channels", std::to_string(s->restored_channels.size())}});
                s->restored_channels.clear();
            }
        } else {
            store->clear();
        }
        detail::ViewPublisherConfig pc;
        pc.publish = config.publish;
        pc.log = log;
        s->publisher = std::make_shared<detail::ViewPublisher>(*store, *sink, std::move(pc));
        s->limiter = std::make_unique<detail::RateLimiter>(
            config.bootstrap.requests_per_second,
            std::max(1.0, config.bootstrap.requests_per_second / 4), "REST_RATE_LIMIT");
        if (config.repair.enabled) {
            s->repairer = std::make_shared<detail::DriftRepairer>(
                config.ably, config.repair, namespace_re, *store, *s->limiter, log);
        }
        s->bootstrap_done = !config.bootstrap.enabled;
        {
            const std::lock_guard lock(publisher_mutex);
            active_publisher = s->publisher;
        }

        // The consumer starts first: events that arrive during the bootstrap are applied, and the
        // newness rules make their order against the bootstrap's answers irrelevant.
        detail::DriftRepairer* repairer = s->repairer.get();
        s->consumer = std::jthread([this, repairer](std::stop_token stop) {
            Decoder decoder;
            DecodedBatch batch;
            NamespaceFilter filter(namespace_re);
            std::vector<Header> headers_with_type;
            try {
                source->run(stop, [&](const Delivery& d) {
                    return handle(d, decoder, batch, filter, repairer, headers_with_type);
                });
            } catch (const std::exception& e) {
                log.log(LogLevel::Error, kComponent, "the queue source failed",
                        {{"error", e.what()}});
                fail(std::current_exception());
            }
        });
        if (config.bootstrap.enabled) {
            s->bootstrapper = std::make_unique<detail::Bootstrapper>(
                config.ably, config.bootstrap, namespace_re, *store, *s->limiter, log);
            Session* raw = s.get();
            s->bootstrap = std::jthread([this, raw](std::stop_token stop) {
                try {
                    const auto result = raw->bootstrapper->run(stop);
                    if (!result.cancelled) {
                        log.log(LogLevel::Info, kComponent, "bootstrap finished",
                                {{"failed_channels", std::to_string(result.failed.size())},
                                 {"complete", result.enumeration_complete ? "true" : "false"}});
                    }
                } catch (const std::exception& e) {
                    log.log(LogLevel::Error, kComponent, "bootstrap failed", {{"error", e.what()}});
                }
                raw->bootstrap_done = true;
                try {
                    reconcile_restored(*raw, stop);
                } catch (const std::exception& e) {
                    log.log(LogLevel::Warn, kComponent, "checkpoint reconciliation failed",
                            {{"error", e.what()}});
                }
            });
        }
        if (repairer != nullptr) {
            Session* raw = s.get();
            const bool reconcile_here = !config.bootstrap.enabled;
            s->repair = std::jthread([this, raw, repairer, reconcile_here](std::stop_token stop) {
                if (reconcile_here) {
                    try {
                        reconcile_restored(*raw, stop);
                    } catch (const std::exception& e) {
                        log.log(LogLevel::Warn, kComponent, "checkpoint reconciliation failed",
                                {{"error", e.what()}});
                    }
                }
                while (detail::sleep_for(stop, kRepairPeriod)) {
                    repairer->tick(detail::DriftRepairer::Clock::now(), stop);
                }
            });
        }
        session = std::move(s);
        collecting = true;
    }

    // Stops the session's threads; publishes what is pending once more when asked to.
    void end_session(bool final_publish) noexcept {
        if (!session) return;
        collecting = false;
        Session& s = *session;
        s.consumer.request_stop();
        s.bootstrap.request_stop();
        s.repair.request_stop();
        if (s.limiter) s.limiter->cancel();
        if (s.repairer) s.repairer->cancel();
        if (s.consumer.joinable()) s.consumer.join();
        if (s.bootstrap.joinable()) s.bootstrap.join();
        if (s.repair.joinable()) s.repair.join();
        {
            const std::lock_guard lock(publisher_mutex);
            active_publisher.reset();
        }
        if (s.bootstrapper) last_bootstrap = s.bootstrapper->stats();
        try {
            if (final_publish && s.bootstrap_done) {
                s.publisher->flush();
            } else {
                s.publisher->cancel();
            }
        } catch (const std::exception& e) {
            log.log(LogLevel::Warn, kComponent, "final publish failed", {{"error", e.what()}});
        }
        last_publish = s.publisher->stats();
    }

    void publish_tick() {
        std::shared_ptr<detail::ViewPublisher> publisher;
        {
            const std::lock_guard lock(publisher_mutex);
            publisher = active_publisher;
        }
        if (!publisher || !collecting) return;
        {
            // Publishing a half-bootstrapped world would show members vanish and reappear.
            const std::lock_guard lock(lifecycle_mutex);
            if (!session || !session->bootstrap_done) return;
        }
        const auto begin = std::chrono::steady_clock::now();
        publisher->tick(begin);
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - begin)
                            .count();
        ticks.fetch_add(1, std::memory_order_relaxed);
        last_tick_us = us;
        std::int64_t prev = max_tick_us.load();
        while (us > prev && !max_tick_us.compare_exchange_weak(prev, us)) {
        }
    }

    void on_command(detail::Command c, const detail::CommandInfo& info) {
        if (c == detail::Command::Other) return;
        commands.fetch_add(1, std::memory_order_relaxed);
        log.log(LogLevel::Info, kComponent,
                c == detail::Command::Start ? "start command received" : "stop command received",
                {{"id", info.id}, {"source", std::string(detail::to_string(info.source))}});
        const std::lock_guard lock(lifecycle_mutex);
        if (!running) return;
        if (c == detail::Command::Start) {
            end_session(false);
            session.reset();
            start_session();
        } else {
            end_session(true);
            session.reset();
        }
    }
};

Pipeline::Pipeline(PipelineConfig config,
                   std::unique_ptr<PresenceStore> store,
                   std::unique_ptr<QueueSource> source,
                   std::unique_ptr<AblyRestSink> sink,
                   std::unique_ptr<Scheduler> scheduler)
    : impl_(std::make_unique<Impl>(std::move(config),
                                   std::move(store),
                                   std::move(source),
                                   std::move(sink),
                                   std::move(scheduler))) {}

Pipeline::~Pipeline() {
    stop();
}

void Pipeline::start() {
    Impl& d = *impl_;
    const std::lock_guard lock(d.lifecycle_mutex);
    if (d.started.exchange(true))
        throw Error(Errc::InvalidConfig, "Pipeline::start() called twice");
    if (!d.config.data_dir.empty()) d.restore_checkpoint();
    d.running = true;
    d.scheduler->every("publish", d.config.publish.interval, [&d] { d.publish_tick(); });
    if (!d.config.data_dir.empty()) {
        d.checkpoint_writer = std::jthread([&d](std::stop_token stop) {
            while (true) {
                {
                    std::unique_lock request_lock(d.checkpoint_request_mutex);
                    if (!d.checkpoint_cv.wait(request_lock, stop,
                                              [&d] { return d.checkpoint_requested; })) {
                        return;
                    }
                    d.checkpoint_requested = false;
                }
                d.write_checkpoint_now();
            }
        });
        d.scheduler->every("checkpoint", d.config.checkpoint_interval, [&d] {
            {
                // A half-bootstrapped picture must not replace a complete checkpoint.
                const std::lock_guard session_lock(d.lifecycle_mutex);
                if (!d.collecting || !d.session || !d.session->bootstrap_done) return;
            }
            {
                const std::lock_guard request_lock(d.checkpoint_request_mutex);
                d.checkpoint_requested = true;
            }
            d.checkpoint_cv.notify_one();
        });
    }
    d.scheduler->start();
    const bool has_command = !d.config.command.channel.empty();
    if (!has_command || d.config.command.consume_on_start) d.start_session();
    if (has_command) {
        d.command = std::make_unique<detail::CommandChannel>(
            d.config.ably, d.config.command.channel, d.log,
            [&d](detail::Command c, const detail::CommandInfo& info) { d.on_command(c, info); });
        d.command->start();
    }
    d.log.log(LogLevel::Info, kComponent, "started",
              {{"collecting", d.collecting ? "true" : "false"},
               {"command_channel", has_command ? d.config.command.channel : "(none)"}});
}

void Pipeline::stop() noexcept {
    Impl& d = *impl_;
    if (!d.running.exchange(false)) return;
    // The command channel first: its callback takes the lifecycle lock.
    if (d.command) d.command->stop();
    {
        const std::lock_guard lock(d.lifecycle_mutex);
        d.end_session(true);
        d.session.reset();
    }
    d.scheduler->stop();
    if (d.checkpoint_writer.joinable()) {
        d.checkpoint_writer.request_stop();
        d.checkpoint_writer.join();
    }
    d.write_checkpoint_now();  // after the final publish, with every thread stopped
    d.log.log(LogLevel::Info, kComponent, "stopped");
    {
        const std::lock_guard lock(d.done_mutex);
        d.stopped = true;
    }
    d.done_cv.notify_all();
}

bool Pipeline::wait_for(std::chrono::milliseconds timeout) {
    Impl& d = *impl_;
    std::unique_lock lock(d.done_mutex);
    return d.done_cv.wait_for(lock, timeout, [&d] { return d.stopped || d.fatal; });
}

void Pipeline::wait() {
    Impl& d = *impl_;
    {
        std::unique_lock lock(d.done_mutex);
        d.done_cv.wait(lock, [&d] { return d.stopped || d.fatal; });
    }
    stop();
    std::exception_ptr fatal;
    {
        const std::lock_guard lock(d.done_mutex);
        fatal = d.fatal;
    }
    if (fatal) std::rethrow_exception(fatal);
}

void Pipeline::start_collecting() {
    Impl& d = *impl_;
    const std::lock_guard lock(d.lifecycle_mutex);
    if (!d.running) return;
    d.end_session(false);
    d.session.reset();
    d.start_session();
}

void Pipeline::stop_collecting() {
    Impl& d = *impl_;
    const std::lock_guard lock(d.lifecycle_mutex);
    d.end_session(true);
    d.session.reset();
}

bool Pipeline::running() const noexcept {
    return impl_->running;
}
bool Pipeline::collecting() const noexcept {
    return impl_->collecting;
}
const PresenceStore& Pipeline::store() const noexcept {
    return *impl_->store;
}

Stats Pipeline::stats() const {
    Impl& d = *impl_;
    Stats s;
    s.queue_bodies = d.counters.bodies;
    s.decode_errors = d.counters.decode_errors;
    s.presence_events = d.counters.presence;
    s.occupancy_events = d.counters.occupancy;
    s.filtered_events = d.counters.filtered;
    s.ignored_sources = d.counters.ignored;
    for (std::size_t i = 0; i < s.by_action.size(); ++i) s.by_action[i] = d.counters.by_action[i];
    s.store = d.store->stats();
    s.queue = d.source->stats();
    s.counts = d.store->counts();
    s.ticks = d.ticks;
    s.last_tick_duration = std::chrono::microseconds(d.last_tick_us.load());
    s.max_tick_duration = std::chrono::microseconds(d.max_tick_us.load());
    s.collecting = d.collecting;
    s.source_connected = s.queue.connected;
    s.commands = d.commands;
    s.checkpoint_writes = d.checkpoint_writes;
    s.checkpoint_write_failures = d.checkpoint_write_failures;
    s.checkpoint_loads = d.checkpoint_loads;
    s.checkpoint_load_failures = d.checkpoint_load_failures;
    s.checkpoint_members_loaded = d.checkpoint_members_loaded;
    const std::lock_guard lock(d.lifecycle_mutex);
    s.bootstrap = d.last_bootstrap;
    s.publish = d.last_publish;
    if (d.session) {
        if (d.session->bootstrapper) s.bootstrap = d.session->bootstrapper->stats();
        s.bootstrap.done = d.session->bootstrap_done;
        s.publish = d.session->publisher->stats();
        if (d.session->repairer) {
            const auto r = d.session->repairer->stats();
            s.resyncs = r.resyncs;
            s.resync_failures = r.failures;
            s.suspect_channels = r.suspect_channels;
        }
    }
    s.last_publish_ok = std::all_of(s.publish.begin(), s.publish.end(),
                                    [](const PublishViewStats& v) { return v.last_ok; });
    return s;
}

}  // namespace presenceagg

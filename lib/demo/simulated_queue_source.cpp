// SPDX-License-Identifier: MIT
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <presenceagg/demo.hpp>
#include <presenceagg/error.hpp>

#include "demo/simulation.hpp"

namespace presenceagg {
namespace {

constexpr std::string_view kContentType = "application/json";
constexpr std::string_view kComponent = "demo";
// Beyond this, requeued deliveries are dropped (oldest first) so a handler that requeues
// everything cannot grow memory without bound.
constexpr std::size_t kMaxRequeued = 100'000;
// A paced run that falls this far behind skips ahead instead of bursting to catch up.
constexpr std::chrono::milliseconds kMaxLag{1'000};

std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct Requeued {
    std::string body;
    StreamKind stream;
};

}  // namespace

struct SimulatedQueueSource::Impl {
    explicit Impl(SimulationConfig c)
        : config(std::move(c)),
          sim(config) {}

    Disposition deliver(const DeliveryHandler& handler,
                        std::string_view body,
                        StreamKind stream,
                        bool redelivered);

    const SimulationConfig config;
    mutable std::mutex mutex;
    detail::Simulation sim;                  // guarded by mutex
    QueueSourceStats queue_stats;            // guarded by mutex
    std::uint64_t requeue_redeliveries = 0;  // guarded by mutex
    // Touched only by the thread inside run().
    std::deque<Requeued> requeued;
    // Event i is stamped time_base_ms + i * step; one index across runs, so an unpaced run that
    // is stopped and resumed stamps exactly what an uninterrupted one would.
    double time_base_ms = -1.0;  // < 0 before the first run
    std::uint64_t step_index = 0;
};

Disposition SimulatedQueueSource::Impl::deliver(const DeliveryHandler& handler,
                                                std::string_view body,
                                                StreamKind stream,
                                                bool redelivered) {
    Disposition disposition = Disposition::Requeue;
    try {
        disposition = handler(Delivery{body, {}, kContentType, redelivered, stream});
    } catch (const std::exception& e) {
        config.log.log(LogLevel::Error, kComponent, "delivery handler threw; requeued",
                       {{"error", e.what()}});
    } catch (...) {
        config.log.log(LogLevel::Error, kComponent, "delivery handler threw; requeued");
    }
    {
        const std::lock_guard lock(mutex);
        ++queue_stats.deliveries;
        switch (disposition) {
            case Disposition::Ack:
                ++queue_stats.acks;
                break;
            case Disposition::Reject:
                ++queue_stats.rejects;
                break;
            case Disposition::Requeue:
                ++queue_stats.requeues;
                break;
        }
    }
    if (disposition == Disposition::Requeue) {
        if (requeued.size() >= kMaxRequeued) {
            requeued.pop_front();
            config.log.log(LogLevel::Warn, kComponent,
                           "too many requeued deliveries; oldest dropped");
        }
        requeued.push_back({std::string(body), stream});
    }
    return disposition;
}

SimulatedQueueSource::SimulatedQueueSource(SimulationConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}

SimulatedQueueSource::~SimulatedQueueSource() = default;

void SimulatedQueueSource::run(std::stop_token stop, const DeliveryHandler& handler) {
    if (!handler) throw Error(Errc::InvalidConfig, "SimulatedQueueSource::run: empty handler");
    Impl& im = *impl_;
    const SimulationConfig& cfg = im.config;
    const bool paced = cfg.events_per_second > 0.0;
    const double step_ms =
        1000.0 / (paced ? cfg.events_per_second : cfg.simulated_events_per_second);

    // Timestamps follow the wall clock like Ably's, unless a fixed start was asked for.
    if (im.time_base_ms < 0.0) {
        im.time_base_ms =
            static_cast<double>(cfg.start_time_ms > 0 ? cfg.start_time_ms : wall_clock_ms());
    } else if (cfg.start_time_ms == 0 && paced) {
        im.time_base_ms = std::max(im.time_base_ms + static_cast<double>(im.step_index) * step_ms,
                                   static_cast<double>(wall_clock_ms()));
        im.step_index = 0;
    }
    {
        const std::lock_guard lock(im.mutex);
        im.queue_stats.connected = true;
    }
    cfg.log.log(LogLevel::Info, kComponent, "simulation running",
                {{"seed", std::to_string(cfg.seed)},
                 {"clients", std::to_string(cfg.clients)},
                 {"channels", std::to_string(cfg.channels)},
                 {"events_per_second", paced ? std::to_string(cfg.events_per_second) : "unpaced"}});

    using Steady = std::chrono::steady_clock;
    using Ms = std::chrono::duration<double, std::milli>;
    Steady::time_point origin = Steady::now();
    const std::uint64_t first_index = im.step_index;
    std::mutex wait_mutex;
    std::condition_variable_any wake;

    std::string body;
    std::string duplicate;
    std::vector<std::string> occupancy;

    const auto redeliver_one = [&] {
        Requeued r = std::move(im.requeued.front());
        im.requeued.pop_front();
        {
            const std::lock_guard lock(im.mutex);
            ++im.requeue_redeliveries;
        }
        im.deliver(handler, r.body, r.stream, true);
    };

    while (!stop.stop_requested()) {
        bool exhausted = false;
        {
            const std::lock_guard lock(im.mutex);
            exhausted = cfg.max_events > 0 && im.sim.presence_events() >= cfg.max_events;
        }
        if (exhausted) {
            // Settle what was requeued so the ground truth is reachable; bounded in case the
            // handler requeues forever.
            for (std::size_t budget = 1000 + 10 * im.requeued.size();
                 budget > 0 && !im.requeued.empty() && !stop.stop_requested(); --budget) {
                redeliver_one();
            }
            break;
        }
        if (paced) {
            const auto due =
                origin + std::chrono::duration_cast<Steady::duration>(
                             Ms(static_cast<double>(im.step_index - first_index) * step_ms));
            const auto now = Steady::now();
            if (now < due) {
                std::unique_lock lock(wait_mutex);
                wake.wait_until(lock, stop, due, [] { return false; });
                if (stop.stop_requested()) break;
            } else if (now - due > kMaxLag) {
                const auto lag = now - due;
                origin += lag;
                im.time_base_ms += std::chrono::duration_cast<Ms>(lag).count();
            }
        }
        const auto stamp = static_cast<std::int64_t>(
            im.time_base_ms + static_cast<double>(im.step_index++) * step_ms);

        std::size_t occupancy_count = 0;
        bool has_duplicate = false;
        {
            const std::lock_guard lock(im.mutex);
            im.sim.next_presence(stamp, body);
            has_duplicate = im.sim.take_duplicate(duplicate);
            occupancy_count = im.sim.take_occupancy(stamp, occupancy);
        }
        im.deliver(handler, body, StreamKind::Presence, false);
        if (has_duplicate) im.deliver(handler, duplicate, StreamKind::Presence, true);
        for (std::size_t i = 0; i < occupancy_count; ++i) {
            im.deliver(handler, occupancy[i], StreamKind::Occupancy, false);
        }
        if (!im.requeued.empty()) redeliver_one();
    }

    const std::lock_guard lock(im.mutex);
    im.queue_stats.connected = false;
}

QueueSourceStats SimulatedQueueSource::stats() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->queue_stats;
}

SimulationStats SimulatedQueueSource::simulation_stats() const {
    const std::lock_guard lock(impl_->mutex);
    SimulationStats s = impl_->sim.stats();
    s.requeue_redeliveries = impl_->requeue_redeliveries;
    return s;
}

std::vector<MemberKey> SimulatedQueueSource::expected_member_keys(bool include_outside) const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->sim.member_keys(include_outside);
}

std::size_t SimulatedQueueSource::expected_members() const {
    return simulation_stats().expected_members;
}

std::uint64_t SimulatedQueueSource::native_fanout_messages() const {
    return simulation_stats().native_fanout_messages;
}

std::unique_ptr<QueueSource> make_simulated_queue_source(SimulationConfig config) {
    return std::make_unique<SimulatedQueueSource>(std::move(config));
}

}  // namespace presenceagg

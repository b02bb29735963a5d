// SPDX-License-Identifier: MIT
#pragma once

/// `AmqpQueueSource`: the default `QueueSource`, consuming an Ably Queue (or any AMQP 0.9.1
/// broker) with librabbitmq-c. Reached through `make_amqp_queue_source()`; this header is
/// internal so tests can set the limits below.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <amqp.h>

#include <presenceagg/queue_source.hpp>

#include "amqp/amqp_endpoint.hpp"
#include "amqp/reconnect_backoff.hpp"

namespace presenceagg::detail {

/// Bodies above this are rejected unread (they would otherwise be buffered whole).
inline constexpr std::size_t kDefaultMaxBodyBytes = 4 * 1024 * 1024;

/// Knobs that are not part of the public config.
struct AmqpSourceLimits {
    std::size_t max_body_bytes = kDefaultMaxBodyBytes;
    /// Consecutive connections on which basic.consume got 404 NOT_FOUND before run() throws.
    /// More than one so a queue that is being (re)provisioned during a deploy is waited for
    /// briefly; a queue that stays missing is a configuration error, not an outage.
    int not_found_attempts = 3;
};

/// Thread-bound: `run()` owns the connection on the calling thread; `stats()` and `oversized()`
/// may be called from any thread.
class AmqpQueueSource final : public QueueSource {
public:
    /// Validates `config`; throws Error(InvalidConfig) naming the setting.
    explicit AmqpQueueSource(AmqpQueueSourceConfig config, AmqpSourceLimits limits = {});
    ~AmqpQueueSource() override;
    AmqpQueueSource(const AmqpQueueSource&) = delete;
    AmqpQueueSource& operator=(const AmqpQueueSource&) = delete;

    void run(std::stop_token stop, const DeliveryHandler& handler) override;
    [[nodiscard]] QueueSourceStats stats() const override;

    /// Deliveries rejected unread because their body exceeded `max_body_bytes`.
    [[nodiscard]] std::uint64_t oversized() const noexcept { return oversized_.load(); }
    /// Where it connects, without credentials.
    [[nodiscard]] const AmqpEndpoint& endpoint() const noexcept { return endpoint_; }

private:
    class Connection;
    enum class SessionEnd { Stopped, Lost };
    enum class Phase { Idle, Header, Body };

    /// One delivery being assembled from its method, header and body frames.
    struct Inflight {
        Phase phase = Phase::Idle;
        std::uint64_t tag = 0;
        bool redelivered = false;
        StreamKind stream = StreamKind::Presence;
        std::uint64_t body_size = 0;
        std::uint64_t received = 0;
        bool oversized = false;
        std::size_t header_count = 0;
    };

    [[nodiscard]] bool open(Connection& connection, const std::stop_token& stop);
    void consume_queue(Connection& connection, const std::string& queue, std::string_view tag);
    [[nodiscard]] SessionEnd consume(Connection& connection,
                                     const std::stop_token& stop,
                                     const DeliveryHandler& handler);
    [[nodiscard]] bool handle_method(Connection& connection,
                                     const amqp_frame_t& frame,
                                     Inflight& inflight);
    [[nodiscard]] bool finish_delivery(Connection& connection,
                                       Inflight& inflight,
                                       const DeliveryHandler& handler);
    [[nodiscard]] bool settle(Connection& connection, std::uint64_t tag, Disposition disposition);
    void on_channel_closed(int reply_code, std::string_view queue, const std::string& detail);
    void warn(std::string_view message, std::string detail) const;

    AmqpQueueSourceConfig config_;
    AmqpSourceLimits limits_;
    AmqpEndpoint endpoint_;
    std::string url_for_logs_;
    ReconnectBackoff backoff_;
    int not_found_count_ = 0;

    // Scratch reused across deliveries so the steady state does not allocate.
    std::string body_;
    std::string content_type_;
    std::vector<Header> headers_;

    std::atomic<std::uint64_t> deliveries_{0};
    std::atomic<std::uint64_t> acks_{0};
    std::atomic<std::uint64_t> rejects_{0};
    std::atomic<std::uint64_t> requeues_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::uint64_t> oversized_{0};
    std::atomic<bool> connected_{false};
};

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

/// `QueueSource`: where presence events come from. The default reads an Ably Queue or any AMQP
/// 0.9.1 broker (Firehose into your own RabbitMQ) with librabbitmq-c.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <presenceagg/decode.hpp>
#include <presenceagg/export.hpp>
#include <presenceagg/logging.hpp>
#include <presenceagg/secret.hpp>

namespace presenceagg {

/// How a delivery is settled once the handler returns.
enum class Disposition : std::uint8_t {
    Ack,      ///< applied; remove it from the queue
    Reject,   ///< malformed; never redeliver (Ably moves it to the dead-letter queue)
    Requeue,  ///< could not be handled now; deliver again later
};

/// Which configured stream a delivery came from.
enum class StreamKind : std::uint8_t { Presence, Occupancy };

/// One message from the queue. Views are valid only during the handler call.
struct Delivery {
    std::string_view body;
    std::span<const Header> headers;
    std::string_view content_type;
    bool redelivered = false;
    StreamKind stream = StreamKind::Presence;
};

/// Called on the source's thread for every delivery; the delivery is settled as it returns.
/// Must not throw (an exception settles the delivery as Requeue and is logged).
using DeliveryHandler = std::function<Disposition(const Delivery&)>;

struct QueueSourceStats {
    std::uint64_t deliveries = 0;
    std::uint64_t acks = 0;
    std::uint64_t rejects = 0;
    std::uint64_t requeues = 0;
    std::uint64_t reconnects = 0;
    bool connected = false;
};

/// Thread-bound: `run()` owns the calling thread until stop is requested.
class PRESENCEAGG_API QueueSource {
public:
    virtual ~QueueSource() = default;

    /// Consumes until `stop` is requested, calling `handler` for each delivery and settling it
    /// after the handler returns. Reconnects with jittered backoff on connection loss. Returns
    /// soon after stop is requested; throws Error only when retrying cannot help (credentials
    /// refused, queue missing).
    virtual void run(std::stop_token stop, const DeliveryHandler& handler) = 0;

    [[nodiscard]] virtual QueueSourceStats stats() const { return {}; }
};

struct AmqpQueueSourceConfig {
    /// "amqp[s]://user:pass@host:port/vhost". Credentials may be left out of the URL and given
    /// below instead. For an Ably Queue: amqps://HOST:5671/shared with the API key.
    std::string url;
    std::string username;         ///< overrides the URL's user when non-empty
    Secret password;              ///< overrides the URL's password when non-empty
    std::string queue;            ///< exact queue name, e.g. "APPID:presence-queue"; never declared
    std::string occupancy_queue;  ///< optional second queue of channel.occupancy events
    std::uint16_t prefetch = 200;
    std::chrono::seconds heartbeat{30};
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds reconnect_min{500};
    std::chrono::milliseconds reconnect_max{30'000};
    std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
    bool tls_verify = true;  ///< false only with an explicit insecure option
    Logger log;
};

[[nodiscard]] PRESENCEAGG_API std::unique_ptr<QueueSource> make_amqp_queue_source(
    AmqpQueueSourceConfig config);

}  // namespace presenceagg

// SPDX-License-Identifier: MIT
#include "amqp/amqp_queue_source.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <span>
#include <string_view>
#include <utility>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <unistd.h>

#include <presenceagg/error.hpp>

#include "amqp/amqp_handles.hpp"
#include "amqp/amqp_headers.hpp"

namespace presenceagg {
namespace detail {
namespace {

using namespace std::chrono_literals;

constexpr amqp_channel_t kChannel = 1;
constexpr std::string_view kComponent = "amqp";
constexpr std::string_view kPresenceTag = "presenceagg-presence";
constexpr std::string_view kOccupancyTag = "presenceagg-occupancy";
constexpr int kAccessRefused = 403;  // AMQP reply codes
constexpr int kNotFound = 404;
constexpr int kNotAllowed = 530;
/// Poll timeout ceiling: how quickly stop is noticed while idle.
constexpr auto kMaxTick = 250ms;
/// Ceiling for the closing RPCs, so a dead peer cannot hold up shutdown.
constexpr auto kMaxCloseTimeout = 2s;

void require(bool ok, const std::string& message) {
    if (!ok) throw Error(Errc::InvalidConfig, message);
}

void validate(const AmqpQueueSourceConfig& config, const AmqpEndpoint& endpoint) {
    require(!config.queue.empty(), "amqp queue is empty");
    require(config.queue.size() <= 255 && config.occupancy_queue.size() <= 255,
            "amqp queue name is longer than 255 bytes");
    require(config.prefetch > 0, "amqp prefetch must be between 1 and 65535");
    require(config.heartbeat >= 1s && config.heartbeat <= std::chrono::seconds(65535),
            "amqp heartbeat must be between 1 and 65535 seconds (0 would disable heartbeats)");
    require(config.connect_timeout > 0ms, "amqp connect timeout must be positive");
    require(config.reconnect_min > 0ms, "amqp reconnect_min must be positive");
    require(config.reconnect_max >= config.reconnect_min,
            "amqp reconnect_max must not be below reconnect_min");
    if (endpoint.tls && config.tls_verify) {
        require(!config.ca_file.empty(), "amqp ca_file is empty (needed to verify the broker)");
        require(::access(config.ca_file.c_str(), R_OK) == 0,
                "amqp ca_file '" + config.ca_file + "' is not readable");
    }
}

std::uint64_t random_seed() {
    std::random_device device;
    return (std::uint64_t{device()} << 32U) ^ device();
}

}  // namespace

/// One AMQP connection. Destruction closes it gracefully (channel, then connection, with a short
/// RPC timeout) unless it is known dead, then frees it. Never throws.
class AmqpQueueSource::Connection {
public:
    explicit Connection(std::atomic<bool>& connected_flag)
        : connected_flag_(connected_flag) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        connected_flag_.store(false);
        if (!state || dead) return;  // the unique_ptr just frees it
        timeval close_timeout = to_timeval(close_timeout_);
        amqp_set_rpc_timeout(state.get(), &close_timeout);
        if (channel_open &&
            amqp_channel_close(state.get(), kChannel, AMQP_REPLY_SUCCESS).reply_type !=
                AMQP_RESPONSE_NORMAL) {
            return;  // the connection is in an unknown state: just free it
        }
        amqp_connection_close(state.get(), AMQP_REPLY_SUCCESS);
    }

    AmqpConnectionPtr state;
    bool dead = false;          ///< the socket is gone or the broker closed the connection
    bool channel_open = false;  ///< kChannel is open and not closed by the broker
    std::chrono::microseconds tick = kMaxTick;

    void set_close_timeout(std::chrono::microseconds timeout) noexcept { close_timeout_ = timeout; }

    /// Acknowledges a broker-initiated close so the broker logs a clean shutdown.
    void reply_close_ok(const amqp_frame_t& frame) noexcept {
        if (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_ok_t ok{};
            amqp_send_method(state.get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
            dead = true;
        } else {
            amqp_channel_close_ok_t ok{};
            amqp_send_method(state.get(), frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
            channel_open = false;
        }
    }
    /// The same for a close that arrived as an RPC's server exception.
    void reply_close_ok(const amqp_rpc_reply_t& reply) noexcept {
        if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION) {
            if (reply.reply_type != AMQP_RESPONSE_NORMAL) dead = true;
            return;
        }
        amqp_frame_t frame{};
        frame.channel = is_connection_close(reply) ? 0 : kChannel;
        frame.payload.method.id = reply.reply.id;
        reply_close_ok(frame);
    }

private:
    std::atomic<bool>& connected_flag_;
    std::chrono::microseconds close_timeout_ = kMaxCloseTimeout;
};

AmqpQueueSource::AmqpQueueSource(AmqpQueueSourceConfig config, AmqpSourceLimits limits)
    : config_(std::move(config)),
      limits_(limits),
      endpoint_(parse_amqp_endpoint(config_.url, config_.username, config_.password)),
      url_for_logs_(endpoint_.redacted_url()),
      backoff_(config_.reconnect_min, config_.reconnect_max, random_seed()) {
    validate(config_, endpoint_);
    if (limits_.not_found_attempts < 1) limits_.not_found_attempts = 1;
    if (endpoint_.tls && !config_.tls_verify) {
        config_.log.log(LogLevel::Warn, kComponent,
                        "TLS verification is off: the broker's identity is not checked",
                        {{"url", url_for_logs_}});
    }
}

AmqpQueueSource::~AmqpQueueSource() = default;

QueueSourceStats AmqpQueueSource::stats() const {
    QueueSourceStats stats;
    stats.deliveries = deliveries_.load();
    stats.acks = acks_.load();
    stats.rejects = rejects_.load();
    stats.requeues = requeues_.load();
    stats.reconnects = reconnects_.load();
    stats.connected = connected_.load();
    return stats;
}

void AmqpQueueSource::warn(std::string_view message, std::string detail) const {
    config_.log.log(
        LogLevel::Warn, kComponent, message,
        {{"url", url_for_logs_}, {"queue", config_.queue}, {"error", std::move(detail)}});
}

void AmqpQueueSource::run(std::stop_token stop, const DeliveryHandler& handler) {
    if (!handler) throw Error(Errc::InvalidConfig, "amqp delivery handler is empty");
    bool first = true;
    std::mutex wait_mutex;
    std::condition_variable_any wait_cv;
    while (!stop.stop_requested()) {
        if (!first) reconnects_.fetch_add(1);
        first = false;
        SessionEnd end = SessionEnd::Lost;
        {
            Connection connection(connected_);
            if (open(connection, stop)) {
                backoff_.reset();
                not_found_count_ = 0;
                connected_.store(true);
                config_.log.log(LogLevel::Info, kComponent, "consuming",
                                {{"url", url_for_logs_}, {"queue", config_.queue}});
                end = consume(connection, stop, handler);
            }
        }  // closes the connection: unsettled deliveries go back to the queue
        if (end == SessionEnd::Stopped || stop.stop_requested()) break;
        const auto delay = backoff_.next();
        config_.log.log(LogLevel::Info, kComponent, "reconnecting",
                        {{"url", url_for_logs_}, {"delay_ms", std::to_string(delay.count())}});
        std::unique_lock lock(wait_mutex);
        wait_cv.wait_for(lock, stop, delay, [] { return false; });
    }
}

bool AmqpQueueSource::open(Connection& connection, const std::stop_token& stop) {
    if (stop.stop_requested()) return false;
    connection.state.reset(amqp_new_connection());
    amqp_connection_state_t state = connection.state.get();
    if (state == nullptr) {
        warn("cannot allocate a connection", "out of memory");
        return false;
    }
    const auto close_timeout =
        std::min<std::chrono::microseconds>(config_.connect_timeout, kMaxCloseTimeout);
    connection.set_close_timeout(close_timeout);
    connection.dead = true;  // until login succeeds there is nothing to close gracefully

    amqp_socket_t* socket = nullptr;  // owned by the connection
    if (endpoint_.tls) {
        socket = amqp_ssl_socket_new(state);
        if (socket == nullptr) {
            warn("cannot create a TLS socket", "amqp_ssl_socket_new failed");
            return false;
        }
        if (config_.tls_verify &&
            amqp_ssl_socket_set_cacert(socket, config_.ca_file.c_str()) != AMQP_STATUS_OK) {
            throw Error(Errc::InvalidConfig,
                        "amqp ca_file '" + config_.ca_file + "' holds no usable CA certificates");
        }
        amqp_ssl_socket_set_verify_peer(socket, config_.tls_verify ? 1 : 0);
        amqp_ssl_socket_set_verify_hostname(socket, config_.tls_verify ? 1 : 0);
        if (amqp_ssl_socket_set_ssl_versions(socket, AMQP_TLSv1_2, AMQP_TLSvLATEST) !=
            AMQP_STATUS_OK) {
            warn("cannot restrict TLS to 1.2 or later", "amqp_ssl_socket_set_ssl_versions failed");
            return false;
        }
    } else {
        socket = amqp_tcp_socket_new(state);
        if (socket == nullptr) {
            warn("cannot create a socket", "amqp_tcp_socket_new failed");
            return false;
        }
    }

    timeval timeout = to_timeval(config_.connect_timeout);
    const int status =
        amqp_socket_open_noblock(socket, endpoint_.host.c_str(), endpoint_.port, &timeout);
    if (status != AMQP_STATUS_OK) {
        warn("cannot connect", std::string(status_text(status)));
        return false;
    }
    amqp_set_handshake_timeout(state, &timeout);
    amqp_set_rpc_timeout(state, &timeout);

    // Ask for basic.cancel when the queue goes away (0.11 does not advertise it) and name the
    // connection for the broker's operators.
    const std::string connection_name = "presenceagg " + config_.queue;
    amqp_table_entry_t capability{};
    capability.key = amqp_cstring_bytes("consumer_cancel_notify");
    capability.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capability.value.value.boolean = 1;
    std::array<amqp_table_entry_t, 2> properties{};
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 1;
    properties[0].value.value.table.entries = &capability;
    properties[1].key = amqp_cstring_bytes("connection_name");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = as_bytes(connection_name);
    amqp_table_t client_properties{static_cast<int>(properties.size()), properties.data()};

    const auto heartbeat = static_cast<int>(config_.heartbeat.count());
    const amqp_rpc_reply_t login = amqp_login_with_properties(
        state, endpoint_.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat, &client_properties,
        AMQP_SASL_METHOD_PLAIN, endpoint_.username.c_str(), endpoint_.password.reveal().c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        const int code = server_reply_code(login);
        const std::string detail = describe_reply(login);
        if (code == kAccessRefused) {
            throw Error(Errc::AmqpAuthRefused, "AMQP broker " + endpoint_.describe() +
                                                   " refused the credentials of user '" +
                                                   endpoint_.username + "' (" + detail + ")");
        }
        if (code == kNotAllowed) {
            throw Error(Errc::AmqpAuthRefused, "AMQP broker " + endpoint_.describe() +
                                                   " refused user '" + endpoint_.username +
                                                   "' access to the vhost (" + detail + ")");
        }
        connection.reply_close_ok(login);
        warn("login failed", detail);
        return false;
    }
    connection.dead = false;

    const int negotiated = amqp_get_heartbeat(state);
    const auto heartbeat_quarter =
        std::chrono::microseconds(std::chrono::seconds(negotiated > 0 ? negotiated : heartbeat)) /
        4;
    connection.tick = std::min<std::chrono::microseconds>(kMaxTick, heartbeat_quarter);

    amqp_channel_open(state, kChannel);
    amqp_rpc_reply_t reply = amqp_get_rpc_reply(state);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        connection.reply_close_ok(reply);
        warn("cannot open a channel", describe_reply(reply));
        return false;
    }
    connection.channel_open = true;

    if (amqp_basic_qos(state, kChannel, 0, config_.prefetch, 0) == nullptr) {
        reply = amqp_get_rpc_reply(state);
        connection.reply_close_ok(reply);
        warn("basic.qos failed", describe_reply(reply));
        return false;
    }

    const std::pair<const std::string*, std::string_view> consumers[] = {
        {&config_.queue, kPresenceTag}, {&config_.occupancy_queue, kOccupancyTag}};
    for (const auto& [queue, tag] : consumers) {
        if (queue->empty()) continue;
        // Never declared: Ably forbids it, and a missing queue must surface as an error.
        if (amqp_basic_consume(state, kChannel, as_bytes(*queue), as_bytes(tag), 0, 0, 0,
                               amqp_empty_table) == nullptr) {
            reply = amqp_get_rpc_reply(state);
            connection.reply_close_ok(reply);
            const std::string detail = describe_reply(reply);
            if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && !is_connection_close(reply)) {
                on_channel_closed(server_reply_code(reply), *queue, detail);  // may throw
            }
            warn("basic.consume failed", detail);
            return false;
        }
    }
    return true;
}

void AmqpQueueSource::on_channel_closed(int reply_code,
                                        std::string_view queue,
                                        const std::string& detail) {
    if (reply_code == kAccessRefused) {
        throw Error(Errc::AmqpAuthRefused,
                    "AMQP broker " + endpoint_.describe() + " refused user '" + endpoint_.username +
                        "' access to queue '" + std::string(queue) + "' (" + detail + ")");
    }
    if (reply_code == kNotFound) {
        if (++not_found_count_ >= limits_.not_found_attempts) {
            throw Error(Errc::AmqpChannelClosed, "AMQP queue '" + std::string(queue) +
                                                     "' not found on " + endpoint_.describe() +
                                                     " (" + detail + ")");
        }
        config_.log.log(LogLevel::Warn, kComponent, "queue not found; retrying",
                        {{"url", url_for_logs_},
                         {"queue", std::string(queue)},
                         {"attempt", std::to_string(not_found_count_)}});
    }
}

AmqpQueueSource::SessionEnd AmqpQueueSource::consume(Connection& connection,
                                                     const std::stop_token& stop,
                                                     const DeliveryHandler& handler) {
    amqp_connection_state_t state = connection.state.get();
    Inflight inflight;
    for (;;) {
        // A partly received delivery is abandoned on stop: it is unsettled, so the close
        // requeues it.
        if (stop.stop_requested()) return SessionEnd::Stopped;
        if (inflight.phase == Phase::Idle) amqp_maybe_release_buffers(state);

        amqp_frame_t frame{};
        timeval timeout = to_timeval(connection.tick);
        // Waiting here also sends our heartbeats and detects the broker's silence (2 intervals).
        const int status = amqp_simple_wait_frame_noblock(state, &frame, &timeout);
        if (status == AMQP_STATUS_TIMEOUT) continue;
        if (status != AMQP_STATUS_OK) {
            connection.dead = true;
            warn("connection lost", std::string(status_text(status)));
            return SessionEnd::Lost;
        }

        switch (frame.frame_type) {
            case AMQP_FRAME_METHOD:
                if (!handle_method(connection, frame, inflight)) return SessionEnd::Lost;
                break;
            case AMQP_FRAME_HEADER: {
                if (inflight.phase != Phase::Header || frame.channel != kChannel ||
                    frame.payload.properties.class_id != AMQP_BASIC_CLASS) {
                    warn("protocol error", "unexpected content header frame");
                    return SessionEnd::Lost;
                }
                // Decoded properties point into the frame buffer: copy them out now.
                const auto* properties =
                    static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
                content_type_.clear();
                inflight.header_count = 0;
                if (properties != nullptr) {
                    if ((properties->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) != 0) {
                        content_type_.assign(as_view(properties->content_type));
                    }
                    if ((properties->_flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
                        inflight.header_count = render_headers(properties->headers, headers_);
                    }
                }
                inflight.body_size = frame.payload.properties.body_size;
                inflight.received = 0;
                inflight.oversized = inflight.body_size > limits_.max_body_bytes;
                body_.clear();
                if (!inflight.oversized)
                    body_.reserve(static_cast<std::size_t>(inflight.body_size));
                inflight.phase = Phase::Body;
                if (inflight.body_size == 0 && !finish_delivery(connection, inflight, handler)) {
                    return SessionEnd::Lost;
                }
                break;
            }
            case AMQP_FRAME_BODY: {
                const amqp_bytes_t fragment = frame.payload.body_fragment;
                if (inflight.phase != Phase::Body || frame.channel != kChannel ||
                    fragment.len > inflight.body_size - inflight.received) {
                    warn("protocol error", "unexpected content body frame");
                    return SessionEnd::Lost;
                }
                inflight.received += fragment.len;
                if (inflight.oversized) {
                    // Drop each fragment as it comes so an oversized body is never held whole.
                    amqp_maybe_release_buffers(state);
                } else {
                    body_.append(as_view(fragment));
                }
                if (inflight.received == inflight.body_size &&
                    !finish_delivery(connection, inflight, handler)) {
                    return SessionEnd::Lost;
                }
                break;
            }
            default:
                break;  // heartbeats are consumed by the library
        }
    }
}

bool AmqpQueueSource::handle_method(Connection& connection,
                                    const amqp_frame_t& frame,
                                    Inflight& inflight) {
    switch (frame.payload.method.id) {
        case AMQP_BASIC_DELIVER_METHOD: {
            const auto* deliver =
                static_cast<const amqp_basic_deliver_t*>(frame.payload.method.decoded);
            if (inflight.phase != Phase::Idle || frame.channel != kChannel || deliver == nullptr) {
                warn("protocol error", "unexpected basic.deliver");
                return false;
            }
            inflight.phase = Phase::Header;
            inflight.tag = deliver->delivery_tag;
            inflight.redelivered = deliver->redelivered != 0;
            inflight.stream = as_view(deliver->consumer_tag) == kOccupancyTag
                                  ? StreamKind::Occupancy
                                  : StreamKind::Presence;
            return true;
        }
        case AMQP_BASIC_CANCEL_METHOD:
            warn("the broker cancelled the consumer", "basic.cancel (queue deleted?)");
            return false;
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD: {
            connection.reply_close_ok(frame);
            amqp_rpc_reply_t reply{};
            reply.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
            reply.reply = frame.payload.method;
            const std::string detail = describe_reply(reply);
            if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
                on_channel_closed(server_reply_code(reply), config_.queue, detail);  // may throw
            }
            warn("the broker closed the connection", detail);
            return false;
        }
        default:
            // Nothing else needs an answer from a consumer (no confirms, no flow control here).
            config_.log.log(LogLevel::Debug, kComponent, "ignored method",
                            {{"method", std::to_string(frame.payload.method.id)}});
            return true;
    }
}

bool AmqpQueueSource::finish_delivery(Connection& connection,
                                      Inflight& inflight,
                                      const DeliveryHandler& handler) {
    inflight.phase = Phase::Idle;
    deliveries_.fetch_add(1);
    if (inflight.oversized) {
        oversized_.fetch_add(1);
        config_.log.log(LogLevel::Warn, kComponent, "rejected an oversized delivery unread",
                        {{"queue", config_.queue},
                         {"bytes", std::to_string(inflight.body_size)},
                         {"limit", std::to_string(limits_.max_body_bytes)}});
        return settle(connection, inflight.tag, Disposition::Reject);
    }
    Delivery delivery;
    delivery.body = body_;
    delivery.headers = std::span<const Header>(headers_.data(), inflight.header_count);
    delivery.content_type = content_type_;
    delivery.redelivered = inflight.redelivered;
    delivery.stream = inflight.stream;
    Disposition disposition = Disposition::Requeue;
    try {
        disposition = handler(delivery);
    } catch (const std::exception& e) {
        config_.log.log(LogLevel::Error, kComponent, "delivery handler threw; requeueing",
                        {{"error", e.what()}});
    } catch (...) {
        config_.log.log(LogLevel::Error, kComponent, "delivery handler threw; requeueing",
                        {{"error", "unknown exception"}});
    }
    return settle(connection, inflight.tag, disposition);
}

bool AmqpQueueSource::settle(Connection& connection, std::uint64_t tag, Disposition disposition) {
    // Tags are per channel and connection; `tag` always comes from this connection.
    amqp_connection_state_t state = connection.state.get();
    int status = AMQP_STATUS_OK;
    switch (disposition) {
        case Disposition::Ack:
            status = amqp_basic_ack(state, kChannel, tag, 0);
            if (status == AMQP_STATUS_OK) acks_.fetch_add(1);
            break;
        case Disposition::Reject:
            status = amqp_basic_reject(state, kChannel, tag, 0);
            if (status == AMQP_STATUS_OK) rejects_.fetch_add(1);
            break;
        case Disposition::Requeue:
        default:
            status = amqp_basic_reject(state, kChannel, tag, 1);
            if (status == AMQP_STATUS_OK) requeues_.fetch_add(1);
            break;
    }
    if (status != AMQP_STATUS_OK) {
        connection.dead = true;
        warn("cannot settle a delivery", std::string(status_text(status)));
        return false;
    }
    return true;
}

}  // namespace detail

std::unique_ptr<QueueSource> make_amqp_queue_source(AmqpQueueSourceConfig config) {
    return std::make_unique<detail::AmqpQueueSource>(std::move(config));
}

}  // namespace presenceagg

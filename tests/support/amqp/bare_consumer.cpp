// SPDX-License-Identifier: MIT
// amqp-bare-consumer: drains a queue with librabbitmq-c alone (basic.qos prefetch, one ack per
// message) and prints messages/s. The baseline a QueueSource benchmark is compared against: it
// measures what the broker and the client library can do with no work per message.
//
//   amqp-bare-consumer URL QUEUE PREFETCH COUNT
//
// Stops after COUNT messages, or after 5 s without a delivery. Exit 0 when COUNT were drained.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

namespace {

struct ConnectionDeleter {
    void operator()(amqp_connection_state_t connection) const noexcept {
        amqp_destroy_connection(connection);
    }
};
using ConnectionPtr = std::unique_ptr<amqp_connection_state_t_, ConnectionDeleter>;

bool ok(amqp_connection_state_t connection, const char* what) {
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(connection);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return true;
    std::fprintf(stderr, "amqp-bare-consumer: %s failed (reply type %d, %s)\n", what,
                 static_cast<int>(reply.reply_type),
                 reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                     ? amqp_error_string2(reply.library_error)
                     : "server exception");
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s URL QUEUE PREFETCH COUNT\n", argv[0]);
        return 2;
    }
    std::vector<char> url(argv[1], argv[1] + std::string_view(argv[1]).size() + 1);
    const std::string queue = argv[2];
    const auto prefetch = static_cast<std::uint16_t>(std::strtoul(argv[3], nullptr, 10));
    const auto count = std::strtoull(argv[4], nullptr, 10);

    amqp_connection_info info{};
    if (amqp_parse_url(url.data(), &info) != AMQP_STATUS_OK || info.ssl != 0) {
        std::fprintf(stderr, "amqp-bare-consumer: URL must be amqp://user:pass@host:port/vhost\n");
        return 2;
    }
    ConnectionPtr connection(amqp_new_connection());
    amqp_connection_state_t c = connection.get();
    amqp_socket_t* socket = amqp_tcp_socket_new(c);
    timeval timeout{5, 0};
    if (socket == nullptr ||
        amqp_socket_open_noblock(socket, info.host, info.port, &timeout) != AMQP_STATUS_OK) {
        std::fprintf(stderr, "amqp-bare-consumer: cannot connect to %s:%d\n", info.host, info.port);
        return 1;
    }
    const char* vhost = *info.vhost != '\0' ? info.vhost : "/";
    const amqp_rpc_reply_t login = amqp_login(c, vhost, 0, AMQP_DEFAULT_FRAME_SIZE, 30,
                                              AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        std::fprintf(stderr, "amqp-bare-consumer: login failed\n");
        return 1;
    }
    amqp_channel_open(c, 1);
    if (!ok(c, "channel.open")) return 1;
    amqp_basic_qos(c, 1, 0, prefetch, 0);
    if (!ok(c, "basic.qos")) return 1;
    amqp_basic_consume(c, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    if (!ok(c, "basic.consume")) return 1;

    std::uint64_t received = 0;
    std::uint64_t bytes = 0;
    auto start = std::chrono::steady_clock::now();
    auto last = start;
    while (received < count) {
        amqp_maybe_release_buffers(c);
        amqp_envelope_t envelope;
        timeval wait{5, 0};
        const amqp_rpc_reply_t reply = amqp_consume_message(c, &envelope, &wait, 0);
        if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
            if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
                reply.library_error == AMQP_STATUS_TIMEOUT) {
                std::fprintf(stderr, "amqp-bare-consumer: idle for 5 s after %llu messages\n",
                             static_cast<unsigned long long>(received));
            } else {
                std::fprintf(stderr, "amqp-bare-consumer: consume failed after %llu messages\n",
                             static_cast<unsigned long long>(received));
            }
            break;
        }
        if (received == 0) start = std::chrono::steady_clock::now();  // time from first delivery
        bytes += envelope.message.body.len;
        amqp_basic_ack(c, 1, envelope.delivery_tag, 0);
        amqp_destroy_envelope(&envelope);
        ++received;
        last = std::chrono::steady_clock::now();
    }
    const double seconds = std::chrono::duration<double>(last - start).count();
    std::printf(
        "bare consumer: %llu messages (%llu body bytes) in %.3f s = %.0f messages/s "
        "(prefetch %u)\n",
        static_cast<unsigned long long>(received), static_cast<unsigned long long>(bytes), seconds,
        seconds > 0 ? static_cast<double>(received) / seconds : 0.0,
        static_cast<unsigned>(prefetch));
    timeval close_timeout{2, 0};
    amqp_set_rpc_timeout(c, &close_timeout);
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    return received == count ? 0 : 1;
}

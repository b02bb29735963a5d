// SPDX-License-Identifier: MIT
#pragma once

/// RAII and small helpers over librabbitmq-c 0.11. Internal: only lib/amqp and the AMQP test
/// support include this header. Nothing here is thread-safe: a connection belongs to one thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <amqp.h>
#include <sys/time.h>

namespace presenceagg::detail {

/// Destroys a connection state; this also closes and frees its socket.
struct AmqpConnectionDeleter {
    void operator()(amqp_connection_state_t connection) const noexcept {
        amqp_destroy_connection(connection);
    }
};

/// Owns an `amqp_connection_state_t`. Sockets are created against it and only ever borrowed.
using AmqpConnectionPtr = std::unique_ptr<amqp_connection_state_t_, AmqpConnectionDeleter>;

/// A view of library bytes (never NUL-terminated).
[[nodiscard]] inline std::string_view as_view(amqp_bytes_t bytes) noexcept {
    if (bytes.len == 0) return {};
    return {static_cast<const char*>(bytes.bytes), bytes.len};
}

/// A non-owning `amqp_bytes_t` over `text`; valid while `text` is.
[[nodiscard]] inline amqp_bytes_t as_bytes(std::string_view text) noexcept {
    amqp_bytes_t bytes;
    bytes.len = text.size();
    // The library takes `void*` but never writes through bytes it is given to send.
    bytes.bytes = const_cast<char*>(text.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    return bytes;
}

/// A `timeval` for a library timeout.
[[nodiscard]] timeval to_timeval(std::chrono::microseconds duration) noexcept;

/// Text for an RPC reply, e.g. "connection.close 403 ACCESS_REFUSED - Login was refused".
/// Broker reply texts never contain the password.
[[nodiscard]] std::string describe_reply(const amqp_rpc_reply_t& reply);

/// The AMQP reply code of a server exception (channel.close or connection.close), else 0.
[[nodiscard]] int server_reply_code(const amqp_rpc_reply_t& reply) noexcept;

/// True when the server exception is a connection.close (as opposed to a channel.close).
[[nodiscard]] bool is_connection_close(const amqp_rpc_reply_t& reply) noexcept;

/// Text for a library status, e.g. "a socket error occurred".
[[nodiscard]] std::string_view status_text(int status) noexcept;

}  // namespace presenceagg::detail

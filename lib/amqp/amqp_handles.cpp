// SPDX-License-Identifier: MIT
#include "amqp/amqp_handles.hpp"

#include <amqp_framing.h>

namespace presenceagg::detail {

timeval to_timeval(std::chrono::microseconds duration) noexcept {
    const auto us = duration.count() < 0 ? 0 : duration.count();
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(us / 1'000'000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>(us % 1'000'000);
    return tv;
}

std::string_view status_text(int status) noexcept {
    const char* text = amqp_error_string2(status);
    return text != nullptr ? std::string_view(text) : std::string_view("unknown status");
}

int server_reply_code(const amqp_rpc_reply_t& reply) noexcept {
    if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || reply.reply.decoded == nullptr) {
        return 0;
    }
    switch (reply.reply.id) {
        case AMQP_CONNECTION_CLOSE_METHOD:
            return static_cast<const amqp_connection_close_t*>(reply.reply.decoded)->reply_code;
        case AMQP_CHANNEL_CLOSE_METHOD:
            return static_cast<const amqp_channel_close_t*>(reply.reply.decoded)->reply_code;
        default:
            return 0;
    }
}

bool is_connection_close(const amqp_rpc_reply_t& reply) noexcept {
    return reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
           reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD;
}

std::string describe_reply(const amqp_rpc_reply_t& reply) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return "ok";
        case AMQP_RESPONSE_NONE:
            return "no RPC reply (connection lost)";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return std::string(status_text(reply.library_error));
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            break;
    }
    if (reply.reply.decoded == nullptr) return "server exception";
    std::string text;
    amqp_bytes_t reply_text{};
    switch (reply.reply.id) {
        case AMQP_CONNECTION_CLOSE_METHOD: {
            const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
            text = "connection.close " + std::to_string(close->reply_code);
            reply_text = close->reply_text;
            break;
        }
        case AMQP_CHANNEL_CLOSE_METHOD: {
            const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
            text = "channel.close " + std::to_string(close->reply_code);
            reply_text = close->reply_text;
            break;
        }
        default:
            return "unexpected server method " + std::to_string(reply.reply.id);
    }
    if (reply_text.len > 0) {
        text += ' ';
        text += as_view(reply_text);
    }
    return text;
}

}  // namespace presenceagg::detail

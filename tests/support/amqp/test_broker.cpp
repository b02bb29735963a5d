// SPDX-License-Identifier: MIT
#include "support/amqp/test_broker.hpp"

#include <atomic>
#include <cstdlib>
#include <random>
#include <set>
#include <stdexcept>
#include <utility>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <unistd.h>

namespace presenceagg::test {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr std::string_view kDefaultUrl = "amqp://guest:guest@127.0.0.1:5672/%2f";

struct ConnectionDeleter {
    void operator()(amqp_connection_state_t connection) const noexcept {
        amqp_destroy_connection(connection);
    }
};
using ConnectionPtr = std::unique_ptr<amqp_connection_state_t_, ConnectionDeleter>;

amqp_bytes_t bytes_of(std::string_view text) noexcept {
    amqp_bytes_t bytes;
    bytes.len = text.size();
    bytes.bytes = const_cast<char*>(text.data());  // sent, never written
    return bytes;
}

std::string_view view_of(amqp_bytes_t bytes) noexcept {
    if (bytes.len == 0) return {};
    return {static_cast<const char*>(bytes.bytes), bytes.len};
}

std::string describe(const amqp_rpc_reply_t& reply) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return "ok";
        case AMQP_RESPONSE_NONE:
            return "no reply";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return amqp_error_string2(reply.library_error);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            break;
    }
    if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD && reply.reply.decoded != nullptr) {
        const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return "channel.close " + std::to_string(close->reply_code) + " " +
               std::string(view_of(close->reply_text));
    }
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD && reply.reply.decoded != nullptr) {
        const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return "connection.close " + std::to_string(close->reply_code) + " " +
               std::string(view_of(close->reply_text));
    }
    return "server exception";
}

amqp_table_entry_t string_entry(const char* key, const std::string& value) {
    amqp_table_entry_t entry{};
    entry.key = amqp_cstring_bytes(key);
    entry.value.kind = AMQP_FIELD_KIND_UTF8;
    entry.value.value.bytes = bytes_of(value);
    return entry;
}

}  // namespace

std::string amqp_test_url() {
    const char* value = std::getenv("PRESENCEAGG_TEST_AMQP_URL");
    return value != nullptr && *value != '\0' ? std::string(value) : std::string(kDefaultUrl);
}

bool amqp_tests_disabled() {
    const char* value = std::getenv("PRESENCEAGG_TEST_AMQP_URL");
    return value != nullptr && std::string_view(value) == "skip";
}

std::string redact_amqp_url(std::string_view url) {
    const auto scheme = url.find("://");
    const auto at = url.rfind('@');
    if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme) {
        return std::string(url);
    }
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string_view::npos || colon > at) return std::string(url);
    return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

std::string unique_queue_name(std::string_view prefix) {
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = std::random_device{}();
    return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(counter.fetch_add(1)) + "-" + std::to_string(salt % 100000U);
}

int rabbitmqctl(const std::string& args) {
    const std::string command = "rabbitmqctl -q " + args + " >/dev/null 2>&1";
    const int status = std::system(command.c_str());  // NOLINT(cert-env33-c): test tool
    if (status == -1) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct TestBroker::State {
    ConnectionPtr connection;
    std::uint64_t next_publish_tag = 1;
    std::set<std::uint64_t> unconfirmed;
    bool returned = false;
    bool persistent = false;  // delivery mode 2 for later publishes

    amqp_connection_state_t raw() const noexcept { return connection.get(); }

    void check(const std::string& what) {
        const amqp_rpc_reply_t reply = amqp_get_rpc_reply(raw());
        if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
        const std::string text = describe(reply);
        if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
            reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_ok_t ok{};
            amqp_send_method(raw(), kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
            open_channel();  // keep the helper usable after an expected failure
        }
        throw std::runtime_error("test broker: " + what + ": " + text);
    }

    void open_channel() {
        amqp_channel_open(raw(), kChannel);
        check("channel.open");
        amqp_confirm_select(raw(), kChannel);
        check("confirm.select");
        next_publish_tag = 1;
        unconfirmed.clear();
    }

    void wait_confirms(const std::string& queue) {
        while (!unconfirmed.empty()) {
            amqp_frame_t frame{};
            timeval timeout{30, 0};
            const int status = amqp_simple_wait_frame_noblock(raw(), &frame, &timeout);
            if (status != AMQP_STATUS_OK) {
                throw std::runtime_error("test broker: waiting for publish confirms on '" + queue +
                                         "': " + amqp_error_string2(status));
            }
            if (frame.frame_type != AMQP_FRAME_METHOD) continue;
            switch (frame.payload.method.id) {
                case AMQP_BASIC_ACK_METHOD: {
                    const auto* ack =
                        static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
                    if (ack->multiple != 0) {
                        unconfirmed.erase(unconfirmed.begin(),
                                          unconfirmed.upper_bound(ack->delivery_tag));
                    } else {
                        unconfirmed.erase(ack->delivery_tag);
                    }
                    break;
                }
                case AMQP_BASIC_NACK_METHOD:
                    throw std::runtime_error("test broker: the broker nacked a publish to '" +
                                             queue + "'");
                case AMQP_BASIC_RETURN_METHOD: {
                    amqp_message_t message{};
                    const amqp_rpc_reply_t reply =
                        amqp_read_message(raw(), frame.channel, &message, 0);
                    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
                        throw std::runtime_error("test broker: reading a returned message: " +
                                                 describe(reply));
                    }
                    amqp_destroy_message(&message);
                    returned = true;
                    break;
                }
                case AMQP_CHANNEL_CLOSE_METHOD:
                case AMQP_CONNECTION_CLOSE_METHOD:
                    throw std::runtime_error(
                        "test broker: the broker closed the channel while publishing to '" + queue +
                        "'");
                default:
                    break;
            }
        }
        amqp_maybe_release_buffers(raw());
        if (returned) {
            returned = false;
            throw std::runtime_error("test broker: a message to '" + queue +
                                     "' was unroutable (does the queue exist?)");
        }
    }

    void publish_one(const std::string& queue,
                     std::string_view body,
                     const std::vector<TestHeader>& headers,
                     std::string_view content_type) {
        std::vector<amqp_table_entry_t> entries(headers.size());
        for (std::size_t i = 0; i < headers.size(); ++i) {
            entries[i].key = bytes_of(headers[i].name);
            amqp_field_value_t& value = entries[i].value;
            std::visit(
                [&value](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::string>) {
                        value.kind = AMQP_FIELD_KIND_UTF8;
                        value.value.bytes = bytes_of(v);
                    } else if constexpr (std::is_same_v<T, std::int64_t>) {
                        value.kind = AMQP_FIELD_KIND_I64;
                        value.value.i64 = v;
                    } else if constexpr (std::is_same_v<T, std::int32_t>) {
                        value.kind = AMQP_FIELD_KIND_I32;
                        value.value.i32 = v;
                    } else if constexpr (std::is_same_v<T, double>) {
                        value.kind = AMQP_FIELD_KIND_F64;
                        value.value.f64 = v;
                    } else {
                        value.kind = AMQP_FIELD_KIND_BOOLEAN;
                        value.value.boolean = v ? 1 : 0;
                    }
                },
                headers[i].value);
        }
        amqp_basic_properties_t properties{};
        properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
        properties.delivery_mode = persistent ? 2 : 1;  // transient by default, like Ably's queues
        if (!content_type.empty()) {
            properties._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
            properties.content_type = bytes_of(content_type);
        }
        if (!entries.empty()) {
            properties._flags |= AMQP_BASIC_HEADERS_FLAG;
            properties.headers.num_entries = static_cast<int>(entries.size());
            properties.headers.entries = entries.data();
        }
        const int status = amqp_basic_publish(raw(), kChannel, amqp_empty_bytes, bytes_of(queue),
                                              1 /*mandatory*/, 0, &properties, bytes_of(body));
        if (status != AMQP_STATUS_OK) {
            throw std::runtime_error("test broker: publishing to '" + queue +
                                     "': " + amqp_error_string2(status));
        }
        unconfirmed.insert(next_publish_tag++);
    }

    amqp_queue_declare_ok_t* passive_declare(const std::string& queue) {
        amqp_queue_declare_ok_t* ok =
            amqp_queue_declare(raw(), kChannel, bytes_of(queue), 1, 0, 0, 0, amqp_empty_table);
        if (ok == nullptr) check("passive declare of '" + queue + "'");
        return ok;
    }
};

TestBroker TestBroker::connect(const std::string& url) {
    const std::string shown = redact_amqp_url(url);
    const std::string hint =
        " (start one with tests/support/rabbitmq.sh, or set "
        "PRESENCEAGG_TEST_AMQP_URL=skip to skip broker tests)";
    std::vector<char> buffer(url.begin(), url.end());
    buffer.push_back('\0');
    amqp_connection_info info{};
    if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
        throw std::runtime_error("test broker: malformed AMQP URL " + shown);
    }
    if (info.ssl != 0) throw std::runtime_error("test broker: amqps:// is not supported: " + shown);
    auto state = std::make_unique<State>();
    state->connection.reset(amqp_new_connection());
    amqp_socket_t* socket = amqp_tcp_socket_new(state->raw());
    if (socket == nullptr) throw std::runtime_error("test broker: cannot create a socket");
    timeval timeout{5, 0};
    const int status = amqp_socket_open_noblock(socket, info.host, info.port, &timeout);
    if (status != AMQP_STATUS_OK) {
        throw std::runtime_error("test broker: cannot reach RabbitMQ at " + shown + ": " +
                                 amqp_error_string2(status) + hint);
    }
    amqp_set_rpc_timeout(state->raw(), &timeout);
    const std::string vhost = *info.vhost != '\0' ? info.vhost : "/";
    const amqp_rpc_reply_t login =
        amqp_login(state->raw(), vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, 30,
                   AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        throw std::runtime_error("test broker: login to " + shown + " failed: " + describe(login) +
                                 hint);
    }
    state->open_channel();
    return TestBroker(std::move(state));
}

TestBroker::TestBroker(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
TestBroker::TestBroker(TestBroker&&) noexcept = default;
TestBroker& TestBroker::operator=(TestBroker&&) noexcept = default;

TestBroker::~TestBroker() {
    if (!state_ || !state_->connection) return;
    timeval timeout{2, 0};
    amqp_set_rpc_timeout(state_->raw(), &timeout);
    amqp_channel_close(state_->raw(), kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_->raw(), AMQP_REPLY_SUCCESS);
}

void TestBroker::declare_queue(const std::string& name, const QueueArgs& args) {
    std::vector<amqp_table_entry_t> entries;
    if (args.dead_letter_exchange) {
        entries.push_back(string_entry("x-dead-letter-exchange", *args.dead_letter_exchange));
    }
    if (args.dead_letter_routing_key) {
        entries.push_back(string_entry("x-dead-letter-routing-key", *args.dead_letter_routing_key));
    }
    if (args.max_length) {
        amqp_table_entry_t entry{};
        entry.key = amqp_cstring_bytes("x-max-length");
        entry.value.kind = AMQP_FIELD_KIND_I64;
        entry.value.value.i64 = *args.max_length;
        entries.push_back(entry);
    }
    amqp_table_t table{static_cast<int>(entries.size()), entries.data()};
    if (amqp_queue_declare(state_->raw(), kChannel, bytes_of(name), 0, args.durable ? 1 : 0, 0, 0,
                           table) == nullptr) {
        state_->check("declaring queue '" + name + "'");
    }
}

bool TestBroker::delete_queue(const std::string& name) noexcept {
    try {
        if (amqp_queue_delete(state_->raw(), kChannel, bytes_of(name), 0, 0) == nullptr) {
            state_->check("deleting queue '" + name + "'");
        }
        return true;
    } catch (...) {
        return false;
    }
}

std::uint32_t TestBroker::purge(const std::string& name) {
    amqp_queue_purge_ok_t* ok = amqp_queue_purge(state_->raw(), kChannel, bytes_of(name));
    if (ok == nullptr) state_->check("purging queue '" + name + "'");
    return ok != nullptr ? ok->message_count : 0;
}

void TestBroker::publish(const std::string& queue,
                         std::string_view body,
                         const std::vector<TestHeader>& headers,
                         std::string_view content_type) {
    state_->publish_one(queue, body, headers, content_type);
    state_->wait_confirms(queue);
}

void TestBroker::set_persistent(bool persistent) noexcept {
    state_->persistent = persistent;
}

void TestBroker::publish_many(const std::string& queue,
                              std::span<const std::string> bodies,
                              std::string_view content_type,
                              std::size_t window) {
    const std::vector<TestHeader> no_headers;
    std::size_t pending = 0;
    for (const std::string& body : bodies) {
        state_->publish_one(queue, body, no_headers, content_type);
        if (++pending >= window) {
            state_->wait_confirms(queue);
            pending = 0;
        }
    }
    state_->wait_confirms(queue);
}

std::uint32_t TestBroker::message_count(const std::string& queue) {
    return state_->passive_declare(queue)->message_count;
}

std::uint32_t TestBroker::consumer_count(const std::string& queue) {
    return state_->passive_declare(queue)->consumer_count;
}

bool TestBroker::queue_exists(const std::string& queue) {
    try {
        (void)state_->passive_declare(queue);
        return true;
    } catch (const std::runtime_error&) {
        return false;
    }
}

std::optional<FetchedMessage> TestBroker::get(const std::string& queue) {
    const amqp_rpc_reply_t reply = amqp_basic_get(state_->raw(), kChannel, bytes_of(queue), 1);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) state_->check("basic.get on '" + queue + "'");
    if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return std::nullopt;
    const auto* get_ok = static_cast<const amqp_basic_get_ok_t*>(reply.reply.decoded);
    FetchedMessage fetched;
    fetched.redelivered = get_ok->redelivered != 0;
    amqp_message_t message{};
    const amqp_rpc_reply_t read = amqp_read_message(state_->raw(), kChannel, &message, 0);
    if (read.reply_type != AMQP_RESPONSE_NORMAL) {
        throw std::runtime_error("test broker: reading a message from '" + queue +
                                 "': " + describe(read));
    }
    fetched.body.assign(view_of(message.body));
    if ((message.properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) != 0) {
        fetched.content_type.assign(view_of(message.properties.content_type));
    }
    amqp_destroy_message(&message);
    amqp_maybe_release_buffers(state_->raw());
    return fetched;
}

ScopedQueue::ScopedQueue(TestBroker& broker, std::string_view prefix, const QueueArgs& args)
    : broker_(broker),
      name_(unique_queue_name(prefix)) {
    broker_.declare_queue(name_, args);
}

ScopedQueue::~ScopedQueue() {
    (void)broker_.delete_queue(name_);
}

ScopedBrokerUser::ScopedBrokerUser(std::string name, std::string password)
    : name_(std::move(name)),
      password_(std::move(password)) {
    if (rabbitmqctl("add_user '" + name_ + "' '" + password_ + "'") != 0) {
        throw std::runtime_error("test broker: rabbitmqctl add_user " + name_ +
                                 " failed (is rabbitmqctl available for this broker?)");
    }
    if (rabbitmqctl("set_permissions -p / '" + name_ + "' '.*' '.*' '.*'") != 0) {
        (void)rabbitmqctl("delete_user '" + name_ + "'");
        throw std::runtime_error("test broker: rabbitmqctl set_permissions for " + name_ +
                                 " failed");
    }
}

ScopedBrokerUser::~ScopedBrokerUser() {
    (void)rabbitmqctl("delete_user '" + name_ + "'");
}

int ScopedBrokerUser::close_connections() const {
    return rabbitmqctl("close_all_user_connections '" + name_ + "' 'presenceagg test'");
}

}  // namespace presenceagg::test

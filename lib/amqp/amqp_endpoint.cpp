// SPDX-License-Identifier: MIT
#include "amqp/amqp_endpoint.hpp"

#include <string.h>
#include <string>
#include <vector>

#include <amqp.h>

#include <presenceagg/error.hpp>

namespace presenceagg::detail {
namespace {

std::string percent_encode_vhost(std::string_view vhost) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : vhost) {
        const auto byte = static_cast<unsigned char>(ch);
        const bool unreserved = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                                (byte >= '0' && byte <= '9') || byte == '-' || byte == '.' ||
                                byte == '_' || byte == '~';
        if (unreserved) {
            out += ch;
        } else {
            out += '%';
            out += kHex[byte >> 4U];
            out += kHex[byte & 0x0FU];
        }
    }
    return out;
}

}  // namespace

std::string AmqpEndpoint::redacted_url() const {
    std::string url = tls ? "amqps://" : "amqp://";
    const bool ipv6 = host.find(':') != std::string::npos;
    url += ipv6 ? "[" + host + "]" : host;
    url += ':';
    url += std::to_string(port);
    url += '/';
    url += percent_encode_vhost(vhost);
    return url;
}

std::string AmqpEndpoint::describe() const {
    return host + ":" + std::to_string(port) + " vhost '" + vhost + "'";
}

AmqpEndpoint parse_amqp_endpoint(std::string_view url,
                                 std::string_view username,
                                 const Secret& password,
                                 std::string_view setting) {
    const std::string name(setting);
    if (url.empty()) throw Error(Errc::InvalidConfig, name + " is empty");
    if (url.find('\0') != std::string_view::npos) {
        throw Error(Errc::InvalidConfig, name + " contains a NUL byte");
    }
    // amqp_parse_url writes into its input and points the result into it: parse a private copy.
    std::vector<char> buffer(url.begin(), url.end());
    buffer.push_back('\0');
    amqp_connection_info info{};
    if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
        throw Error(Errc::InvalidConfig,
                    name + " is malformed (expected amqp[s]://user:pass@host:port/vhost)");
    }
    AmqpEndpoint endpoint;
    endpoint.tls = info.ssl != 0;
    endpoint.host = info.host != nullptr ? info.host : "";
    if (endpoint.host.empty()) throw Error(Errc::InvalidConfig, name + " has no host");
    if (info.port <= 0 || info.port > 65535) {
        throw Error(Errc::InvalidConfig, name + " has an invalid port");
    }
    endpoint.port = static_cast<std::uint16_t>(info.port);
    endpoint.vhost = info.vhost != nullptr && *info.vhost != '\0' ? info.vhost : "/";
    endpoint.username = !username.empty() ? std::string(username)
                                          : std::string(info.user != nullptr ? info.user : "");
    endpoint.password = !password.empty()
                            ? password
                            : Secret(std::string(info.password != nullptr ? info.password : ""));
    // Scrub the private copy: it held the URL's password.
    explicit_bzero(buffer.data(), buffer.size());
    return endpoint;
}

}  // namespace presenceagg::detail

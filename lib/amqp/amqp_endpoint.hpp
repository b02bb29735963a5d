// SPDX-License-Identifier: MIT
#pragma once

/// Where and as whom to connect, parsed from an AMQP URL plus configured overrides.

#include <cstdint>
#include <string>
#include <string_view>

#include <presenceagg/secret.hpp>

namespace presenceagg::detail {

/// A parsed "amqp[s]://user:pass@host:port/vhost". Value type; not thread-safe.
struct AmqpEndpoint {
    bool tls = false;
    std::string host;
    std::uint16_t port = 5672;
    std::string vhost = "/";
    std::string username;
    Secret password;

    /// "amqps://host:5671/vhost" with the vhost percent-encoded and no credentials: safe to log.
    [[nodiscard]] std::string redacted_url() const;
    /// "host:port vhost '/'": for error messages.
    [[nodiscard]] std::string describe() const;
};

/// Parses `url` (on a copy: amqp_parse_url writes into its input) and applies `username` and
/// `password` when non-empty. Credentials left out of both default to guest/guest (the library's
/// default). An empty vhost ("amqp://host/") means "/". Throws Error(InvalidConfig) naming
/// `setting` without echoing the URL, which may hold a password.
[[nodiscard]] AmqpEndpoint parse_amqp_endpoint(std::string_view url,
                                               std::string_view username,
                                               const Secret& password,
                                               std::string_view setting = "amqp url");

}  // namespace presenceagg::detail

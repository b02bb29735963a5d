// SPDX-License-Identifier: MIT
#pragma once

/// Where and how to reach Ably's REST API (or a compatible stand-in).

#include <chrono>
#include <string>

#include <presenceagg/secret.hpp>

namespace presenceagg {

struct AblyEndpoint {
    ApiKey key;
    /// Host or host:port of any Ably-compatible endpoint. Empty: derived from `environment`,
    /// else main.realtime.ably.net.
    std::string endpoint;
    std::string environment;  ///< legacy ABLY_ENVIRONMENT: "{env}-rest.ably.io"
    bool tls = true;
    bool tls_verify = true;  ///< false only with an explicit insecure option
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds request_timeout{15'000};

    /// "https://host[:port]" (or http when !tls), no trailing slash.
    [[nodiscard]] std::string base_url() const;
};

}  // namespace presenceagg

// SPDX-License-Identifier: MIT
#include <ostream>

#include <presenceagg/ably.hpp>
#include <presenceagg/error.hpp>
#include <presenceagg/secret.hpp>

namespace presenceagg {

std::ostream& operator<<(std::ostream& os, const Secret& secret) {
    return os << (secret.empty() ? "[empty]" : "[redacted]");
}

ApiKey ApiKey::parse(std::string_view text, std::string_view setting) {
    const auto colon = text.find(':');
    const auto dot = text.find('.');
    const std::string name(setting);
    if (text.empty()) throw Error(Errc::InvalidConfig, name + " is empty");
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
        throw Error(Errc::InvalidConfig,
                    name + " is malformed: expected APPID.KEYID:SECRET (value not shown)");
    }
    if (dot == std::string_view::npos || dot == 0 || dot > colon || dot + 1 == colon) {
        throw Error(Errc::InvalidConfig,
                    name + " is malformed: the key name must be APPID.KEYID (value not shown)");
    }
    ApiKey key;
    key.app_id = std::string(text.substr(0, dot));
    key.key_name = std::string(text.substr(0, colon));
    key.secret = Secret(std::string(text.substr(colon + 1)));
    return key;
}

std::string AblyEndpoint::base_url() const {
    std::string host = endpoint;
    if (host.empty()) {
        host = environment.empty() ? "main.realtime.ably.net" : environment + "-rest.ably.io";
    }
    return (tls ? "https://" : "http://") + host;
}

}  // namespace presenceagg

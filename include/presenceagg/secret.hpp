// SPDX-License-Identifier: MIT
#pragma once

/// Secrets and Ably credentials. A `Secret` never prints its value: streaming it writes
/// "[redacted]", and errors about it name the setting, not the content.

#include <iosfwd>
#include <string>
#include <string_view>

#include <presenceagg/export.hpp>

namespace presenceagg {

class PRESENCEAGG_API Secret {
public:
    Secret() = default;
    explicit Secret(std::string value)
        : value_(std::move(value)) {}

    /// The raw value, for the one place that must send it (auth header, AMQP login).
    [[nodiscard]] const std::string& reveal() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

    friend bool operator==(const Secret&, const Secret&) = default;

private:
    std::string value_;
};

PRESENCEAGG_API std::ostream& operator<<(std::ostream& os, const Secret& secret);

/// An Ably API key "APPID.KEYID:SECRET".
struct PRESENCEAGG_API ApiKey {
    std::string app_id;    ///< "APPID"
    std::string key_name;  ///< "APPID.KEYID" (not secret)
    Secret secret;         ///< the part after ':'

    /// Throws Error(InvalidConfig) naming `setting` (never echoing the value) when malformed.
    static ApiKey parse(std::string_view text, std::string_view setting = "ABLY_API_KEY");
    /// The whole key; for HTTP Basic auth only.
    [[nodiscard]] std::string reveal() const { return key_name + ":" + secret.reveal(); }
    [[nodiscard]] bool empty() const noexcept { return key_name.empty(); }
};

}  // namespace presenceagg

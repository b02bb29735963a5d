// SPDX-License-Identifier: MIT
#include "settings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

#include <presenceagg/error.hpp>

namespace presenceagg::cli {
namespace {

// The original app's variables (ABLY_API_KEY, QUEUE_NAME, NAMESPACE_REGEX, CONSUME_ON_START) and
// those of Ably's later example (QUEUE_ENDPOINT, ABLY_ENVIRONMENT, OCCUPANCY_QUEUE_NAME) keep
// their names and meanings.
constexpr SettingSpec kSpecs[] = {
    {"ably-api-key", "ABLY_API_KEY", "",
     "Ably API key APPID.KEYID:SECRET (REST and the Ably Queue)", true},
    {"queue-name", "QUEUE_NAME", "presence-queue", "Ably Queue name; consumed as APPID:QUEUE_NAME"},
    {"namespace-regex", "NAMESPACE_REGEX", "^presence:.*",
     "Channels to aggregate (ECMAScript regex), for bootstrap and every event; replay filters only "
     "when it is set",
     false, "run demo replay"},
    {"consume-on-start", "CONSUME_ON_START", "false",
     "Start collecting without waiting for a start command (true/false)"},
    {"queue-endpoint", "QUEUE_ENDPOINT", "us-east-1-a-queue.ably.io:5671/shared",
     "Ably Queue AMQPS endpoint host:port/vhost"},
    {"ably-environment", "ABLY_ENVIRONMENT", "",
     "Legacy Ably environment; REST host becomes ENV-rest.ably.io"},
    {"occupancy-queue-name", "OCCUPANCY_QUEUE_NAME", "",
     "Ably Queue of channel.occupancy events for drift repair (APPID:NAME); empty: none"},
    {"ably-endpoint", "ABLY_ENDPOINT", "",
     "Host or host:port of any Ably-compatible REST endpoint (default main.realtime.ably.net)"},
    {"ably-tls", "ABLY_TLS", "true", "Use HTTPS for Ably REST (true/false)"},
    {"amqp-url", "AMQP_URL", "",
     "Any AMQP 0.9.1 broker, amqp[s]://user:pass@host:port/vhost; overrides QUEUE_ENDPOINT", true},
    {"amqp-queue", "AMQP_QUEUE", "", "Exact queue name on AMQP_URL (default: QUEUE_NAME)"},
    {"amqp-occupancy-queue", "AMQP_OCCUPANCY_QUEUE", "",
     "Exact occupancy queue name on AMQP_URL; empty: none"},
    {"amqp-prefetch", "AMQP_PREFETCH", "200", "Unacknowledged deliveries in flight (1-65535)"},
    {"command-channel", "COMMAND_CHANNEL", "presence-command",
     "Channel of start/stop commands; empty disables it"},
    {"publish-channel", "PUBLISH_CHANNEL", "presence-update",
     "Channel of the by-channel view; other views go to PUBLISH_CHANNEL:VIEW", false, "run demo"},
    {"publish-views", "PUBLISH_VIEWS", "by-channel,by-client,by-connection,counts",
     "Views to publish (comma-separated)", false, "run demo"},
    {"publish-interval", "PUBLISH_INTERVAL", "3s", "A changed view is published at most this often",
     false, "run demo"},
    {"keepalive-interval", "KEEPALIVE_INTERVAL", "60s",
     "An unchanged view is re-published in full this often", false, "run demo"},
    {"publish-mode", "PUBLISH_MODE", "diff",
     "diff (changes since the previous seq) or snapshot (always full)", false, "run demo"},
    {"snapshot-every", "SNAPSHOT_EVERY", "20", "In diff mode, a full snapshot every N publishes",
     false, "run demo"},
    {"max-message-size", "MAX_MESSAGE_SIZE", "65536",
     "Ably max message size in bytes; every message and request stays within it", false,
     "run demo"},
    {"max-publish-rate", "MAX_PUBLISH_RATE", "40",
     "Publish requests per second per channel (Ably allows 50)", false, "run demo"},
    {"rest-rate-limit", "REST_RATE_LIMIT", "20",
     "REST requests per second for bootstrap and drift repair"},
    {"bootstrap", "BOOTSTRAP", "true",
     "Fetch the presence of every matching channel when collection starts"},
    {"occupancy-debounce", "OCCUPANCY_DEBOUNCE", "15s",
     "Wait this long after an occupancy event before comparing counts"},
    {"verify-interval", "VERIFY_INTERVAL", "60s",
     "Re-verify a sample of channels this often (0 disables)"},
    {"data-dir", "DATA_DIR", "", "Directory for checkpoints of the state; empty: no checkpoints"},
    {"checkpoint-interval", "CHECKPOINT_INTERVAL", "60s",
     "Write a checkpoint to DATA_DIR this often while collecting"},
    {"insecure-skip-tls-verify", "INSECURE_SKIP_TLS_VERIFY", "false",
     "Do not verify TLS certificates (test setups only)"},
    {"log-level", "LOG_LEVEL", "info", "trace, debug, info, warn, error or off", false,
     "run demo replay assemble"},
    {"log-format", "LOG_FORMAT", "auto", "text, json, or auto (text on a terminal, JSON otherwise)",
     false, "run demo replay assemble"},
    {"metrics-addr", "METRICS_ADDR", "",
     "Serve /metrics, /healthz, /readyz at host:port (loopback by default); empty: off", false,
     "run demo"},
};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

const SettingSpec* find_spec(std::string_view key) noexcept {
    for (const auto& s : kSpecs) {
        if (s.key == key) return &s;
    }
    return nullptr;
}

[[noreturn]] void invalid(std::string_view key, std::string_view why) {
    throw Error(Errc::InvalidConfig, Settings::label(key) + ": " + std::string(why));
}

}  // namespace

std::string_view to_string(Origin origin) noexcept {
    switch (origin) {
        case Origin::Default:
            return "default";
        case Origin::File:
            return "file";
        case Origin::Environment:
            return "environment";
        case Origin::Flag:
            return "flag";
    }
    return "unknown";
}

std::span<const SettingSpec> setting_specs() noexcept {
    return kSpecs;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept {
    struct Unit {
        std::string_view suffix;
        double ms;
    };
    static constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
    double scale = 1000;  // a bare number means seconds
    for (const auto& u : kUnits) {
        if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
            const char before = text[text.size() - u.suffix.size() - 1];
            if (before >= '0' && before <= '9') {
                scale = u.ms;
                text.remove_suffix(u.suffix.size());
                break;
            }
        }
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0 ||
        !std::isfinite(value) || value * scale > 1e12) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(value * scale)));
}

std::optional<bool> parse_bool(std::string_view text) noexcept {
    const std::string t = lower(text);
    if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "0" || t == "no" || t == "off") return false;
    return std::nullopt;
}

void Settings::set(std::string_view key, std::string value, Origin origin) {
    values_[std::string(key)] = Value{std::move(value), origin};
}

const std::string& Settings::text(std::string_view key) const {
    const auto it = values_.find(key);
    if (it == values_.end()) {
        static const std::string kEmpty;
        return kEmpty;
    }
    return it->second.text;
}

Origin Settings::origin(std::string_view key) const {
    const auto it = values_.find(key);
    return it == values_.end() ? Origin::Default : it->second.origin;
}

bool Settings::boolean(std::string_view key) const {
    const auto v = parse_bool(text(key));
    if (!v) invalid(key, "expected true or false, got \"" + text(key) + "\"");
    return *v;
}

std::chrono::milliseconds Settings::duration(std::string_view key) const {
    const auto v = parse_duration(text(key));
    if (!v) invalid(key, "expected a duration like 3s, 500ms or 2m, got \"" + text(key) + "\"");
    return *v;
}

std::uint64_t Settings::integer(std::string_view key, std::uint64_t min, std::uint64_t max) const {
    const std::string& t = text(key);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size() || t.empty() || v < min || v > max) {
        invalid(key, "expected a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", got \"" + t + "\"");
    }
    return v;
}

double Settings::number(std::string_view key, double min, double max) const {
    const std::string& t = text(key);
    double v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size() || t.empty() || !(v >= min && v <= max)) {
        invalid(key, "expected a number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", got \"" + t + "\"");
    }
    return v;
}

std::string Settings::describe(std::string_view command) const {
    std::string out;
    for (const auto& spec : kSpecs) {
        if (std::string(" ")
                .append(spec.commands)
                .append(" ")
                .find(" " + std::string(command) + " ") == std::string::npos) {
            continue;
        }
        const std::string& value = text(spec.key);
        out += spec.key;
        out += " = ";
        if (spec.secret && !value.empty()) {
            out += "\"[redacted]\"";
        } else {
            out += '"';
            out += value;
            out += '"';
        }
        out += "  # ";
        if (!spec.env.empty()) {
            out += spec.env;
            out += ", ";
        }
        out += to_string(origin(spec.key));
        out += '\n';
    }
    return out;
}

std::string Settings::label(std::string_view key) {
    const SettingSpec* spec = find_spec(key);
    std::string out;
    if (spec != nullptr && !spec->env.empty()) {
        out += spec->env;
        out += " (--";
        out += key;
        out += ')';
    } else {
        out += "--";
        out += key;
    }
    return out;
}

}  // namespace presenceagg::cli

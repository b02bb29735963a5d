// SPDX-License-Identifier: MIT
#include "job_config.hpp"

#include <sstream>

#include <presenceagg/error.hpp>

#include "log_sink.hpp"

namespace presenceagg::cli {

Logger make_logger(const Settings& s) {
    const auto level = parse_log_level(s.text("log-level"));
    if (!level) {
        throw Error(Errc::InvalidConfig, Settings::label("log-level") +
                                             ": expected trace, debug, info, warn, error or off");
    }
    const auto format = parse_log_format(s.text("log-format"));
    if (!format) {
        throw Error(Errc::InvalidConfig,
                    Settings::label("log-format") + ": expected text, json or auto");
    }
    return make_stderr_logger(*level, *format);
}

PublishConfig make_publish_config(const Settings& s) {
    PublishConfig p;
    const std::string& base = s.text("publish-channel");
    if (base.empty())
        throw Error(Errc::InvalidConfig, Settings::label("publish-channel") + " is empty");
    for (View v : kAllViews) {
        auto& vc = p[v];
        vc.enabled = false;
        vc.channel = v == View::ByChannel ? base : base + ":" + std::string(to_string(v));
    }
    std::stringstream views(s.text("publish-views"));
    std::string name;
    while (std::getline(views, name, ',')) {
        if (name.empty()) continue;
        const auto v = parse_view(name);
        if (!v) {
            throw Error(Errc::InvalidConfig,
                        Settings::label("publish-views") + ": unknown view \"" + name +
                            "\" (by-channel, by-client, by-connection, counts)");
        }
        p[*v].enabled = true;
    }
    p.interval = s.duration("publish-interval");
    if (p.interval.count() < 10) {
        throw Error(Errc::InvalidConfig,
                    Settings::label("publish-interval") + " must be at least 10ms");
    }
    p.keepalive = s.duration("keepalive-interval");
    const std::string& mode = s.text("publish-mode");
    if (mode != "diff" && mode != "snapshot") {
        throw Error(Errc::InvalidConfig,
                    Settings::label("publish-mode") + ": expected diff or snapshot");
    }
    p.diff_mode = mode == "diff";
    p.snapshot_every = static_cast<std::uint32_t>(s.integer("snapshot-every", 1, 1'000'000));
    p.max_message_size = s.integer("max-message-size", 1024, 64ull * 1024 * 1024);
    p.max_publishes_per_second = s.number("max-publish-rate", 0.1, 1000);
    return p;
}

PipelineConfig make_pipeline_config(const Settings& s, const Logger& log) {
    PipelineConfig c;
    c.log = log;
    c.namespace_regex = s.text("namespace-regex");
    c.publish = make_publish_config(s);
    c.publish.views[0].channel = s.text("publish-channel");
    if (s.is_set("ably-api-key"))
        c.ably.key = ApiKey::parse(s.text("ably-api-key"), Settings::label("ably-api-key"));
    c.ably.endpoint = s.text("ably-endpoint");
    c.ably.environment = s.text("ably-environment");
    c.ably.tls = s.boolean("ably-tls");
    c.ably.tls_verify = !s.boolean("insecure-skip-tls-verify");
    c.bootstrap.enabled = s.boolean("bootstrap");
    c.bootstrap.requests_per_second = s.number("rest-rate-limit", 0.1, 10'000);
    c.repair.enabled = true;
    c.repair.occupancy_debounce = s.duration("occupancy-debounce");
    c.repair.verify_interval = s.duration("verify-interval");
    c.command.channel = s.text("command-channel");
    c.command.consume_on_start = s.boolean("consume-on-start");
    c.data_dir = s.text("data-dir");
    c.checkpoint_interval = s.duration("checkpoint-interval");
    if (c.checkpoint_interval.count() < 1000) {
        throw Error(Errc::InvalidConfig,
                    Settings::label("checkpoint-interval") + " must be at least 1s");
    }
    return c;
}

}  // namespace presenceagg::cli

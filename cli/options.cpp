// SPDX-License-Identifier: MIT
#include "options.hpp"

#include <cstdlib>
#include <map>
#include <memory>

#include <CLI/CLI.hpp>

#include <presenceagg/version.hpp>

namespace presenceagg::cli {
namespace {

constexpr const char* kFooter =
    "Settings come from (lowest to highest): defaults, the --config file (TOML/INI, keys as the "
    "flag names), environment variables, flags. See the README for every setting.";

// Everything CLI11 parses into, kept alive for the App's lifetime.
struct Bindings {
    std::map<std::string, std::string, std::less<>> setting_values;
    std::map<std::string, CLI::Option*, std::less<>> setting_options;
    CommandLine line;
    std::string config_file;
    std::string demo_duration;
    CLI::App* run = nullptr;
    CLI::App* demo = nullptr;
    CLI::App* replay = nullptr;
    CLI::App* assemble = nullptr;
    CLI::App* version = nullptr;
};

std::unique_ptr<CLI::App> build_app(Bindings& b, bool with_config) {
    auto app = std::make_unique<CLI::App>(
        "presence-agg: an exact, Ably-correct picture of who is present across many channels, "
        "published as a few compact messages.",
        "presence-agg");
    app->footer(kFooter);
    app->require_subcommand(1);
    app->get_formatter()->column_width(34);
    if (with_config) {
        app->set_config("--config", "", "Read settings from this TOML/INI file");
        app->allow_config_extras(CLI::config_extras_mode::error);
    }
    app->add_flag("--print-config", b.line.print_config,
                  "Print the effective settings (secrets redacted) and exit");

    for (const auto& spec : setting_specs()) {
        std::string help(spec.help);
        if (!spec.env.empty()) help += " [env " + std::string(spec.env) + "]";
        if (!spec.default_value.empty() && !spec.secret) {
            help += " [default " + std::string(spec.default_value) + "]";
        }
        auto* opt = app->add_option("--" + std::string(spec.key),
                                    b.setting_values[std::string(spec.key)], help);
        opt->group("Settings");
        b.setting_options[std::string(spec.key)] = opt;
    }

    b.run =
        app->add_subcommand("run", "Run the main job: Ably Queue/AMQP in, views published to Ably");
    b.demo =
        app->add_subcommand("demo", "Run the main job on a simulated population; needs no account");
    b.demo->add_option("--duration", b.demo_duration, "Stop after this long (e.g. 30s, 2m)")
        ->check([](const std::string& text) {
            return parse_duration(text) ? std::string()
                                        : std::string("expected a duration like 30s or 2m");
        });
    b.demo->add_option("--clients", b.line.demo.clients, "Simulated clients")
        ->check(CLI::Range(1u, 1'000'000u));
    b.demo->add_option("--channels", b.line.demo.channels, "Simulated channels in the namespace")
        ->check(CLI::Range(1u, 100'000u));
    b.demo
        ->add_option("--rate", b.line.demo.rate,
                     "Presence events per second (0: as fast as possible)")
        ->check(CLI::Range(0.0, 1e7));
    b.demo->add_option("--seed", b.line.demo.seed, "Random seed");
    b.demo->add_option("--output", b.line.demo.output,
                       "Append what would be published to this NDJSON file");

    b.replay =
        app->add_subcommand("replay", "Apply a captured stream and print the resulting views");
    b.replay
        ->add_option(
            "--format", b.line.replay.format,
            "queue (one enveloped message per line) or webhook (one batched body per line)")
        ->check(CLI::IsMember({"queue", "webhook"}));
    b.replay->add_option("--view", b.line.replay.view, "Print only this view")
        ->check(CLI::IsMember({"by-channel", "by-client", "by-connection", "counts"}));
    b.replay->add_flag("--strict", b.line.replay.strict, "Exit non-zero if any line is bad");
    b.replay
        ->add_option("--explain", b.line.replay.explain,
                     "Explain one member: CHANNEL CLIENT_ID CONNECTION_ID")
        ->expected(3)
        ->allow_extra_args(false);
    b.replay->add_option("file", b.line.replay.file, "Input file, or - for stdin");

    b.assemble = app->add_subcommand("assemble",
                                     "Rebuild a view from the messages published on its channel");
    b.assemble->add_option("--view", b.line.assemble.view, "Accept only this view")
        ->check(CLI::IsMember({"by-channel", "by-client", "by-connection", "counts"}));
    b.assemble->add_option("file", b.line.assemble.file, "NDJSON Ably messages, or - for stdin");

    b.version = app->add_subcommand("version", "Print the version and build options");

    for (auto* sub : {b.run, b.demo, b.replay, b.assemble, b.version}) sub->fallthrough();
    return app;
}

}  // namespace

ParseOutcome parse_command_line(int argc, const char* const* argv) {
    // First pass: which settings were given as flags? CLI11 lets a config file override the
    // environment; we want the environment to win over the file, so we resolve it ourselves.
    std::map<std::string, bool, std::less<>> on_command_line;
    {
        Bindings probe;
        auto app = build_app(probe, false);
        app->allow_extras();
        try {
            app->parse(argc, argv);
        } catch (const CLI::ParseError&) {
            // Reported by the real parse below.
        }
        for (const auto& [key, opt] : probe.setting_options)
            on_command_line[key] = opt->count() > 0;
    }

    Bindings b;
    auto app = build_app(b, true);
    try {
        app->parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return {std::nullopt, app->exit(e) == 0 ? 0 : 2};
    }

    CommandLine line = std::move(b.line);
    if (!b.demo_duration.empty()) line.demo.duration = parse_duration(b.demo_duration);
    for (const auto* sub : {b.run, b.demo, b.replay, b.assemble, b.version}) {
        if (sub->parsed()) line.command = sub->get_name();
    }
    for (const auto& spec : setting_specs()) {
        const std::string key(spec.key);
        const auto* opt = b.setting_options[key];
        const char* env = spec.env.empty() ? nullptr : std::getenv(std::string(spec.env).c_str());
        if (on_command_line[key]) {
            line.settings.set(key, b.setting_values[key], Origin::Flag);
        } else if (env != nullptr) {
            // Set but empty is a value too: `COMMAND_CHANNEL=` disables commands (README).
            line.settings.set(key, env, Origin::Environment);
        } else if (opt->count() > 0) {
            line.settings.set(key, b.setting_values[key], Origin::File);
        } else {
            line.settings.set(key, std::string(spec.default_value), Origin::Default);
        }
    }
    return {std::move(line), 0};
}

}  // namespace presenceagg::cli

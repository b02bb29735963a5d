// SPDX-License-Identifier: MIT
#include "settings.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>

#include "options.hpp"

namespace {

using presenceagg::cli::Origin;
using presenceagg::cli::parse_command_line;

// Sets an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value)
        : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) {
            setenv(name, value, 1);
        } else {
            unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            unsetenv(name_.c_str());
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

presenceagg::cli::CommandLine parse(std::vector<std::string> args) {
    args.insert(args.begin(), "presence-agg");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    auto outcome = parse_command_line(static_cast<int>(argv.size()), argv.data());
    REQUIRE(outcome.command_line.has_value());
    return std::move(*outcome.command_line);
}

std::filesystem::path temp_file(const std::string& name, const std::string& text) {
    // Unique per process: several builds may run this suite at once.
    const auto path =
        std::filesystem::temp_directory_path() / (std::to_string(getpid()) + "-" + name);
    std::ofstream(path) << text;
    return path;
}

std::string source_root() {
    const char* root = std::getenv("PRESENCEAGG_SOURCE_ROOT");
    REQUIRE(root != nullptr);
    return root;
}

}  // namespace

TEST_SUITE("cli settings") {
    TEST_CASE("defaults match the original app") {
        ScopedEnv a("QUEUE_NAME", nullptr), b("NAMESPACE_REGEX", nullptr),
            c("CONSUME_ON_START", nullptr), d("COMMAND_CHANNEL", nullptr),
            e("PUBLISH_CHANNEL", nullptr), f("PUBLISH_INTERVAL", nullptr);
        const auto line = parse({"run"});
        CHECK(line.command == "run");
        CHECK(line.settings.text("queue-name") == "presence-queue");
        CHECK(line.settings.text("namespace-regex") == "^presence:.*");
        CHECK_FALSE(line.settings.boolean("consume-on-start"));
        CHECK(line.settings.text("command-channel") == "presence-command");
        CHECK(line.settings.text("publish-channel") == "presence-update");
        CHECK(line.settings.duration("publish-interval") == std::chrono::seconds(3));
        CHECK(line.settings.origin("queue-name") == Origin::Default);
    }

    TEST_CASE("precedence is default < config file < environment < flag") {
        const auto file = temp_file("presenceagg-precedence.toml",
                                    "queue-name = \"from-file\"\nnamespace-regex = \"^file:.*\"\n"
                                    "publish-interval = \"7s\"\n");
        ScopedEnv env_queue("QUEUE_NAME", "from-env");
        ScopedEnv env_ns("NAMESPACE_REGEX", nullptr);
        ScopedEnv env_interval("PUBLISH_INTERVAL", "5s");
        const auto line = parse({"run", "--config", file.string(), "--publish-interval", "2s"});
        CHECK(line.settings.text("queue-name") == "from-env");
        CHECK(line.settings.origin("queue-name") == Origin::Environment);
        CHECK(line.settings.text("namespace-regex") == "^file:.*");
        CHECK(line.settings.origin("namespace-regex") == Origin::File);
        CHECK(line.settings.duration("publish-interval") == std::chrono::seconds(2));
        CHECK(line.settings.origin("publish-interval") == Origin::Flag);
        CHECK(line.settings.origin("amqp-prefetch") == Origin::Default);
    }

    TEST_CASE("an unknown key in the config file is an error, not silently ignored") {
        const auto file = temp_file("presenceagg-typo.toml", "queue-nmae = \"x\"\n");
        const std::string path = file.string();
        std::vector<const char*> argv{"presence-agg", "run", "--config", path.c_str()};
        const auto outcome = parse_command_line(static_cast<int>(argv.size()), argv.data());
        CHECK_FALSE(outcome.command_line.has_value());
        CHECK(outcome.exit_code == 2);
    }

    TEST_CASE("CONSUME_ON_START is honoured as written") {
        {
            ScopedEnv env("CONSUME_ON_START", "false");
            CHECK_FALSE(parse({"run"}).settings.boolean("consume-on-start"));
        }
        {
            ScopedEnv env("CONSUME_ON_START", "true");
            CHECK(parse({"run"}).settings.boolean("consume-on-start"));
        }
        {
            ScopedEnv env("CONSUME_ON_START", "sometimes");
            const auto line = parse({"run"});
            try {
                (void)line.settings.boolean("consume-on-start");
                FAIL("accepted a value that is neither true nor false");
            } catch (const presenceagg::Error& e) {
                CHECK(std::string(e.what()).find("CONSUME_ON_START") != std::string::npos);
            }
        }
    }

    TEST_CASE("validation errors name the setting") {
        ScopedEnv env("AMQP_PREFETCH", "0");
        const auto line = parse({"run"});
        try {
            (void)line.settings.integer("amqp-prefetch", 1, 65535);
            FAIL("accepted prefetch 0");
        } catch (const presenceagg::Error& e) {
            CHECK(std::string(e.what()).find("AMQP_PREFETCH (--amqp-prefetch)") !=
                  std::string::npos);
        }
    }

    TEST_CASE("print-config redacts secrets and says where each value came from") {
        ScopedEnv key("ABLY_API_KEY", "app.key:topsecret");
        ScopedEnv url("AMQP_URL", "amqp://user:pw-secret@localhost/");
        const auto line = parse({"run", "--queue-name", "q1"});
        const std::string text = line.settings.describe("run");
        CHECK(text.find("topsecret") == std::string::npos);
        CHECK(text.find("pw-secret") == std::string::npos);
        CHECK(text.find("ably-api-key = \"[redacted]\"  # ABLY_API_KEY, environment") !=
              std::string::npos);
        CHECK(text.find("queue-name = \"q1\"  # QUEUE_NAME, flag") != std::string::npos);
    }

    TEST_CASE("durations and booleans parse strictly") {
        using presenceagg::cli::parse_bool;
        using presenceagg::cli::parse_duration;
        CHECK(parse_duration("250ms") == std::chrono::milliseconds(250));
        CHECK(parse_duration("3s") == std::chrono::seconds(3));
        CHECK(parse_duration("2m") == std::chrono::minutes(2));
        CHECK(parse_duration("1h") == std::chrono::hours(1));
        CHECK(parse_duration("1.5") == std::chrono::milliseconds(1500));
        CHECK_FALSE(parse_duration("").has_value());
        CHECK_FALSE(parse_duration("s").has_value());
        CHECK_FALSE(parse_duration("-1s").has_value());
        CHECK_FALSE(parse_duration("3 s").has_value());
        CHECK_FALSE(parse_duration("3days").has_value());
        CHECK(parse_bool("TRUE") == true);
        CHECK(parse_bool("0") == false);
        CHECK_FALSE(parse_bool("maybe").has_value());
    }

    TEST_CASE("the README's configuration table lists exactly the settings in the code") {
        std::ifstream readme(source_root() + "/README.md");
        REQUIRE(readme.good());
        std::string line;
        std::set<std::string> documented;
        while (std::getline(readme, line)) {
            // Rows look like: | `QUEUE_NAME` | `--queue-name` | `presence-queue` | ... |
            if (line.rfind("| `", 0) != 0) continue;
            const auto flag_at = line.find("`--");
            if (flag_at == std::string::npos) continue;
            const auto end = line.find('`', flag_at + 1);
            documented.insert(line.substr(flag_at + 3, end - flag_at - 3));
        }
        std::set<std::string> coded;
        for (const auto& spec : presenceagg::cli::setting_specs()) {
            coded.insert(std::string(spec.key));
            CAPTURE(spec.key);
            CHECK(documented.count(std::string(spec.key)) == 1);
        }
        for (const auto& key : documented) {
            CAPTURE(key);
            CHECK(coded.count(key) == 1);
        }
    }
}

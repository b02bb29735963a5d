// SPDX-License-Identifier: MIT
#pragma once

// The CLI's settings: one table (settings.cpp) gives every setting's flag, environment variable,
// default and help. Precedence: default < config file < environment < flag. The README's
// configuration table is checked against this table by a test.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presenceagg::cli {

/// Where a setting's effective value came from.
enum class Origin { Default, File, Environment, Flag };
std::string_view to_string(Origin origin) noexcept;

struct SettingSpec {
    std::string_view key;            ///< flag without "--", and the config-file key
    std::string_view env;            ///< environment variable; empty for flag-only settings
    std::string_view default_value;  ///< as text; empty = unset
    std::string_view help;
    bool secret = false;                ///< redacted in --print-config and never logged
    std::string_view commands = "run";  ///< space-separated subcommands it applies to
};

/// The whole table, in documentation order.
std::span<const SettingSpec> setting_specs() noexcept;

/// Effective values after resolution; typed getters throw Error(InvalidConfig) naming the
/// setting (its environment variable and flag) when a value does not parse.
class Settings {
public:
    void set(std::string_view key, std::string value, Origin origin);

    [[nodiscard]] const std::string& text(std::string_view key) const;
    [[nodiscard]] Origin origin(std::string_view key) const;
    [[nodiscard]] bool is_set(std::string_view key) const { return !text(key).empty(); }
    [[nodiscard]] bool boolean(std::string_view key) const;
    [[nodiscard]] std::chrono::milliseconds duration(std::string_view key) const;
    [[nodiscard]] std::uint64_t integer(std::string_view key,
                                        std::uint64_t min,
                                        std::uint64_t max) const;
    [[nodiscard]] double number(std::string_view key, double min, double max) const;

    /// "key = value  # ENV, origin" lines for `command`, secrets shown as [redacted].
    [[nodiscard]] std::string describe(std::string_view command) const;

    /// The setting's name for error messages: "QUEUE_NAME (--queue-name)".
    [[nodiscard]] static std::string label(std::string_view key);

private:
    struct Value {
        std::string text;
        Origin origin = Origin::Default;
    };
    std::map<std::string, Value, std::less<>> values_;
};

/// Parses a duration: "250ms", "3s", "2m", "1h", or a bare number of seconds ("3", "0.5").
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;
/// "true"/"false" (also 1/0, yes/no, on/off), case-insensitive.
std::optional<bool> parse_bool(std::string_view text) noexcept;

}  // namespace presenceagg::cli

// SPDX-License-Identifier: MIT
// The umbrella header must compile on its own, against the public dependency alone, and must not
// drag in any C library or RapidJSON header.
#include <sstream>

#include <doctest/doctest.h>

#include <presenceagg/presenceagg.hpp>

#if defined(AMQP_H) || defined(CURLINC_CURL_H) || defined(RAPIDJSON_RAPIDJSON_H_)
#error "a third-party header leaked into the public API"
#endif

TEST_SUITE("public api") {
    TEST_CASE("versions of headers and library agree") {
        CHECK(presenceagg::library_version() == presenceagg::kVersion);
    }

    TEST_CASE("a Secret never prints its value") {
        const presenceagg::Secret secret("hunter2");
        std::ostringstream os;
        os << secret;
        CHECK(os.str() == "[redacted]");
    }

    TEST_CASE("API keys parse, and malformed ones are refused without echoing the value") {
        const auto key = presenceagg::ApiKey::parse("appid.keyid:s3cr3t");
        CHECK(key.app_id == "appid");
        CHECK(key.key_name == "appid.keyid");
        CHECK(key.secret.reveal() == "s3cr3t");
        for (const char* bad : {"", "appid.keyid", "nodot:s3cr3t", "appid.keyid:", ":s3cr3t"}) {
            CAPTURE(bad);
            try {
                (void)presenceagg::ApiKey::parse(bad);
                FAIL("accepted a malformed key");
            } catch (const presenceagg::Error& e) {
                CHECK(e.code() == presenceagg::Errc::InvalidConfig);
                CHECK(std::string(e.what()).find("ABLY_API_KEY") != std::string::npos);
                CHECK(std::string(e.what()).find("s3cr3t") == std::string::npos);
            }
        }
    }

    TEST_CASE("presence actions parse from names and wire integers") {
        using presenceagg::PresenceAction;
        CHECK(presenceagg::parse_presence_action("enter") == PresenceAction::Enter);
        CHECK(presenceagg::parse_presence_action("4") == PresenceAction::Update);
        CHECK_FALSE(presenceagg::parse_presence_action("ENTER").has_value());
        CHECK_FALSE(presenceagg::parse_presence_action("5").has_value());
        CHECK(presenceagg::to_string(PresenceAction::Leave) == "leave");
    }
}

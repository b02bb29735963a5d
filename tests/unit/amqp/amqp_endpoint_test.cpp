// SPDX-License-Identifier: MIT
#include "amqp/amqp_endpoint.hpp"

#include <ostream>  // doctest prints std::error_code
#include <string>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>

using presenceagg::Errc;
using presenceagg::Error;
using presenceagg::Secret;
using presenceagg::detail::parse_amqp_endpoint;

TEST_SUITE("AmqpEndpoint") {
    TEST_CASE("a full amqp URL is split into its parts") {
        const auto e =
            parse_amqp_endpoint("amqp://alice:s3cret@broker.example:5673/prod", "", Secret());
        CHECK_FALSE(e.tls);
        CHECK(e.host == "broker.example");
        CHECK(e.port == 5673);
        CHECK(e.vhost == "prod");
        CHECK(e.username == "alice");
        CHECK(e.password.reveal() == "s3cret");
    }

    TEST_CASE("amqps defaults to port 5671 and TLS") {
        const auto e = parse_amqp_endpoint("amqps://us-east-1-a-queue.ably.io/shared", "APP.KEY",
                                           Secret("secret"));
        CHECK(e.tls);
        CHECK(e.port == 5671);
        CHECK(e.vhost == "shared");
        CHECK(e.username == "APP.KEY");
        CHECK(e.password.reveal() == "secret");
    }

    TEST_CASE("configured credentials override the URL's") {
        const auto e = parse_amqp_endpoint("amqp://u:p@h/", "other", Secret("pw"));
        CHECK(e.username == "other");
        CHECK(e.password.reveal() == "pw");
        SUBCASE("and only the ones given") {
            const auto partial = parse_amqp_endpoint("amqp://u:p@h/", "", Secret("pw"));
            CHECK(partial.username == "u");
            CHECK(partial.password.reveal() == "pw");
        }
    }

    TEST_CASE("percent-encoded parts are decoded") {
        const auto e = parse_amqp_endpoint("amqp://APP.KEY:a%2Fb%40c@h:5672/%2f", "", Secret());
        CHECK(e.password.reveal() == "a/b@c");
        CHECK(e.vhost == "/");
    }

    TEST_CASE("an empty or missing vhost means the default vhost") {
        CHECK(parse_amqp_endpoint("amqp://h:5672/", "", Secret()).vhost == "/");
        CHECK(parse_amqp_endpoint("amqp://h:5672", "", Secret()).vhost == "/");
    }

    TEST_CASE("the redacted URL carries no credentials") {
        const auto e = parse_amqp_endpoint("amqps://user:topsecret@h:5671/shared", "", Secret());
        CHECK(e.redacted_url() == "amqps://h:5671/shared");
        CHECK(parse_amqp_endpoint("amqp://u:p@h/%2f", "", Secret()).redacted_url() ==
              "amqp://h:5672/%2F");
        CHECK(e.describe().find("topsecret") == std::string::npos);
    }

    TEST_CASE("malformed URLs are configuration errors that do not echo the URL") {
        const char* bad[] = {"http://u:topsecret@h/",       "amqp://u:topsecret@h:notaport/",
                             "amqp://u:topsecret@h:99999/", "amqp://u:topsecret@h/a/b",
                             "amqp://u:topsecret@h/%zz",    ""};
        for (const char* url : bad) {
            CAPTURE(url);
            try {
                (void)parse_amqp_endpoint(url, "", Secret(), "--amqp-url");
                FAIL("expected an error");
            } catch (const Error& e) {
                CHECK(e.code() == Errc::InvalidConfig);
                const std::string what = e.what();
                CHECK(what.find("--amqp-url") != std::string::npos);
                CHECK(what.find("topsecret") == std::string::npos);
            }
        }
    }
}

// SPDX-License-Identifier: MIT
#include "rest/http_client.hpp"

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/error.hpp>

#include "rest/ably_error.hpp"
#include "rest/publish_body.hpp"
#include "rest/url.hpp"
#include "rest_test_server.hpp"

using namespace std::chrono_literals;
using presenceagg::Errc;
using presenceagg::detail::AblyError;
using presenceagg::detail::classify_response;
using presenceagg::detail::HttpClient;
using presenceagg::detail::HttpMethod;
using presenceagg::test::TestServer;

namespace {

std::vector<presenceagg::OutboundMessage> two_messages() {
    return {{"base:0", "presence-update", R"({"seq":1,"text":"a \"q\" \\ b"})"},
            {"base:1", "", "[1,2]"}};
}

}  // namespace

TEST_SUITE("url") {
    TEST_CASE("percent_encode keeps only unreserved characters") {
        using presenceagg::detail::percent_encode;
        CHECK(percent_encode("presence:lobby") == "presence%3Alobby");
        CHECK(percent_encode("a/b?c d") == "a%2Fb%3Fc%20d");
        CHECK(percent_encode("x,y&z=1#f%") == "x%2Cy%26z%3D1%23f%25");
        CHECK(percent_encode("caf\xC3\xA9") == "caf%C3%A9");
        CHECK(percent_encode("AZaz09-._~") == "AZaz09-._~");
        CHECK(percent_encode("") == "");
    }

    TEST_CASE("find_next_link picks the next relation among several") {
        using presenceagg::detail::find_next_link;
        CHECK(find_next_link("<./channels?limit=2&cursor=abc>; rel=\"next\"") ==
              "./channels?limit=2&cursor=abc");
        CHECK(find_next_link("<./a?x=1>; rel=\"first\", <./a?x=2>; rel=\"current\", "
                             "<./a?x=3>; rel=\"next\"") == "./a?x=3");
        CHECK(find_next_link("<./a?x=1,2>; rel=next") == "./a?x=1,2");
        CHECK(find_next_link("<./a>; title=\"x\"; rel=\"prev next\"") == "./a");
        CHECK_FALSE(find_next_link("<./a?x=1>; rel=\"first\"").has_value());
        CHECK_FALSE(find_next_link("garbage").has_value());
        CHECK_FALSE(find_next_link("<unterminated; rel=\"next\"").has_value());
    }

    TEST_CASE("resolve_link joins relative links to the request path's directory") {
        using presenceagg::detail::resolve_link;
        const std::string base = "http://127.0.0.1:9";
        CHECK(resolve_link("/channels?limit=2&by=id", "./channels?cursor=c", base) ==
              "/channels?cursor=c");
        CHECK(resolve_link("/channels/a%3Ab/presence?limit=1000", "./presence?cursor=2", base) ==
              "/channels/a%3Ab/presence?cursor=2");
        CHECK(resolve_link("/channels/a/presence", "../b/presence?x", base) ==
              "/channels/b/presence?x");
        CHECK(resolve_link("/channels", "/channels?next=1", base) == "/channels?next=1");
        CHECK(resolve_link("/channels?a", "?b", base) == "/channels?b");
        CHECK(resolve_link("/channels", base + "/channels?c=1", base) == "/channels?c=1");
        SUBCASE("links that would leave the origin or smuggle bytes are refused") {
            CHECK_FALSE(resolve_link("/channels", "https://evil.example/channels", base));
            CHECK_FALSE(resolve_link("/channels", "./channels?a b", base));
            CHECK_FALSE(resolve_link("/channels", "./x\r\nHost: y", base));
            CHECK_FALSE(resolve_link("/channels", "", base));
        }
    }
}

TEST_SUITE("AblyError") {
    TEST_CASE("retry-after is parsed as delta seconds and bounded") {
        using presenceagg::detail::parse_retry_after;
        CHECK(parse_retry_after("120") == 120s);
        CHECK(parse_retry_after(" 3 ") == 3s);
        CHECK(parse_retry_after("") == 0ms);
        CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0ms);
        CHECK(parse_retry_after("-5") == 0ms);
        CHECK(parse_retry_after("99999999999999999999999") == 3600s);
        CHECK(parse_retry_after("86400") == 3600s);
    }

    TEST_CASE("responses map onto presenceagg error codes") {
        presenceagg::detail::HttpResponse r;
        SUBCASE("2xx is success") {
            r.status = 201;
            CHECK(classify_response(r).ok());
        }
        SUBCASE("an error body wins over the headers") {
            r.status = 400;
            r.body = R"({"error":{"code":40009,"statusCode":400,"message":"too big"}})";
            r.ably_error_code = "40000";
            const auto e = classify_response(r);
            CHECK(e.error == Errc::MessageTooLarge);
            CHECK(e.code == 40009);
            CHECK(e.message == "too big");
            CHECK_FALSE(e.retryable());
        }
        SUBCASE("header-only errors (edge flood protection) are read") {
            r.status = 429;
            r.body = "<html>busy</html>";
            r.ably_error_code = "42922";
            r.ably_error_message = "flood";
            r.retry_after = "7";
            const auto e = classify_response(r);
            CHECK(e.error == Errc::AblyRateLimited);
            CHECK(e.code == 42922);
            CHECK(e.message == "flood");
            CHECK(e.retry_after == 7s);
            CHECK(e.retryable());
        }
        SUBCASE("a malformed error body falls back to the status") {
            r.status = 503;
            r.body = R"({"error":{"code":"x","message":5}})";
            const auto e = classify_response(r);
            CHECK(e.error == Errc::AblyServerError);
            CHECK(e.code == 0);
            CHECK_FALSE(e.message.empty());
            CHECK(e.retryable());
        }
        SUBCASE("408 is retryable, other 4xx are not") {
            r.status = 408;
            CHECK(classify_response(r).retryable());
            r.status = 404;
            CHECK(classify_response(r).error == Errc::AblyRejected);
            CHECK_FALSE(classify_response(r).retryable());
        }
        SUBCASE("transport errors keep their code and are retryable") {
            r.error = presenceagg::make_error_code(Errc::HttpTransport);
            r.message = "connect failed";
            const auto e = classify_response(r);
            CHECK(e.error == Errc::HttpTransport);
            CHECK(e.retryable());
        }
    }
}

TEST_SUITE("HttpClient") {
    TEST_CASE("a GET carries Basic auth, the Ably version and agent headers") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_header("Link", "<./channels?cursor=1>; rel=\"next\"");
            res.set_header("Retry-After", "2");
            res.set_content("[\"a\"]", "application/json");
        });
        HttpClient http(server.endpoint());
        const auto r = http.request(HttpMethod::Get, "/channels?limit=5&by=id");
        REQUIRE(r.transport_ok());
        CHECK(r.status == 200);
        CHECK(r.body == "[\"a\"]");
        REQUIRE(r.links.size() == 1);
        CHECK(r.links[0] == "<./channels?cursor=1>; rel=\"next\"");
        CHECK(r.content_type.starts_with("application/json"));
        CHECK(r.retry_after == "2");
        const auto reqs = server.requests();
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].method == "GET");
        CHECK(reqs[0].target == "/channels?limit=5&by=id");
        CHECK(reqs[0].authorization == presenceagg::test::kExpectedBasicAuth);
        CHECK(reqs[0].version == presenceagg::detail::kAblyProtocolVersion);
        CHECK(std::stoi(reqs[0].version) >= 2);
        CHECK(reqs[0].agent.starts_with("presenceagg/"));
    }

    TEST_CASE("every Link header value is kept") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_header("Link", "<./p?a>; rel=\"first\"");
            res.set_header("Link", "<./p?b>; rel=\"current\"");
            res.set_header("Link", "<./p?c>; rel=\"next\"");
            res.set_content("[]", "application/json");
        });
        HttpClient http(server.endpoint());
        const auto r = http.request(HttpMethod::Get, "/p");
        REQUIRE(r.links.size() == 3);
        CHECK(r.links[2] == "<./p?c>; rel=\"next\"");
    }

    TEST_CASE("consecutive requests reuse one connection") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_content("[]", "application/json");
        });
        HttpClient http(server.endpoint());
        for (int i = 0; i < 3; ++i) {
            REQUIRE(http.request(HttpMethod::Get, "/time").status == 200);
        }
        const auto reqs = server.requests();
        REQUIRE(reqs.size() == 3);
        CHECK(reqs[1].remote_port == reqs[0].remote_port);
        CHECK(reqs[2].remote_port == reqs[0].remote_port);
    }

    TEST_CASE("a response larger than the bound is refused") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_content(std::string(100'000, 'x'), "application/json");
        });
        HttpClient http(server.endpoint(), 10'000);
        const auto r = http.request(HttpMethod::Get, "/big");
        CHECK(r.error == Errc::TooLarge);
        CHECK(r.body.empty());
        // The client stays usable afterwards.
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_content("[]", "application/json");
        });
        CHECK(http.request(HttpMethod::Get, "/small").status == 200);
    }

    TEST_CASE("an unreachable endpoint is a transport error") {
        int port = 0;
        {
            TestServer closed;
            port = closed.port();
        }
        presenceagg::AblyEndpoint e;
        e.endpoint = "127.0.0.1:" + std::to_string(port);
        e.tls = false;
        HttpClient http(e);
        const auto r = http.request(HttpMethod::Get, "/time");
        CHECK(r.error == Errc::HttpTransport);
        CHECK_FALSE(r.message.empty());
        CHECK(classify_response(r).retryable());
    }

    TEST_CASE("cancel aborts a slow request promptly and sticks until reset") {
        TestServer server;
        server.handle([&server](const httplib::Request&, httplib::Response& res) {
            server.hold();
            res.set_content("[]", "application/json");
        });
        HttpClient http(server.endpoint());  // request timeout 30 s
        auto pending = std::async(std::launch::async, [&http] {
            const auto started = std::chrono::steady_clock::now();
            auto r = http.request(HttpMethod::Get, "/slow");
            return std::make_pair(r.error, std::chrono::steady_clock::now() - started);
        });
        REQUIRE(server.wait_for_requests(1));
        http.cancel();
        REQUIRE(pending.wait_for(10s) == std::future_status::ready);
        const auto [error, took] = pending.get();
        CHECK(error == Errc::Cancelled);
        CHECK(took < 10s);  // far below the 30 s request timeout
        CHECK(http.request(HttpMethod::Get, "/again").error == Errc::Cancelled);
        server.release();
        http.reset_cancel();
        CHECK(http.request(HttpMethod::Get, "/again").status == 200);
    }

    TEST_CASE("a stop request aborts an in-flight request") {
        TestServer server;
        server.handle([&server](const httplib::Request&, httplib::Response&) { server.hold(); });
        HttpClient http(server.endpoint());
        std::stop_source stop;
        http.set_stop_token(stop.get_token());
        auto pending = std::async(std::launch::async,
                                  [&http] { return http.request(HttpMethod::Get, "/slow").error; });
        REQUIRE(server.wait_for_requests(1));
        stop.request_stop();
        REQUIRE(pending.wait_for(10s) == std::future_status::ready);
        CHECK(pending.get() == Errc::Cancelled);
        server.release();
    }
}

TEST_SUITE("CurlAblyRestSink") {
    TEST_CASE("publish_body is the documented array and its size is exact") {
        const auto messages = two_messages();
        const auto body = presenceagg::detail::publish_body(messages);
        CHECK(
            body ==
            R"([{"id":"base:0","name":"presence-update","data":"{\"seq\":1,\"text\":\"a \\\"q\\\" \\\\ b\"}","encoding":"json"},)"
            R"({"id":"base:1","data":"[1,2]","encoding":"json"}])");
        std::size_t size = 2;
        for (std::size_t i = 0; i < messages.size(); ++i) {
            size += presenceagg::detail::publish_body_element_size(messages[i], i > 0);
        }
        CHECK(size == body.size());
        const presenceagg::OutboundMessage ctl{"", "n", std::string("\x01\n\t", 3)};
        CHECK(presenceagg::detail::publish_body_element_size(ctl, false) + 2 ==
              presenceagg::detail::publish_body({&ctl, 1}).size());
        CHECK(presenceagg::detail::publish_body({}) == "[]");
    }

    TEST_CASE("publish POSTs the body to the percent-encoded channel") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.status = 201;
            res.set_content(R"({"channel":"x","messageId":"m"})", "application/json");
        });
        auto sink = presenceagg::make_curl_ably_rest_sink({server.endpoint(), {}});
        const auto messages = two_messages();
        const std::string channel = "presence-update:a/b?c d \xC3\xA9";
        const auto r = sink->publish(channel, messages);
        CHECK(r.ok());
        CHECK(r.http_status == 201);
        const auto reqs = server.requests();
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].method == "POST");
        CHECK(reqs[0].target == "/channels/presence-update%3Aa%2Fb%3Fc%20d%20%C3%A9/messages");
        CHECK(reqs[0].path == "/channels/" + channel + "/messages");
        CHECK(reqs[0].content_type == "application/json");
        CHECK(reqs[0].body == presenceagg::detail::publish_body(messages));
        CHECK(reqs[0].authorization == presenceagg::test::kExpectedBasicAuth);
    }

    TEST_CASE("publish failures are classified") {
        TestServer server;
        auto sink = presenceagg::make_curl_ably_rest_sink({server.endpoint(), {}});
        const auto messages = two_messages();
        struct Case {
            const char* name;
            int status;
            int code;
            Errc expected;
            bool retryable;
        };
        const Case cases[] = {
            {"unauthorized", 401, 40140, Errc::AblyUnauthorized, false},
            {"not found", 404, 40400, Errc::AblyRejected, false},
            {"rate limited", 429, 42911, Errc::AblyRateLimited, true},
            {"server error", 500, 50000, Errc::AblyServerError, true},
            {"message too large", 400, 40009, Errc::MessageTooLarge, false},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            server.handle([&c](const httplib::Request&, httplib::Response& res) {
                presenceagg::test::ably_error(res, c.status, c.code, "nope");
                if (c.status == 429) res.set_header("Retry-After", "3");
            });
            const auto r = sink->publish("ch", messages);
            CHECK(r.error == c.expected);
            CHECK(r.http_status == c.status);
            CHECK(r.ably_error_code == c.code);
            CHECK(r.retryable() == c.retryable);
            CHECK(r.message.find("nope") != std::string::npos);
            CHECK(r.message.find("s3cr3t") == std::string::npos);
            if (c.status == 429) CHECK(r.retry_after == 3s);
        }
    }

    TEST_CASE("cancel aborts an in-flight publish") {
        TestServer server;
        server.handle([&server](const httplib::Request&, httplib::Response& res) {
            server.hold();
            res.status = 201;
        });
        auto sink = presenceagg::make_curl_ably_rest_sink({server.endpoint(), {}});
        const auto messages = two_messages();
        auto pending =
            std::async(std::launch::async, [&] { return sink->publish("ch", messages); });
        REQUIRE(server.wait_for_requests(1));
        sink->cancel();
        REQUIRE(pending.wait_for(10s) == std::future_status::ready);
        const auto r = pending.get();
        CHECK(r.error == Errc::Cancelled);
        CHECK_FALSE(r.retryable());
        server.release();
    }

    TEST_CASE("a bad config is refused at construction") {
        presenceagg::CurlAblyRestSinkConfig config;
        config.ably.request_timeout = 0ms;
        CHECK_THROWS_AS((void)presenceagg::make_curl_ably_rest_sink(config), presenceagg::Error);
    }
}

// SPDX-License-Identifier: MIT
#include "rest/ably_rest_client.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/error.hpp>

#include "rest_test_server.hpp"

using presenceagg::Errc;
using presenceagg::detail::AblyRestClient;
using presenceagg::test::TestServer;

namespace {

std::string member_json(const std::string& client, const std::string& conn, int serial = 0) {
    return R"({"id":")" + conn + ":" + std::to_string(serial) + R"(:0","clientId":")" + client +
           R"(","connectionId":")" + conn +
           R"(","timestamp":1700000000000,"action":1,"data":"hello"})";
}

// A name that needs encoding in every way a path can go wrong.
const std::string kAwkward = "presence:a/b?c d \xC3\xA9";
const std::string kAwkwardEncoded = "presence%3Aa%2Fb%3Fc%20d%20%C3%A9";

}  // namespace

TEST_SUITE("AblyRestClient") {
    TEST_CASE("channel enumeration follows relative next links over both list shapes") {
        TestServer server;
        server.handle([](const httplib::Request& req, httplib::Response& res) {
            const auto cursor = req.get_param_value("cursor");
            if (cursor.empty()) {
                res.set_header("Link",
                               "<./channels?limit=2&by=id>; rel=\"first\", "
                               "<./channels?limit=2&by=id&cursor=p2>; rel=\"next\"");
                res.set_content(R"(["presence:a","presence:b"])", "application/json");
            } else if (cursor == "p2") {
                res.set_header("Link", "<./channels?limit=2&by=id&cursor=p3>; rel=\"next\"");
                res.set_content(
                    R"([{"channelId":"presence:c","status":{"isActive":true}},5,{"x":1},""])",
                    "application/json");
            } else {
                res.set_content("[]", "application/json");  // empty last page, no next
            }
        });
        AblyRestClient client(server.endpoint());
        auto page = client.list_channels(2);
        REQUIRE(page.error.ok());
        CHECK(page.channels == std::vector<std::string>{"presence:a", "presence:b"});
        REQUIRE(page.next == "/channels?limit=2&by=id&cursor=p2");
        page = client.list_channels_page(page.next);
        REQUIRE(page.error.ok());
        CHECK(page.channels == std::vector<std::string>{"presence:c"});
        CHECK(page.skipped == 3);
        REQUIRE(page.next == "/channels?limit=2&by=id&cursor=p3");
        page = client.list_channels_page(page.next);
        REQUIRE(page.error.ok());
        CHECK(page.channels.empty());
        CHECK(page.next.empty());
        const auto reqs = server.requests();
        REQUIRE(reqs.size() == 3);
        CHECK(reqs[0].target == "/channels?limit=2&by=id");
        CHECK(reqs[1].target == "/channels?limit=2&by=id&cursor=p2");
        CHECK(client.requests() == 3);
    }

    TEST_CASE("a channel list that is not an array is an error value") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"channels":[]})", "application/json");
        });
        AblyRestClient client(server.endpoint());
        CHECK(client.list_channels(10).error.error == Errc::WrongType);
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_content("[\"a\",", "application/json");
        });
        CHECK(client.list_channels(10).error.error == Errc::InvalidJson);
    }

    TEST_CASE("enumeration errors carry Ably's code") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            presenceagg::test::ably_error(res, 429, 42912, "enumeration already running");
            res.set_header("Retry-After", "1");
        });
        AblyRestClient client(server.endpoint());
        const auto page = client.list_channels(100);
        CHECK(page.error.error == Errc::AblyRateLimited);
        CHECK(page.error.code == 42912);
        CHECK(page.error.retry_after == std::chrono::seconds(1));
    }

    TEST_CASE("batch presence percent-encodes each name and decodes the BatchResult") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"successCount":1,"failureCount":1,"results":[)"
                            R"({"channel":"presence:a","presence":[)" +
                                member_json("alice", "c1") + "," + member_json("bob", "c2") +
                                R"(]},{"channel":")" + kAwkward +
                                R"(","error":{"code":50000,"statusCode":500,"message":"x"}}]})",
                            "application/json");
        });
        AblyRestClient client(server.endpoint());
        const std::vector<std::string> names{"presence:a", kAwkward};
        const auto result = client.batch_presence(names);
        REQUIRE(result.error.ok());
        REQUIRE(result.channels.size() == 2);
        CHECK(result.channels[0].channel == "presence:a");
        CHECK(result.channels[0].members.size() == 2);
        CHECK_FALSE(result.channels[0].error);
        CHECK(result.channels[1].channel == kAwkward);
        CHECK(result.channels[1].error);
        const auto reqs = server.requests();
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].target == "/presence?channels=presence%3Aa," + kAwkwardEncoded);
        CHECK(reqs[0].version == presenceagg::detail::kAblyProtocolVersion);
    }

    TEST_CASE("batch presence reports 90010 as an error with its code") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            presenceagg::test::ably_error(res, 400, 90010, "Max number of channels exceeded");
        });
        AblyRestClient client(server.endpoint());
        const std::vector<std::string> names{"a", "b", "c"};
        const auto result = client.batch_presence(names);
        CHECK(result.error.error == Errc::AblyRejected);
        CHECK(result.error.code == 90010);
        CHECK(result.channels.empty());
    }

    TEST_CASE("channel presence follows pagination under an encoded channel path") {
        TestServer server;
        server.handle([](const httplib::Request& req, httplib::Response& res) {
            if (req.get_param_value("cursor").empty()) {
                res.set_header("Link", "<./presence?limit=1000&cursor=2>; rel=\"next\"");
                res.set_content("[" + member_json("alice", "c1") + "]", "application/json");
            } else {
                res.set_content(
                    "[" + member_json("bob", "c2") + "," + member_json("carol", "c3") + "]",
                    "application/json");
            }
        });
        AblyRestClient client(server.endpoint());
        const auto result = client.channel_presence(kAwkward);
        REQUIRE(result.error.ok());
        CHECK(result.pages == 2);
        REQUIRE(result.members.size() == 3);
        CHECK(result.members[0].client_id == "alice");
        CHECK(result.members[2].client_id == "carol");
        for (const auto& m : result.members) CHECK(m.channel == kAwkward);
        const auto reqs = server.requests();
        REQUIRE(reqs.size() == 2);
        CHECK(reqs[0].target == "/channels/" + kAwkwardEncoded + "/presence?limit=1000");
        CHECK(reqs[1].target == "/channels/" + kAwkwardEncoded + "/presence?limit=1000&cursor=2");
        CHECK(reqs[1].path == "/channels/" + kAwkward + "/presence");
    }

    TEST_CASE("a next link that loops is an error, not a hang") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_header("Link", "<./presence?limit=1000&cursor=same>; rel=\"next\"");
            res.set_content("[]", "application/json");
        });
        AblyRestClient client(server.endpoint());
        const auto result = client.channel_presence("presence:loop");
        CHECK_FALSE(result.error.ok());
        CHECK(result.members.empty());
        CHECK(server.requests().size() == 2);
    }

    TEST_CASE("undecodable presence is an error value and nothing is returned") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"([{"clientId":5}])", "application/json");
        });
        AblyRestClient client(server.endpoint());
        const auto result = client.channel_presence("presence:bad");
        CHECK_FALSE(result.error.ok());
        CHECK(result.members.empty());
    }

    TEST_CASE("last message asks for one message backwards and returns the raw array") {
        TestServer server;
        server.handle([](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"([{"id":"m1","name":"update","data":"start"}])", "application/json");
        });
        AblyRestClient client(server.endpoint());
        const auto result = client.last_message("presence-command");
        REQUIRE(result.error.ok());
        CHECK(result.body == R"([{"id":"m1","name":"update","data":"start"}])");
        const auto reqs = server.requests();
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].target == "/channels/presence-command/messages?limit=1&direction=backwards");
    }

    TEST_CASE("a closed gate stops the request before it is sent") {
        TestServer server;
        AblyRestClient client(server.endpoint());
        client.set_gate([] { return false; });
        CHECK(client.list_channels(10).error.error == Errc::Cancelled);
        CHECK(server.requests().empty());
        CHECK(client.requests() == 0);
    }
}

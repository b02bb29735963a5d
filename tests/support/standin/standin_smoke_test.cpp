// SPDX-License-Identifier: MIT
// Smoke tests of the ably-standin program through its HTTP interface.

#include <chrono>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include "support/standin/standin_process.hpp"

namespace {

using presenceagg::standin::StandinProcess;

rapidjson::Document parse(const std::string& text) {
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    REQUIRE_FALSE(doc.HasParseError());
    return doc;
}

int error_code(const StandinProcess::Reply& r) {
    const auto doc = parse(r.body);
    REQUIRE(doc.IsObject());
    REQUIRE(doc.HasMember("error"));
    return doc["error"]["code"].GetInt();
}

// The value of `name` in a Link header's rel="next" URL, or "" when there is no next.
std::string next_link(const StandinProcess::Reply& r) {
    const std::string link = r.header("Link");
    const auto rel = link.find("rel=\"next\"");
    if (rel == std::string::npos) return {};
    const auto open = link.rfind('<', rel);
    const auto close = link.find('>', open);
    return link.substr(open + 1, close - open - 1);
}

}  // namespace

TEST_SUITE("standin") {
    TEST_CASE("the stand-in reports its port, answers /time and exits cleanly on SIGTERM") {
        StandinProcess standin;
        CHECK(standin.port() > 0);
        const auto r = standin.get("/time");
        REQUIRE(r.status == 200);
        const auto doc = parse(r.body);
        REQUIRE(doc.IsArray());
        CHECK(doc[0].GetInt64() > 1'600'000'000'000);
        CHECK(standin.stop());
        CHECK_FALSE(standin.running());
    }

    TEST_CASE("requests without a configured key are rejected with 40101") {
        StandinProcess standin;
        SUBCASE("no credentials") {
            const auto r = standin.ably_get("/channels", 6, "");
            CHECK(r.status == 401);
            CHECK(error_code(r) == 40101);
            CHECK(r.header("X-Ably-ErrorCode") == "40101");
            CHECK(r.content_type.find("application/json") == 0);
        }
        SUBCASE("wrong secret") {
            const auto r = standin.ably_get("/channels", 6, "appid.keyid:wrong");
            CHECK(r.status == 401);
        }
        SUBCASE("a key given on the command line") {
            StandinProcess other(std::vector<std::string>{"--key", "a.b:c"});
            CHECK(other.ably_get("/channels", 6, "a.b:c").status == 200);
            CHECK(other.ably_get("/channels", 6, StandinProcess::kDefaultKey).status == 401);
        }
    }

    TEST_CASE("published messages come back from history, the control API and in order") {
        StandinProcess standin;
        auto r =
            standin.ably_post("/channels/views%3Aa/messages",
                              R"([{"id":"b:0","name":"v","data":"{\"x\":1}","encoding":"json"},)"
                              R"({"id":"b:1","name":"v","data":"plain"}])");
        REQUIRE(r.status == 201);
        auto doc = parse(r.body);
        CHECK(std::string(doc["channel"].GetString()) == "views:a");
        CHECK(doc["messageIds"].Size() == 2);

        SUBCASE("history is newest first and paginates with a relative Link") {
            r = standin.ably_get("/channels/views%3Aa/messages?limit=1");
            REQUIRE(r.status == 200);
            doc = parse(r.body);
            REQUIRE(doc.Size() == 1);
            CHECK(std::string(doc[0]["data"].GetString()) == "plain");
            const std::string next = next_link(r);
            REQUIRE(next.rfind("./messages?", 0) == 0);
            r = standin.ably_get("/channels/views%3Aa/" + next.substr(2));
            doc = parse(r.body);
            REQUIRE(doc.Size() == 1);
            CHECK(std::string(doc[0]["encoding"].GetString()) == "json");
            CHECK(next_link(r).empty());
        }
        SUBCASE("the /history path and forwards direction") {
            r = standin.ably_get("/channels/views%3Aa/history?direction=forwards");
            doc = parse(r.body);
            REQUIRE(doc.Size() == 2);
            CHECK(std::string(doc[0]["id"].GetString()) == "b:0");
        }
        SUBCASE("a repeated message id is not recorded twice") {
            r = standin.ably_post("/channels/views%3Aa/messages", R"({"id":"b:1","data":"again"})");
            CHECK(r.status == 201);
            const auto lines = standin.published("views:a");
            REQUIRE(lines.size() == 2);
            CHECK(lines[0].find(R"("data":"{\"x\":1}")") != std::string::npos);
            CHECK(lines[1].find(R"("data":"plain")") != std::string::npos);
        }
    }

    TEST_CASE("publishing over the size limit fails with 413 and 40009") {
        StandinProcess standin(std::vector<std::string>{"--max-message-size", "100"});
        const std::string big(150, 'x');
        const auto r = standin.ably_post("/channels/c/messages", R"({"data":")" + big + R"("})");
        CHECK(r.status == 413);
        CHECK(error_code(r) == 40009);
        CHECK(standin.published("c").empty());
        CHECK(standin.ably_post("/channels/c/messages", R"({"data":"small"})").status == 201);
    }

    TEST_CASE("junk bodies are rejected without harming the server") {
        StandinProcess standin;
        SUBCASE("not JSON") {
            CHECK(standin.ably_post("/channels/c/messages", "{nope").status == 400);
        }
        SUBCASE("deep nesting") {
            CHECK(standin.ably_post("/channels/c/messages", std::string(5000, '[')).status == 400);
        }
        SUBCASE("bad data type") {
            CHECK(standin.ably_post("/channels/c/messages", R"({"data":5})").status == 400);
        }
        SUBCASE("bad control JSON") {
            CHECK(standin.post("/_control/faults", R"({"path":"(["})").status == 400);
        }
        CHECK(standin.get("/time").status == 200);
    }

    TEST_CASE("presence set through the control API is served per channel and in batches") {
        StandinProcess standin(std::vector<std::string>{"--batch-presence-cap", "3"});
        standin.set_presence("room",
                             R"([{"clientId":"ann","connectionId":"c1","id":"c1:0:0","data":"hi"},)"
                             R"({"clientId":"bob","connectionId":"c2","data":{"a":1}}])");
        SUBCASE("GET /channels/{id}/presence paginates") {
            auto r = standin.ably_get("/channels/room/presence?limit=1");
            REQUIRE(r.status == 200);
            auto doc = parse(r.body);
            REQUIRE(doc.Size() == 1);
            CHECK(doc[0]["action"].GetInt() == 1);
            CHECK(std::string(doc[0]["clientId"].GetString()) == "ann");
            const std::string next = next_link(r);
            REQUIRE(next.rfind("./presence?", 0) == 0);
            r = standin.ably_get("/channels/room/" + next.substr(2));
            doc = parse(r.body);
            REQUIRE(doc.Size() == 1);
            CHECK(std::string(doc[0]["clientId"].GetString()) == "bob");
            CHECK(next_link(r).empty());
        }
        SUBCASE("a merge with action leave removes a member") {
            standin.set_presence("room", R"([{"clientId":"ann","connectionId":"c1","action":3}])",
                                 false);
            const auto doc = parse(standin.ably_get("/channels/room/presence").body);
            REQUIRE(doc.Size() == 1);
            CHECK(std::string(doc[0]["clientId"].GetString()) == "bob");
        }
        SUBCASE("protocol 6 batch presence is a BatchResult") {
            standin.set_channel_error("secret", 401, 40160);
            const auto r = standin.ably_get("/presence?channels=room,secret,empty");
            REQUIRE(r.status == 200);
            const auto doc = parse(r.body);
            CHECK(doc["successCount"].GetInt() == 2);
            CHECK(doc["failureCount"].GetInt() == 1);
            CHECK(doc["results"][0]["presence"].Size() == 2);
            CHECK(doc["results"][1]["error"]["statusCode"].GetInt() == 401);
            CHECK(doc["results"][2]["presence"].Size() == 0);
        }
        SUBCASE("protocol 1 batch presence is a bare array, or 40020 on partial failure") {
            auto r = standin.ably_get("/presence?channels=room", 1);
            REQUIRE(r.status == 200);
            CHECK(parse(r.body).IsArray());
            standin.set_channel_error("secret", 401, 40160);
            r = standin.ably_get("/presence?channels=room,secret", 1);
            CHECK(r.status == 400);
            CHECK(error_code(r) == 40020);
            CHECK(parse(r.body)["batchResponse"].Size() == 2);
        }
        SUBCASE("too many channels is 90010") {
            const auto r = standin.ably_get("/presence?channels=a,b,c,d");
            CHECK(r.status == 400);
            CHECK(error_code(r) == 90010);
        }
    }

    TEST_CASE("channel enumeration pages, and misbehaves when told to") {
        StandinProcess standin;
        standin.mark_channels({"a", "b", "c", "d", "e"});
        standin.set_presence("f", R"([{"clientId":"x"}])");
        SUBCASE("by=id walks every active channel once") {
            std::string path = "/channels?limit=2";
            std::vector<std::string> names;
            for (int pages = 0; pages < 10 && !path.empty(); ++pages) {
                const auto r = standin.ably_get(path);
                REQUIRE(r.status == 200);
                const auto doc = parse(r.body);
                for (const auto& v : doc.GetArray()) names.emplace_back(v.GetString());
                const std::string next = next_link(r);
                path = next.empty() ? "" : "/" + next.substr(2);
            }
            CHECK(names == std::vector<std::string>{"a", "b", "c", "d", "e", "f"});
        }
        SUBCASE("protocol 2 defaults to ChannelDetails") {
            const auto doc = parse(standin.ably_get("/channels?prefix=f", 2).body);
            REQUIRE(doc.Size() == 1);
            CHECK(doc[0]["status"]["occupancy"]["metrics"]["presenceMembers"].GetInt() == 1);
        }
        SUBCASE("single flight rejects a second walk with 42912") {
            standin.set_enumeration(R"({"single_flight":true})");
            const auto first = standin.ably_get("/channels?limit=2");
            REQUIRE(first.status == 200);
            const auto second = standin.ably_get("/channels?limit=2");
            CHECK(second.status == 429);
            CHECK(error_code(second) == 42912);
        }
        SUBCASE("invalidation answers 40011 on the chosen page") {
            standin.set_enumeration(R"({"invalidate_after_pages":1})");
            const auto first = standin.ably_get("/channels?limit=2");
            REQUIRE(first.status == 200);
            const auto second = standin.ably_get("/" + next_link(first).substr(2));
            CHECK(second.status == 400);
            CHECK(error_code(second) == 40011);
        }
        SUBCASE("page size cap and empty pages") {
            standin.set_enumeration(R"({"page_size_cap":1,"empty_pages":true})");
            const auto first = standin.ably_get("/channels?limit=100");
            CHECK(parse(first.body).Size() == 1);
            const auto second = standin.ably_get("/" + next_link(first).substr(2));
            CHECK(parse(second.body).Size() == 0);
            CHECK_FALSE(next_link(second).empty());
        }
    }

    TEST_CASE("faults answer errors, delay or drop the connection, then expire") {
        StandinProcess standin;
        SUBCASE("an error status with Retry-After") {
            standin.add_fault(
                R"({"method":"GET","path":"^/channels$","status":503,"times":1,"retry_after":2})");
            auto r = standin.ably_get("/channels");
            CHECK(r.status == 503);
            CHECK(error_code(r) == 50000);
            CHECK(r.header("Retry-After") == "2");
            r = standin.ably_get("/channels");
            CHECK(r.status == 200);
        }
        SUBCASE("a dropped connection gets no answer") {
            standin.add_fault(R"({"path":"/time","drop":true})");
            CHECK(standin.get("/time").status == 0);
            CHECK(standin.get("/time").status == 200);
        }
        const auto stats = parse(standin.stats_json());
        CHECK(stats["faults"]["served"].GetInt() == 1);
    }

    TEST_CASE("SSE delivers published messages, rewinds and resumes") {
        StandinProcess standin(std::vector<std::string>{"--sse-keepalive-ms", "100"});
        REQUIRE(
            standin.ably_post("/channels/cmds/messages", R"({"name":"c","data":"first"})").status ==
            201);

        httplib::Client client("127.0.0.1", standin.port());
        client.set_read_timeout(10, 0);
        std::string stream;
        std::thread publisher([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            (void)standin.ably_post("/channels/cmds/messages", R"({"name":"c","data":"second"})");
        });
        const auto result =
            client.Get("/sse?v=1.2&channels=%5B%3Frewind%3D1%5Dcmds&key=appid.keyid:secret",
                       httplib::Headers{}, [&](const char* data, std::size_t len) {
                           stream.append(data, len);
                           return stream.find("second") == std::string::npos;
                       });
        publisher.join();
        CHECK(stream.find("event: message") != std::string::npos);
        CHECK(stream.find(R"("data":"first")") != std::string::npos);
        CHECK(stream.find(R"("channel":"[?rewind=1]cmds")") != std::string::npos);
        const auto id_pos = stream.find("id: ");
        REQUIRE(id_pos != std::string::npos);
        const std::string first_id =
            stream.substr(id_pos + 4, stream.find('\n', id_pos) - id_pos - 4);

        // Resuming after the first event replays only the second.
        std::string resumed;
        (void)client.Get("/sse?v=1.2&channels=cmds&key=appid.keyid:secret&lastEvent=" + first_id,
                         httplib::Headers{}, [&](const char* data, std::size_t len) {
                             resumed.append(data, len);
                             return resumed.find("second") == std::string::npos;
                         });
        CHECK(resumed.find("first") == std::string::npos);
        CHECK(resumed.find("second") != std::string::npos);
    }

    TEST_CASE("POST /_control/shutdown ends the process") {
        StandinProcess standin;
        CHECK(standin.post("/_control/shutdown", "").status == 200);
        for (int i = 0; i < 500 && standin.running(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        CHECK_FALSE(standin.running());
        CHECK(WIFEXITED(standin.wait_status()));
        CHECK(WEXITSTATUS(standin.wait_status()) == 0);
    }
}

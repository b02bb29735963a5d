// SPDX-License-Identifier: MIT
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <presenceagg/demo.hpp>
#include <presenceagg/error.hpp>

using namespace presenceagg;

namespace {

/// A file path unique to this test process, removed at the end of the scope.
class TempPath {
public:
    explicit TempPath(std::string_view name)
        : path_(std::filesystem::temp_directory_path() /
                ("presenceagg-demo-" + std::to_string(::getpid()) + "-" + std::string(name))) {
        std::filesystem::remove(path_);
    }
    ~TempPath() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    TempPath(const TempPath&) = delete;
    TempPath& operator=(const TempPath&) = delete;
    [[nodiscard]] std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::vector<OutboundMessage> sample_messages() {
    return {
        {"abc:1:0", "snapshot",
         R"({"presence:lobby":{"ada":{"c1":{"data":{"s":"hi \"there\""}}}}})"},
        {"abc:1:1", "snapshot", R"({"x":[1,2,3],"ünïcode":"✓"})"},
    };
}

}  // namespace

TEST_SUITE("demo sink") {
    TEST_CASE("publishes succeed and are counted per channel") {
        DemoAblyRestSink sink({});
        const auto messages = sample_messages();
        const std::uint64_t bytes = messages[0].data.size() + messages[1].data.size();
        CHECK(sink.publish("presence-update", messages).ok());
        CHECK(sink.publish("presence-update", std::span(messages).first(1)).ok());
        CHECK(sink.publish("presence-update:counts", messages).ok());
        const auto c = sink.counters();
        REQUIRE(c.channels.size() == 2);
        const auto& update = c.channels.at("presence-update");
        CHECK(update.requests == 2);
        CHECK(update.messages == 3);
        CHECK(update.bytes == bytes + messages[0].data.size());
        CHECK(update.failures == 0);
        CHECK(c.channels.at("presence-update:counts").messages == 2);
        CHECK(c.total.requests == 3);
        CHECK(c.total.messages == 5);
        CHECK(c.total.bytes == 2 * bytes + messages[0].data.size());
        CHECK(c.write_errors == 0);
    }

    TEST_CASE("every recorded line is an Ably message with its channel") {
        TempPath path("record.ndjson");
        DemoSinkConfig config;
        config.record_path = path.str();
        config.clock = [] { return std::int64_t{1'700'000'000'123}; };
        const auto messages = sample_messages();
        {
            auto sink = make_demo_sink(config);
            CHECK(sink->publish("presence-update", messages).ok());
            CHECK(sink->publish("presence-update:by-client", std::span(messages).first(1)).ok());
        }
        const auto lines = read_lines(path.str());
        REQUIRE(lines.size() == 3);
        const char* channels[] = {"presence-update", "presence-update",
                                  "presence-update:by-client"};
        const OutboundMessage* expected[] = {&messages[0], &messages[1], &messages[0]};
        for (std::size_t i = 0; i < lines.size(); ++i) {
            CAPTURE(lines[i]);
            rapidjson::Document doc;
            doc.Parse(lines[i].data(), lines[i].size());
            REQUIRE_FALSE(doc.HasParseError());
            REQUIRE(doc.IsObject());
            CHECK(doc.MemberCount() == 6);
            CHECK(std::string(doc["channel"].GetString()) == channels[i]);
            CHECK(std::string(doc["id"].GetString()) == expected[i]->id);
            CHECK(std::string(doc["name"].GetString()) == expected[i]->name);
            CHECK(std::string(doc["encoding"].GetString()) == "json");
            CHECK(doc["timestamp"].GetInt64() == 1'700'000'000'123);
            const std::string data(doc["data"].GetString(), doc["data"].GetStringLength());
            CHECK(data == expected[i]->data);
            rapidjson::Document inner;
            inner.Parse(data.data(), data.size());
            CHECK_FALSE(inner.HasParseError());
        }
    }

    TEST_CASE("the record file is appended to unless truncation is asked for") {
        TempPath path("append.ndjson");
        DemoSinkConfig config;
        config.record_path = path.str();
        const auto messages = sample_messages();
        for (int i = 0; i < 2; ++i) {
            DemoAblyRestSink sink(config);
            CHECK(sink.publish("c", messages).ok());
        }
        CHECK(read_lines(path.str()).size() == 4);
        config.truncate = true;
        {
            DemoAblyRestSink sink(config);
            CHECK(sink.publish("c", std::span(messages).first(1)).ok());
        }
        CHECK(read_lines(path.str()).size() == 1);
    }

    TEST_CASE("an unwritable record path is a setup error naming the setting") {
        DemoSinkConfig config;
        config.record_path = "/nonexistent-dir-presenceagg/record.ndjson";
        try {
            DemoAblyRestSink sink(config);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.code() == Errc::Io);
            CHECK(std::string(e.what()).find("DemoSinkConfig.record_path") != std::string::npos);
        }
    }

    TEST_CASE("injected failures are retryable 503s and record nothing") {
        TempPath path("failures.ndjson");
        DemoSinkConfig config;
        config.record_path = path.str();
        config.fail_every = 3;
        DemoAblyRestSink sink(config);
        const auto messages = sample_messages();
        std::vector<bool> ok;
        for (int i = 0; i < 6; ++i) ok.push_back(sink.publish("c", messages).ok());
        CHECK(ok == std::vector<bool>{true, true, false, true, true, false});
        const PublishResult failed = [&] {
            for (int i = 0; i < 3; ++i) {
                auto r = sink.publish("c", messages);
                if (!r.ok()) return r;
            }
            return PublishResult{};
        }();
        CHECK(failed.error == make_error_code(Errc::AblyServerError));
        CHECK(failed.http_status == 503);
        const auto c = sink.counters();
        CHECK(c.total.failures == 3);
        CHECK(c.total.requests == 6);
        CHECK(read_lines(path.str()).size() == 12);
    }

    TEST_CASE("concurrent publishers are all counted and recorded whole") {
        TempPath path("threads.ndjson");
        DemoSinkConfig config;
        config.record_path = path.str();
        DemoAblyRestSink sink(config);
        const auto messages = sample_messages();
        {
            std::vector<std::jthread> threads;
            for (int t = 0; t < 4; ++t) {
                threads.emplace_back([&, t] {
                    const std::string channel = "view-" + std::to_string(t);
                    for (int i = 0; i < 200; ++i) (void)sink.publish(channel, messages);
                });
            }
        }
        const auto c = sink.counters();
        CHECK(c.total.requests == 800);
        CHECK(c.total.messages == 1600);
        CHECK(c.channels.size() == 4);
        const auto lines = read_lines(path.str());
        REQUIRE(lines.size() == 1600);
        for (const auto& line : lines) {
            rapidjson::Document doc;
            doc.Parse(line.data(), line.size());
            if (doc.HasParseError()) FAIL_CHECK("torn line: " << line);
        }
    }
}

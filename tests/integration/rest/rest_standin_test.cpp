// SPDX-License-Identifier: MIT
// The REST pieces against ably-standin, a separate process imitating Ably's REST API with its
// documented misbehaviours (enumeration restarts, duplicates, empty pages, channel caps).

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/error.hpp>
#include <presenceagg/presence_store.hpp>

#include "rest/ably_rest_client.hpp"
#include "rest/bootstrapper.hpp"
#include "rest/drift_repairer.hpp"
#include "rest/rate_limiter.hpp"
#include "support/standin/standin_process.hpp"

using namespace std::chrono_literals;
using presenceagg::standin::StandinProcess;

namespace {

presenceagg::AblyEndpoint endpoint_of(const StandinProcess& standin) {
    presenceagg::AblyEndpoint e;
    e.key = presenceagg::ApiKey::parse(StandinProcess::kDefaultKey);
    e.endpoint = standin.endpoint();
    e.tls = false;
    return e;
}

std::string members_json(int channel, int count) {
    std::string out = "[";
    for (int i = 0; i < count; ++i) {
        if (i > 0) out += ",";
        out += R"({"clientId":"user-)" + std::to_string(channel) + "-" + std::to_string(i) +
               R"(","connectionId":"conn-)" + std::to_string(i % 3) + R"(","data":{"seat":)" +
               std::to_string(i) + "}}";
    }
    return out + "]";
}

presenceagg::detail::BootstrapTuning fast_tuning() {
    presenceagg::detail::BootstrapTuning t;
    t.backoff_min = 5ms;
    t.backoff_max = 100ms;
    t.max_attempts = 3;
    return t;
}

// The stand-in's "max_rate_per_second" for one endpoint ("GET /presence"), or -1.
double max_rate(const std::string& stats, const std::string& endpoint) {
    const auto group = stats.find("\"max_rate_per_second\":{");
    if (group == std::string::npos) return -1;
    const std::string key = "\"" + endpoint + "\":";
    const auto at = stats.find(key, group);
    if (at == std::string::npos) return -1;
    return std::stod(stats.substr(at + key.size(), 20));
}

}  // namespace

TEST_SUITE("rest against ably-standin") {
    TEST_CASE(
        "bootstrap recovers every member through restarts, duplicates, empty pages and a "
        "low channel cap") {
        StandinProcess standin({"--batch-presence-cap", "16"});
        constexpr int kChannels = 120;
        std::size_t expected_members = 0;
        for (int c = 0; c < kChannels; ++c) {
            const int count = c % 5;  // some channels have no members (not active)
            standin.set_presence("presence:room-" + std::to_string(c), members_json(c, count));
            expected_members += static_cast<std::size_t>(count);
        }
        standin.set_presence("other:ignored", members_json(999, 3));
        standin.mark_channels({"presence:empty-but-active"});
        standin.set_enumeration(
            R"({"single_flight":true,"invalidate_after_pages":3,"page_size_cap":9,)"
            R"("duplicate_rate":0.3,"empty_pages":true,"seed":7})");
        standin.set_channel_error("presence:room-7", 500, 50001);
        standin.add_fault(R"({"method":"GET","path":"^/presence$","status":503,"times":2})");

        auto store = presenceagg::make_memory_presence_store();
        presenceagg::detail::RateLimiter limiter(200, 5);
        presenceagg::BootstrapConfig config;
        config.channels_per_request = 100;  // above the stand-in's cap: 90010, then halving
        config.enumeration_page = 1000;
        config.concurrency = 4;
        presenceagg::detail::Bootstrapper boot(endpoint_of(standin), config,
                                               std::regex("^presence:"), *store, limiter, {},
                                               fast_tuning());
        const auto result = boot.run({});

        CHECK(result.enumeration_complete);
        CHECK(result.failed == std::vector<std::string>{"presence:room-7"});
        const auto stats = boot.stats();
        CHECK(stats.done);
        CHECK(stats.channels_matched == 4 * kChannels / 5 + 1);  // channels with members + marked
        CHECK(stats.channels_fetched == stats.channels_matched - 1);
        CHECK(store->counts().members == expected_members - 7 % 5);
        CHECK(store->channel_members("presence:room-9") == 4);
        CHECK(store->channel_members("other:ignored") == 0);
        CHECK(stats.failures >= 3);  // the 40011 restart, the 90010 answer, the 503s at least
    }

    TEST_CASE("drift repair replaces a channel's members with the stand-in's set") {
        StandinProcess standin;
        standin.set_presence("presence:lobby", members_json(1, 3));
        auto store = presenceagg::make_memory_presence_store();
        presenceagg::PresenceMessage ghost;
        ghost.channel = "presence:lobby";
        ghost.client_id = "ghost";
        ghost.connection_id = "gone";
        ghost.id = "gone:0:0";
        ghost.action = presenceagg::PresenceAction::Enter;
        ghost.timestamp = 1;
        REQUIRE(store->apply(ghost) == presenceagg::ApplyOutcome::Applied);

        presenceagg::detail::RateLimiter limiter(50, 2);
        presenceagg::DriftRepairConfig config;
        config.occupancy_debounce = 15s;
        presenceagg::detail::DriftRepairer repairer(endpoint_of(standin), config,
                                                    std::regex("^presence:"), *store, limiter, {});
        const auto t0 = presenceagg::detail::DriftRepairer::Clock::now();
        presenceagg::OccupancyMessage occupancy;
        occupancy.channel = "presence:lobby";
        occupancy.metrics.presence_members = 3;
        repairer.on_occupancy(occupancy, t0);
        CHECK(repairer.repair_due(t0 + 16s, {}) == 1);
        CHECK(store->channel_members("presence:lobby") == 3);
        CHECK(repairer.stats().removed == 1);
        CHECK(repairer.due(t0 + 20s).empty());
    }

    TEST_CASE("the sink publishes what the stand-in stores, and oversize is 40009") {
        StandinProcess standin({"--max-message-size", "2048"});
        auto sink = presenceagg::make_curl_ably_rest_sink({endpoint_of(standin), {}});
        const std::vector<presenceagg::OutboundMessage> ok{
            {"b:0", "presence-update", R"({"seq":1,"v":{"a":"\u00e9 \"x\""}})"},
            {"b:1", "presence-update", "[1,2,3]"}};
        const std::string channel = "presence-update:by client/é";
        const auto r = sink->publish(channel, ok);
        REQUIRE(r.ok());
        CHECK(r.http_status == 201);
        const auto published = standin.published(channel);
        REQUIRE(published.size() == 2);
        CHECK(published[0].find(R"("id":"b:0")") != std::string::npos);
        CHECK(published[0].find(R"("encoding":"json")") != std::string::npos);

        const std::vector<presenceagg::OutboundMessage> big{
            {"b:2", "presence-update", "\"" + std::string(4096, 'x') + "\""}};
        const auto too_big = sink->publish(channel, big);
        CHECK(too_big.error == presenceagg::Errc::MessageTooLarge);
        CHECK(too_big.ably_error_code == 40009);
        CHECK_FALSE(too_big.retryable());
    }

    TEST_CASE("bootstrap keeps to the request budget") {
        StandinProcess standin({"--batch-presence-cap", "100"});
        for (int c = 0; c < 40; ++c) {
            standin.set_presence("presence:r" + std::to_string(c), members_json(c, 1));
        }
        auto store = presenceagg::make_memory_presence_store();
        presenceagg::detail::RateLimiter limiter(10, 1);
        presenceagg::BootstrapConfig config;
        config.channels_per_request = 2;
        config.concurrency = 4;
        presenceagg::detail::Bootstrapper boot(endpoint_of(standin), config,
                                               std::regex("^presence:"), *store, limiter, {},
                                               fast_tuning());
        const auto result = boot.run({});
        CHECK(result.failed.empty());
        CHECK(store->counts().members == 40);
        const auto rate = max_rate(standin.stats_json(), "GET /presence");
        INFO("stats: " << standin.stats_json());
        CHECK(rate > 0);
        CHECK(rate <= 10 + 1 + 2);  // budget + burst + slack for second-boundary rounding
    }
}

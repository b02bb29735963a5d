// SPDX-License-Identifier: MIT
// e2e-bench: the end-to-end performance harness. Runs against a real RabbitMQ and the local
// Ably stand-in, with the real `presence-agg run` as a child process:
//
//   drain      a bare librabbitmq-c consumer and presence-agg drain the same pre-loaded queue
//   scale      enter-only loads of growing size: throughput and peak RSS against members
//   bootstrap  presence-agg bootstraps 10,000 channels x 20 members from the stand-in
//   churn      100,000 members over 2,000 channels, a fraction changing per publish interval
//
//   e2e-bench --build-root DIR --out DIR [--amqp-url URL] [--quick] [--phases a,b,...]
//
// Markdown tables go to stdout and OUT/results.md; plot data to OUT/*.tsv; child logs to
// OUT/logs/. Every wait is bounded; only loopback addresses are used.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <rapidjson/document.h>

#include "child_process.hpp"
#include "support/amqp/test_broker.hpp"
#include "support/standin/standin_process.hpp"
#include "workload.hpp"

namespace {

using presenceagg::bench::Change;
using presenceagg::bench::ChildProcess;
using presenceagg::bench::ProcessUsage;
using presenceagg::bench::Workload;
using presenceagg::standin::StandinProcess;
using presenceagg::test::TestBroker;
using Clock = std::chrono::steady_clock;

constexpr unsigned kPrefetch = 200;  // presence-agg's default AMQP_PREFETCH
constexpr auto kPoll = std::chrono::milliseconds(50);

struct Options {
    std::string build_root;
    std::string out;
    std::string amqp_url = "amqp://guest:guest@127.0.0.1:5672/%2f";
    std::string standin;  ///< ably-standin binary; default: the build tree's
    bool quick = false;
    std::vector<std::string> phases{"drain", "scale", "publish-memory", "bootstrap", "churn"};
};

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

/// Everything printed goes to stdout and results.md.
class Report {
public:
    explicit Report(const std::string& path)
        : file_(path) {}
    void line(const std::string& text) {
        std::printf("%s\n", text.c_str());
        std::fflush(stdout);
        file_ << text << '\n';
        file_.flush();
    }
    static void progress(const std::string& text) {
        std::fprintf(stderr, "e2e-bench: %s\n", text.c_str());
    }

private:
    std::ofstream file_;
};

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    if (fd >= 0) ::close(fd);
    if (port == 0) throw std::runtime_error("no free loopback port");
    return port;
}

/// One scrape of presence-agg's /metrics.
class Metrics {
public:
    explicit Metrics(std::string text)
        : text_(std::move(text)) {}
    [[nodiscard]] bool ok() const { return !text_.empty(); }
    /// The sample named exactly `series` (with its labels), or -1.
    [[nodiscard]] double get(std::string_view series) const {
        std::size_t at = 0;
        while ((at = text_.find(series, at)) != std::string::npos) {
            const bool line_start = at == 0 || text_[at - 1] == '\n';
            const std::size_t end = at + series.size();
            if (line_start && end < text_.size() && text_[end] == ' ')
                return std::strtod(text_.c_str() + end + 1, nullptr);
            at = end;
        }
        return -1;
    }

private:
    std::string text_;
};

constexpr std::string_view kAcks = R"(presenceagg_queue_settlements_total{disposition="ack"})";

/// A running `presence-agg run` with its metrics endpoint.
class Aggregator {
public:
    Aggregator(const Options& o,
               const std::string& queue,
               const StandinProcess& standin,
               const std::string& log_name,
               ChildProcess::Env extra)
        : port_(free_port()),
          client_("127.0.0.1", port_) {
        ChildProcess::Env env = {
            {"ABLY_API_KEY", std::string(StandinProcess::kDefaultKey)},
            {"ABLY_ENDPOINT", standin.endpoint()},
            {"ABLY_TLS", "false"},
            {"AMQP_URL", o.amqp_url},
            {"AMQP_QUEUE", queue},
            {"AMQP_PREFETCH", std::to_string(kPrefetch)},
            {"COMMAND_CHANNEL", ""},
            {"CONSUME_ON_START", "true"},
            {"BOOTSTRAP", "false"},
            {"LOG_FORMAT", "json"},
            {"LOG_LEVEL",
             std::getenv("E2E_LOG_LEVEL") != nullptr ? std::getenv("E2E_LOG_LEVEL") : "info"},
            {"METRICS_ADDR", "127.0.0.1:" + std::to_string(port_)},
        };
        for (auto& kv : extra) env.push_back(std::move(kv));
        client_.set_connection_timeout(1, 0);
        client_.set_read_timeout(5, 0);
        started_ = Clock::now();
        // E2E_AGG_PREFIX (space-separated) wraps the CLI, e.g. "heaptrack -o /tmp/agg".
        std::vector<std::string> argv;
        if (const char* prefix = std::getenv("E2E_AGG_PREFIX"); prefix != nullptr) {
            std::istringstream words(prefix);
            for (std::string word; words >> word;) argv.push_back(word);
        }
        argv.push_back(o.build_root + "/cli/presence-agg");
        argv.emplace_back("run");
        child_ = std::make_unique<ChildProcess>(argv, env, o.out + "/logs/" + log_name + ".log");
    }

    [[nodiscard]] Metrics scrape() {
        auto res = client_.Get("/metrics");
        return Metrics(res && res->status == 200 ? res->body : std::string());
    }
    /// Polls until `done(metrics)` holds; throws after `timeout` or if the process exits.
    template <typename Done>
    Metrics wait_until(Done done, std::chrono::seconds timeout, const char* what) {
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            Metrics m = scrape();
            if (m.ok() && done(m)) return m;
            if (auto u = child_->wait(std::chrono::milliseconds(0))) {
                throw std::runtime_error(std::string("presence-agg exited while waiting for ") +
                                         what + " (status " + std::to_string(u->exit_status) + ")");
            }
            if (Clock::now() > deadline) {
                throw std::runtime_error(
                    std::string("timed out waiting for ") + what + " (acks " +
                    fixed(m.get(kAcks), 0) + ", by-channel seq " +
                    fixed(m.get(R"(presenceagg_publish_seq{view="by-channel"})"), 0) +
                    ", pending changes " + fixed(m.get("presenceagg_pending_changes"), 0) +
                    ", members " + fixed(m.get("presenceagg_members"), 0) + ")");
            }
            std::this_thread::sleep_for(kPoll);
        }
    }
    [[nodiscard]] ProcessUsage sample() const { return child_->sample(); }
    ProcessUsage stop() { return child_->stop(); }
    [[nodiscard]] Clock::time_point started() const { return started_; }

private:
    int port_;
    httplib::Client client_;
    Clock::time_point started_;
    std::unique_ptr<ChildProcess> child_;
};

// ---------------------------------------------------------------------------------------------
// Queue loading

struct Load {
    std::vector<std::string> bodies;
    std::size_t bytes = 0;
    std::uint64_t enters = 0, updates = 0, leaves = 0;
    std::size_t members = 0;  ///< members present after the whole load
};

double fill_queue(const Options& o,
                  const std::string& queue,
                  const std::vector<std::string>& bodies) {
    auto broker = TestBroker::connect(o.amqp_url);
    broker.delete_queue(queue);
    broker.declare_queue(queue);
    const auto t0 = Clock::now();
    broker.publish_many(queue, bodies, "application/json", 2000);
    const double s = seconds_since(t0);
    if (broker.message_count(queue) != bodies.size())
        throw std::runtime_error("queue " + queue + " not fully loaded");
    return s;
}

void delete_queue(const Options& o, const std::string& queue) {
    try {
        auto broker = TestBroker::connect(o.amqp_url);
        broker.delete_queue(queue);
    } catch (const std::exception&) {
    }
}

struct AggRun {
    double seconds = 0;
    double rate = 0;
    ProcessUsage usage;
    double members = 0;
};

/// Drains `count` pre-loaded messages through presence-agg; the rate is measured from the first
/// scrape that sees an ack to the one that sees all of them.
AggRun run_aggregator_drain(const Options& o,
                            const std::string& queue,
                            std::size_t count,
                            const std::string& log,
                            ChildProcess::Env env = {}) {
    StandinProcess standin(StandinProcess::Options{.args = {}, .binary = o.standin});
    Aggregator agg(o, queue, standin, log, std::move(env));
    double first_acks = 0;
    Clock::time_point first;
    agg.wait_until(
        [&](const Metrics& m) {
            first_acks = m.get(kAcks);
            first = Clock::now();
            return first_acks > 0;
        },
        std::chrono::seconds(60), "the first ack");
    const Metrics end =
        agg.wait_until([&](const Metrics& m) { return m.get(kAcks) >= static_cast<double>(count); },
                       std::chrono::seconds(900), "the queue to drain");
    AggRun r;
    r.seconds = seconds_since(first);
    r.rate = (static_cast<double>(count) - first_acks) / r.seconds;
    r.usage = agg.sample();
    r.members = end.get("presenceagg_members");
    agg.stop();
    return r;
}

// ---------------------------------------------------------------------------------------------
// Phase: drain (bare consumer vs presence-agg)

void phase_drain(const Options& o, Report& rep) {
    const std::size_t count = o.quick ? 30'000 : 200'000;
    const std::uint32_t channels = o.quick ? 500 : 2'000;
    const std::uint32_t clients = o.quick ? 5'000 : 20'000;
    const std::size_t target = o.quick ? 10'000 : 50'000;
    const int repeats = 3;
    Load load;
    {
        Workload w(channels, clients, 42);
        load.bodies.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            Change c = w.mixed(target);
            load.bytes += c.body.size();
            load.bodies.push_back(std::move(c.body));
        }
        load.enters = w.count(2);
        load.updates = w.count(4);
        load.leaves = w.count(3);
        load.members = w.members();
    }
    const std::string queue = "presenceagg-e2e-drain-" + std::to_string(::getpid());
    Report::progress("drain: " + std::to_string(count) + " messages, " + std::to_string(repeats) +
                     " repeats");

    std::vector<double> bare_rate, bare_s, bare_cpu, bare_rss, agg_rate, agg_s, agg_cpu, agg_rss,
        ratio, load_rate;
    double members = 0;
    for (int rpt = 0; rpt < repeats; ++rpt) {
        load_rate.push_back(static_cast<double>(count) / fill_queue(o, queue, load.bodies));
        {
            const std::string out_path = o.out + "/logs/bare-" + std::to_string(rpt) + ".log";
            std::remove(out_path.c_str());
            ChildProcess bare({o.build_root + "/tests/support/amqp/amqp-bare-consumer", o.amqp_url,
                               queue, std::to_string(kPrefetch), std::to_string(count)},
                              {}, out_path);
            const auto u = bare.wait(std::chrono::seconds(900));
            if (!u || u->exit_status != 0)
                throw std::runtime_error("bare consumer failed, see " + out_path);
            std::ifstream in(out_path);
            std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
            const auto at = text.find(" in ");
            const double s =
                at == std::string::npos ? 0 : std::strtod(text.c_str() + at + 4, nullptr);
            if (s <= 0)
                throw std::runtime_error("cannot read the bare consumer's time from " + out_path);
            bare_s.push_back(s);
            bare_rate.push_back(static_cast<double>(count) / s);
            bare_cpu.push_back(u->cpu_seconds);
            bare_rss.push_back(u->peak_rss_mb);
        }
        fill_queue(o, queue, load.bodies);
        const AggRun r = run_aggregator_drain(o, queue, count, "drain-" + std::to_string(rpt));
        agg_s.push_back(r.seconds);
        agg_rate.push_back(r.rate);
        agg_cpu.push_back(r.usage.cpu_seconds);
        agg_rss.push_back(r.usage.peak_rss_mb);
        members = r.members;
        ratio.push_back(r.rate / bare_rate.back());
        Report::progress("drain " + std::to_string(rpt) + ": bare " + fixed(bare_rate.back(), 0) +
                         "/s, presence-agg " + fixed(r.rate, 0) + "/s, ratio " +
                         fixed(ratio.back(), 2));
    }
    delete_queue(o, queue);

    rep.line("## Drain: bare consumer vs presence-agg");
    rep.line("");
    rep.line("Load: " + std::to_string(count) + " enveloped `channel.presence` messages (" +
             std::to_string(load.enters) + " enter, " + std::to_string(load.updates) + " update, " +
             std::to_string(load.leaves) + " leave) over " + std::to_string(channels) +
             " channels and " + std::to_string(clients) +
             " clients with up to 3 connections each; mean body " +
             fixed(static_cast<double>(load.bytes) / static_cast<double>(count), 0) +
             " bytes (data ~150 bytes, JSON string with encoding json); " + fixed(members, 0) +
             " members present at the end. Published transient (delivery mode 1, publisher "
             "confirms) to a fresh "
             "non-durable queue, " +
             fixed(median(load_rate), 0) + " messages/s loading (median). Prefetch " +
             std::to_string(kPrefetch) + ", one ack per message, for both consumers. Median of " +
             std::to_string(repeats) +
             " runs; each presence-agg run follows its bare run on the same load.");
    rep.line("");
    rep.line("| consumer | messages | seconds | messages/s | CPU s (user+sys) | peak RSS MB |");
    rep.line("|---|---:|---:|---:|---:|---:|");
    rep.line("| bare librabbitmq-c | " + std::to_string(count) + " | " + fixed(median(bare_s), 2) +
             " | " + fixed(median(bare_rate), 0) + " | " + fixed(median(bare_cpu), 2) + " | " +
             fixed(median(bare_rss), 1) + " |");
    rep.line("| presence-agg run | " + std::to_string(count) + " | " + fixed(median(agg_s), 2) +
             " | " + fixed(median(agg_rate), 0) + " | " + fixed(median(agg_cpu), 2) + " | " +
             fixed(median(agg_rss), 1) + " |");
    rep.line("");
    std::string runs;
    for (std::size_t i = 0; i < ratio.size(); ++i) {
        runs += (i ? ", " : "") + fixed(bare_rate[i], 0) + "/" + fixed(agg_rate[i], 0) + " (" +
                fixed(ratio[i], 2) + ")";
    }
    rep.line("Ratio presence-agg/bare: **" + fixed(median(ratio), 2) +
             "** (median of per-run ratios; target >= 0.90). "
             "Per run bare/presence-agg messages/s (ratio): " +
             runs + ".");
    rep.line("");
    rep.line(
        "presence-agg CPU time includes start-up and its REST publishing to the stand-in; its time "
        "is measured "
        "by polling /metrics every 50 ms from the first ack to the last.");
    rep.line("");
}

// ---------------------------------------------------------------------------------------------
// Phase: scale (enter-only loads)

void phase_scale(const Options& o, Report& rep) {
    const std::vector<std::size_t> sizes =
        o.quick ? std::vector<std::size_t>{5'000, 20'000}
                : std::vector<std::size_t>{10'000, 50'000, 100'000, 200'000};
    const std::string queue = "presenceagg-e2e-scale-" + std::to_string(::getpid());
    std::ofstream tsv(o.out + "/scale.tsv");
    tsv << "# members\trate_per_s\tpeak_rss_mb\tcpu_s\n";
    rep.line("## Scale: enter-only loads");
    rep.line("");
    rep.line(
        "Every message enters a new member (50 per channel), so the state grows to the load size. "
        "One run "
        "per size. The Node.js original: ~15,000 events/s, 135 MB RSS for a 100,000-event load.");
    rep.line("");
    rep.line(
        "| messages | members at end | seconds | messages/s | CPU s | peak RSS MB | KB per member "
        "|");
    rep.line("|---:|---:|---:|---:|---:|---:|---:|");
    for (const std::size_t n : sizes) {
        Report::progress("scale: " + std::to_string(n) + " enters");
        Workload w(static_cast<std::uint32_t>(std::max<std::size_t>(1, n / 50)),
                   static_cast<std::uint32_t>(std::max<std::size_t>(10, n / 2)), 7 + n);
        std::vector<std::string> bodies;
        bodies.reserve(n);
        for (std::size_t i = 0; i < n; ++i) bodies.push_back(w.enter().body);
        fill_queue(o, queue, bodies);
        // No publish round during the run: the figures are those of consuming and the state.
        const AggRun r =
            run_aggregator_drain(o, queue, n, "scale-" + std::to_string(n),
                                 {{"PUBLISH_INTERVAL", "1h"}, {"KEEPALIVE_INTERVAL", "1h"}});
        tsv << r.members << '\t' << r.rate << '\t' << r.usage.peak_rss_mb << '\t'
            << r.usage.cpu_seconds << '\n';
        rep.line("| " + std::to_string(n) + " | " + fixed(r.members, 0) + " | " +
                 fixed(r.seconds, 2) + " | " + fixed(r.rate, 0) + " | " +
                 fixed(r.usage.cpu_seconds, 2) + " | " + fixed(r.usage.peak_rss_mb, 1) + " | " +
                 fixed(r.members > 0 ? r.usage.peak_rss_mb * 1024 / r.members : 0, 2) + " |");
    }
    delete_queue(o, queue);
    rep.line("");
}

// ---------------------------------------------------------------------------------------------
// Phase: memory with publishing (the scale phase publishes nothing)

void phase_publish_memory(const Options& o, Report& rep) {
    const std::size_t n = o.quick ? 20'000 : 100'000;
    const std::string queue = "presenceagg-e2e-pubmem-" + std::to_string(::getpid());
    Workload w(static_cast<std::uint32_t>(n / 50), static_cast<std::uint32_t>(n / 2), 7 + n);
    std::vector<std::string> bodies;
    bodies.reserve(n);
    for (std::size_t i = 0; i < n; ++i) bodies.push_back(w.enter().body);
    rep.line("## Memory with publishing");
    rep.line("");
    rep.line(std::to_string(n) +
             " enters drained with PUBLISH_INTERVAL=10s, so that the first round (a full "
             "snapshot of every enabled view) comes after the load; peak RSS once every enabled "
             "view has "
             "published it.");
    rep.line("");
    rep.line(
        "| PUBLISH_VIEWS | members | peak RSS MB after the load | peak RSS MB after the first "
        "round | "
        "seconds to publish the first round |");
    rep.line("|---|---:|---:|---:|---:|");
    std::vector<std::string> view_sets = {"by-channel",
                                          "by-channel,by-client,by-connection,counts"};
    if (const char* only = std::getenv("E2E_VIEWS"); only != nullptr) view_sets = {only};
    for (const auto& views : view_sets) {
        Report::progress("publish memory: " + views);
        fill_queue(o, queue, bodies);
        StandinProcess standin(StandinProcess::Options{.args = {}, .binary = o.standin});
        Aggregator agg(
            o, queue, standin, "pubmem-" + std::to_string(views.size()),
            {{"PUBLISH_INTERVAL", "10s"}, {"PUBLISH_VIEWS", views}, {"VERIFY_INTERVAL", "0"}});
        const Metrics loaded =
            agg.wait_until([&](const Metrics& m) { return m.get(kAcks) >= static_cast<double>(n); },
                           std::chrono::seconds(120), "the load");
        const ProcessUsage before = agg.sample();
        const double ticks = loaded.get("presenceagg_ticks_total");
        const Metrics done = agg.wait_until(
            [&](const Metrics& m) { return m.get("presenceagg_ticks_total") > ticks; },
            std::chrono::seconds(300), "the first round");
        const double publish_s = seconds_since(agg.started()) - 10;
        const ProcessUsage after = agg.sample();
        agg.stop();
        rep.line("| " + views + " | " + fixed(done.get("presenceagg_members"), 0) + " | " +
                 fixed(before.peak_rss_mb, 1) + " | " + fixed(after.peak_rss_mb, 1) + " | " +
                 fixed(publish_s, 1) + " |");
    }
    delete_queue(o, queue);
    rep.line("");
}

// ---------------------------------------------------------------------------------------------
// Phase: bootstrap from the stand-in

void phase_bootstrap(const Options& o, Report& rep) {
    const std::uint32_t channels = o.quick ? 2'000 : 10'000;
    const std::uint32_t per_channel = 20;
    const std::string rate_limit = "50";
    StandinProcess standin(StandinProcess::Options{.args = {}, .binary = o.standin});
    Report::progress("bootstrap: seeding " + std::to_string(channels) + " channels");
    const auto seed_t0 = Clock::now();
    constexpr std::uint32_t kBatch = 250;  // channels per control request
    for (std::uint32_t first = 0; first < channels; first += kBatch) {
        std::string body = "[";
        for (std::uint32_t c = first; c < std::min(channels, first + kBatch); ++c) {
            if (c != first) body += ',';
            body += R"({"channel":")" + Workload::channel_name(c) + R"(","members":[)";
            for (std::uint32_t m = 0; m < per_channel; ++m) {
                const presenceagg::bench::Slot slot{c, c * 7 + m,
                                                    m % Workload::kConnectionsPerClient};
                if (m != 0) body += ',';
                std::string data = Workload::data_json(slot, m);
                std::string escaped;
                for (const char ch : data) {
                    if (ch == '"') escaped += '\\';
                    escaped += ch;
                }
                body += R"({"clientId":")" + Workload::client_name(slot.client) +
                        R"(","connectionId":")" +
                        Workload::connection_name(slot.client, slot.connection) + R"(","data":")" +
                        escaped + R"(","encoding":"json"})";
            }
            body += "]}";
        }
        body += "]";
        const auto reply = standin.post("/_control/presence", body);
        if (reply.status / 100 != 2) {
            throw std::runtime_error(
                "stand-in refused presence setup: " + std::to_string(reply.status) + " " +
                reply.body.substr(0, 200));
        }
    }
    const double seed_s = seconds_since(seed_t0);
    const std::string queue = "presenceagg-e2e-boot-" + std::to_string(::getpid());
    fill_queue(o, queue, {});
    Report::progress("bootstrap: running presence-agg");
    Aggregator agg(o, queue, standin, "bootstrap",
                   {{"BOOTSTRAP", "true"}, {"REST_RATE_LIMIT", rate_limit}});
    const Metrics m =
        agg.wait_until([](const Metrics& x) { return x.get("presenceagg_bootstrap_done") == 1; },
                       std::chrono::seconds(300), "bootstrap_done");
    const double boot_s = seconds_since(agg.started());
    const ProcessUsage u = agg.sample();
    agg.stop();
    delete_queue(o, queue);

    rapidjson::Document stats;
    stats.Parse(standin.stats_json().c_str());
    std::string rows;
    std::uint64_t max_rate = 0;
    if (stats.IsObject() && stats.HasMember("requests") && stats.HasMember("max_rate_per_second")) {
        const auto& requests = stats["requests"];
        // Indexing, not a range-for: RapidJSON 1.1's member iterator comparison is ambiguous in
        // C++20 (clang -Wambiguous-reversed-operator).
        for (rapidjson::SizeType i = 0; i < requests.MemberCount(); ++i) {
            const auto& kv = *(requests.MemberBegin() + i);
            const std::string name = kv.name.GetString();
            if (name == "control" || name.find("_control") != std::string::npos) continue;
            const auto& rates = stats["max_rate_per_second"];
            const std::uint64_t r = rates.HasMember(kv.name) ? rates[kv.name].GetUint64() : 0;
            // Reads share REST_RATE_LIMIT; publishing has its own per-channel limit.
            if (name.rfind("GET ", 0) == 0) max_rate += r;
            rows += "| `" + name + "` | " + std::to_string(kv.value.GetUint64()) + " | " +
                    std::to_string(r) + " |\n";
        }
    }
    rep.line("## Bootstrap");
    rep.line("");
    rep.line(std::to_string(channels) + " channels x " + std::to_string(per_channel) +
             " members set in the stand-in (" + std::to_string((channels + kBatch - 1) / kBatch) +
             " control requests of " + std::to_string(kBatch) + " channels, " + fixed(seed_s, 1) +
             " s), then `presence-agg run` with BOOTSTRAP=true REST_RATE_LIMIT=" + rate_limit +
             ".");
    rep.line("");
    rep.line("| measure | value |");
    rep.line("|---|---:|");
    rep.line("| time from process start to bootstrap_done=1 | " + fixed(boot_s, 2) +
             " s (target < 10 s) |");
    rep.line("| channels fetched | " +
             fixed(m.get(R"(presenceagg_bootstrap_channels_total{stage="fetched"})"), 0) + " |");
    rep.line("| members fetched | " + fixed(m.get("presenceagg_bootstrap_members_total"), 0) +
             " |");
    rep.line("| members in the state | " + fixed(m.get("presenceagg_members"), 0) + " |");
    rep.line("| bootstrap REST requests | " +
             fixed(m.get("presenceagg_bootstrap_requests_total"), 0) + " |");
    rep.line("| bootstrap failures | " + fixed(m.get("presenceagg_bootstrap_failures_total"), 0) +
             " |");
    rep.line(
        "| REST reads in one calendar second, at most (sum over GET endpoints of each one's "
        "busiest second, stand-in) | " +
        std::to_string(max_rate) + " (budget " + rate_limit +
        "/s; the token bucket allows a burst of " + rate_limit + "/4 on top) |");
    rep.line("| CPU s / peak RSS MB at that point | " + fixed(u.cpu_seconds, 2) + " / " +
             fixed(u.peak_rss_mb, 1) + " |");
    rep.line("");
    rep.line("Stand-in requests by endpoint (control API excluded):");
    rep.line("");
    rep.line("| endpoint | requests | max per second |");
    rep.line("|---|---:|---:|");
    rep.line(rows);
}

// ---------------------------------------------------------------------------------------------
// Phase: churn (bytes per publish interval)

struct Round {
    std::string kind;
    std::size_t messages = 0;
    std::size_t bytes = 0;
};

/// Publish rounds of one view channel from the stand-in, by seq.
std::map<std::uint64_t, Round> published_rounds(const StandinProcess& standin,
                                                const std::string& channel) {
    std::map<std::uint64_t, Round> rounds;
    for (const std::string& line : standin.published(channel)) {
        rapidjson::Document msg;
        msg.Parse(line.c_str());
        if (!msg.IsObject() || !msg.HasMember("data") || !msg["data"].IsString()) continue;
        const std::string_view data(msg["data"].GetString(), msg["data"].GetStringLength());
        rapidjson::Document d;
        d.Parse(data.data(), data.size());
        if (!d.IsObject() || !d.HasMember("seq")) continue;
        Round& r = rounds[d["seq"].GetUint64()];
        r.kind = d.HasMember("kind") && d["kind"].IsString() ? d["kind"].GetString() : "";
        ++r.messages;
        r.bytes += data.size();
    }
    return rounds;
}

void phase_churn(const Options& o, Report& rep) {
    const std::uint32_t channels = 2'000;
    const std::size_t members = o.quick ? 20'000 : 100'000;
    const int intervals = o.quick ? 3 : 5;
    const int interval_s = 3;
    const std::vector<double> fractions =
        o.quick ? std::vector<double>{0.01, 0.05} : std::vector<double>{0.001, 0.01, 0.05, 0.10};
    const std::string queue = "presenceagg-e2e-churn-" + std::to_string(::getpid());
    Workload w(channels, 40'000, 99);
    std::vector<std::string> bodies;
    bodies.reserve(members);
    while (w.members() < members) bodies.push_back(w.enter().body);
    fill_queue(o, queue, bodies);
    std::uint64_t published = bodies.size();

    StandinProcess standin(
        StandinProcess::Options{.args = {"--max-stored-messages", "5000000"}, .binary = o.standin});
    Report::progress("churn: loading " + std::to_string(members) + " members");
    Aggregator agg(o, queue, standin, "churn",
                   {{"PUBLISH_INTERVAL", std::to_string(interval_s) + "s"},
                    {"VERIFY_INTERVAL", "0"},
                    {"SNAPSHOT_EVERY", "1000000"}});
    auto seq_of = [](const Metrics& m) {
        return m.get(R"(presenceagg_publish_seq{view="by-channel"})");
    };
    // Settled: every message acked, nothing pending, and a whole tick after that, so a round
    // that was being published has finished. (No round follows when nothing changed.)
    auto settle = [&](const char* what) {
        const Metrics quiet = agg.wait_until(
            [&](const Metrics& m) {
                return m.get(kAcks) >= static_cast<double>(published) &&
                       m.get("presenceagg_pending_changes") == 0;
            },
            std::chrono::seconds(300), what);
        const double ticks = quiet.get("presenceagg_ticks_total");
        return agg.wait_until(
            [&](const Metrics& m) { return m.get("presenceagg_ticks_total") >= ticks + 2; },
            std::chrono::seconds(240), what);
    };
    settle("the initial load");
    const ProcessUsage after_load = agg.sample();

    std::ofstream tsv(o.out + "/churn.tsv");
    tsv << "# "
           "churn_pct\tchanges_per_interval\tbytes_per_interval\tchanged_json_bytes\tmessages_per_"
           "interval\ttick_ms\n";
    struct Level {
        double fraction;
        std::size_t changes;
        double rounds = 0, diff_bytes = 0, diff_messages = 0, changed_json = 0, fanout_messages = 0,
               fanout_bytes = 0, tick_ms = 0, tick_max_ms = 0, all_views_bytes = 0;
        std::uint64_t first_seq = 0, last_seq = 0;
    };
    std::vector<Level> levels;
    const std::string views[] = {"by-channel", "by-client", "by-connection", "counts"};
    auto all_bytes = [&](const Metrics& m) {
        double b = 0;
        for (const auto& v : views)
            b += m.get(R"(presenceagg_publish_bytes_total{view=")" + v + "\"}");
        return b;
    };
    for (const double f : fractions) {
        Level lv{f, static_cast<std::size_t>(static_cast<double>(members) * f)};
        Report::progress("churn: " + fixed(f * 100, 1) + "% per interval");
        const Metrics before = agg.scrape();
        lv.first_seq = static_cast<std::uint64_t>(seq_of(before)) + 1;
        double ticks = before.get("presenceagg_ticks_total");
        std::vector<double> tick_samples;
        auto broker = TestBroker::connect(o.amqp_url);
        const auto t0 = Clock::now();
        for (int k = 0; k < intervals; ++k) {
            std::vector<std::string> batch;
            batch.reserve(lv.changes);
            for (std::size_t i = 0; i < lv.changes; ++i) {
                const auto roll = i % 20;  // 70% update, 15% leave, 15% enter: the size stays level
                Change c = roll < 14 ? w.update() : roll < 17 ? w.leave() : w.enter();
                lv.changed_json += static_cast<double>(c.leaf_json_bytes);
                lv.fanout_messages += static_cast<double>(c.channel_members);
                lv.fanout_bytes += static_cast<double>(c.channel_members * c.presence_json_bytes);
                batch.push_back(std::move(c.body));
            }
            broker.publish_many(queue, batch, "application/json", 2000);
            published += batch.size();
            const auto next = t0 + std::chrono::seconds(interval_s * (k + 1));
            while (Clock::now() < next) {
                const Metrics m = agg.scrape();
                const double t = m.get("presenceagg_ticks_total");
                if (t > ticks) {
                    ticks = t;
                    tick_samples.push_back(m.get("presenceagg_tick_duration_seconds") * 1000);
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        }
        const Metrics after = settle("a churn level to settle");
        lv.last_seq = static_cast<std::uint64_t>(seq_of(after));
        lv.all_views_bytes = all_bytes(after) - all_bytes(before);
        if (!tick_samples.empty()) {
            lv.tick_ms = median(tick_samples);
            lv.tick_max_ms = *std::max_element(tick_samples.begin(), tick_samples.end());
        }
        levels.push_back(lv);
    }
    const ProcessUsage usage = agg.sample();
    const Metrics final_metrics = agg.scrape();
    agg.stop();
    delete_queue(o, queue);

    // Sizes per round from what the stand-in stored.
    const auto rounds = published_rounds(standin, "presence-update");

    // The full state as one by-channel snapshot: the same initial members, drained before the
    // first tick (PUBLISH_INTERVAL=10s) so that round 1 holds all of them.
    Report::progress("churn: measuring a full snapshot of the initial state");
    Round snapshot;
    double snapshot_s = 0;
    {
        fill_queue(o, queue, bodies);
        StandinProcess snap_standin(StandinProcess::Options{.args = {}, .binary = o.standin});
        Aggregator snap(o, queue, snap_standin, "churn-snapshot",
                        {{"PUBLISH_INTERVAL", "10s"},
                         {"PUBLISH_VIEWS", "by-channel"},
                         {"VERIFY_INTERVAL", "0"}});
        snap.wait_until(
            [&](const Metrics& m) { return m.get(kAcks) >= static_cast<double>(bodies.size()); },
            std::chrono::seconds(60), "the snapshot load");
        snap.wait_until([&](const Metrics& m) { return seq_of(m) >= 1; }, std::chrono::seconds(240),
                        "the first snapshot");
        snapshot_s = seconds_since(snap.started()) - 10;
        snap.stop();
        delete_queue(o, queue);
        const auto snap_rounds = published_rounds(snap_standin, "presence-update");
        if (const auto it = snap_rounds.find(1); it != snap_rounds.end()) snapshot = it->second;
    }
    for (auto& lv : levels) {
        for (auto it = rounds.lower_bound(lv.first_seq);
             it != rounds.end() && it->first <= lv.last_seq; ++it) {
            if (it->second.kind != "diff") continue;
            lv.rounds += 1;
            lv.diff_bytes += static_cast<double>(it->second.bytes);
            lv.diff_messages += static_cast<double>(it->second.messages);
        }
    }

    rep.line("## Churn: bytes published per interval");
    rep.line("");
    rep.line(
        std::to_string(members) + " members over " + std::to_string(channels) +
        " channels (entered through the queue), then for each churn level " +
        std::to_string(intervals) + " intervals of PUBLISH_INTERVAL=" + std::to_string(interval_s) +
        "s, each with that fraction of members changing (70% update, 15% leave, 15% enter), "
        "published to the "
        "queue at the start of the interval. Default views; SNAPSHOT_EVERY=1000000 so that every "
        "round in the levels is a diff (the default, 20, adds a snapshot every 20 rounds: see "
        "below). The full by-channel snapshot of the initial state (a separate run whose first "
        "round came after the whole load, read back from the stand-in) is " +
        fixed(static_cast<double>(snapshot.bytes), 0) + " bytes in " +
        std::to_string(snapshot.messages) + " messages; publishing it took about " +
        fixed(snapshot_s, 1) +
        " s at MAX_PUBLISH_RATE=40 requests/s per channel. Peak RSS after the load " +
        fixed(after_load.peak_rss_mb, 1) + " MB, at the end " + fixed(usage.peak_rss_mb, 1) +
        " MB; CPU " + fixed(usage.cpu_seconds, 1) + " s.");
    rep.line("");
    rep.line(
        "*Changed-member JSON* is the by-channel path and leaf of each change "
        "(`\"channel\":{\"client\":{\"conn\":"
        "{\"data\":...,\"id\":...,\"timestamp\":...}}}`, `null` for a leave): the least any diff "
        "format could "
        "carry. *Full state* is factor (a): one full by-channel snapshot per 3 s, the original "
        "design. "
        "*Fan-out* is factor (b): native presence delivers every change to every present member of "
        "its channel "
        "(sum over changes of the channel's members; bytes = that times the presence message "
        "JSON).");
    rep.line("");
    rep.line(
        "| churn/interval | changes | by-channel diff bytes | changed-member JSON | ratio | diff "
        "msgs | "
        "(a) full-state bytes | saved vs (a) | (b) fan-out msgs | (b) fan-out bytes | saved vs (b) "
        "bytes | "
        "all views bytes | tick ms median/max |");
    rep.line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const auto& lv : levels) {
        const double n = intervals;
        const double bytes = lv.diff_bytes / n;
        const double changed = lv.changed_json / n;
        rep.line("| " + fixed(lv.fraction * 100, 1) + "%" + " | " + std::to_string(lv.changes) +
                 " | " + fixed(bytes, 0) + " | " + fixed(changed, 0) + " | " +
                 fixed(bytes / changed, 2) + "x" + " | " + fixed(lv.diff_messages / n, 1) + " | " +
                 fixed(static_cast<double>(snapshot.bytes), 0) + " | " +
                 fixed(static_cast<double>(snapshot.bytes) / bytes, 1) + "x" + " | " +
                 fixed(lv.fanout_messages / n, 0) + " | " + fixed(lv.fanout_bytes / n, 0) + " | " +
                 fixed(lv.fanout_bytes / n / bytes, 1) + "x" + " | " +
                 fixed(lv.all_views_bytes / n, 0) + " | " + fixed(lv.tick_ms, 1) + " / " +
                 fixed(lv.tick_max_ms, 1) + " |");
        tsv << lv.fraction * 100 << '\t' << lv.changes << '\t' << bytes << '\t' << changed << '\t'
            << lv.diff_messages / n << '\t' << lv.tick_ms << '\n';
    }
    rep.line("");
    rep.line(
        "Per interval figures are totals over the level divided by " + std::to_string(intervals) +
        "; diff rounds counted: " +
        [&] {
            std::string s;
            for (const auto& lv : levels) s += (s.empty() ? "" : ", ") + fixed(lv.rounds, 0);
            return s;
        }() +
        ". Snapshots every 20 rounds add their size / 20 per interval on average (" +
        fixed(static_cast<double>(snapshot.bytes) / 20, 0) + " bytes). Publish failures: " +
        fixed(final_metrics.get(R"(presenceagg_publish_failures_total{view="by-channel"})"), 0) +
        ". The original Node.js app published nothing at all once a view passed 64 KiB (~400 "
        "members).");
    rep.line("");
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--build-root") {
            o.build_root = value();
        } else if (a == "--out") {
            o.out = value();
        } else if (a == "--amqp-url") {
            o.amqp_url = value();
        } else if (a == "--standin") {
            o.standin = value();
        } else if (a == "--quick") {
            o.quick = true;
        } else if (a == "--phases") {
            o.phases.clear();
            std::stringstream ss(value());
            for (std::string p; std::getline(ss, p, ',');) o.phases.push_back(p);
        } else {
            throw std::runtime_error(
                "unknown argument " + a +
                " (usage: e2e-bench --build-root DIR --out DIR [--amqp-url URL] [--quick] "
                "[--standin PATH] [--phases drain,scale,publish-memory,bootstrap,churn])");
        }
    }
    if (o.build_root.empty() || o.out.empty())
        throw std::runtime_error("--build-root and --out are required");
    if (o.standin.empty()) o.standin = o.build_root + "/tests/support/standin/ably-standin";
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options o = parse(argc, argv);
        std::filesystem::create_directories(o.out + "/logs");
        Report rep(o.out + "/results.md");
        rep.line("Stand-in binary: `" + o.standin + "`" +
                 (o.quick ? " (quick mode: small loads)" : "") + ".");
        rep.line("");
        for (const auto& p : o.phases) {
            const auto t0 = Clock::now();
            if (p == "drain") {
                phase_drain(o, rep);
            } else if (p == "scale") {
                phase_scale(o, rep);
            } else if (p == "publish-memory") {
                phase_publish_memory(o, rep);
            } else if (p == "bootstrap") {
                phase_bootstrap(o, rep);
            } else if (p == "churn") {
                phase_churn(o, rep);
            } else {
                throw std::runtime_error("unknown phase " + p);
            }
            Report::progress(p + " done in " + fixed(seconds_since(t0), 0) + " s");
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "e2e-bench: %s\n", e.what());
        return 1;
    }
}

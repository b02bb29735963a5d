// SPDX-License-Identifier: MIT
#include "standin_server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <dirent.h>
#include <limits>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include <netinet/in.h>
#include <sys/socket.h>

#include <httplib.h>

#include "json_util.hpp"

namespace presenceagg::standin {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxPathLength = 4096;
constexpr std::size_t kMaxControlBody = 64 * 1024 * 1024;
constexpr int kDefaultLimit = 100;
constexpr std::size_t kMaxRewind = 100;
constexpr std::size_t kSseBatch = 256;

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using DirHandle = std::unique_ptr<DIR, DirCloser>;

int socket_port(const sockaddr_storage& addr) {
    if (addr.ss_family == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
    }
    if (addr.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
    }
    return -1;
}

// Shuts down this process's connected TCP sockets on `local_port` (only the one from
// `remote_port` when > 0). httplib owns the descriptors and closes them when its next read or
// write fails; shutdown() never invalidates a descriptor, so this cannot race a close into
// touching an unrelated file.
std::size_t shutdown_connections(int local_port, int remote_port) {
    std::vector<int> fds;
    {
        const DirHandle dir(::opendir("/proc/self/fd"));
        if (!dir) return 0;
        while (const dirent* e = ::readdir(dir.get())) {
            if (const auto fd = parse_int(e->d_name);
                fd && *fd <= std::numeric_limits<int>::max()) {
                fds.push_back(static_cast<int>(*fd));
            }
        }
    }
    std::size_t n = 0;
    for (const int fd : fds) {
        sockaddr_storage local{};
        socklen_t len = sizeof local;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
        if (socket_port(local) != local_port) continue;
        sockaddr_storage peer{};
        len = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
        if (remote_port > 0 && socket_port(peer) != remote_port) continue;
        if (::shutdown(fd, SHUT_RDWR) == 0) ++n;
    }
    return n;
}

std::string raw_path(const httplib::Request& req) {
    const auto q = req.target.find('?');
    return q == std::string::npos ? req.target : req.target.substr(0, q);
}

std::vector<std::string> split(std::string_view s, std::string_view sep) {
    std::vector<std::string> out;
    if (sep.empty()) sep = ",";
    std::size_t start = 0;
    while (true) {
        const auto pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            return out;
        }
        out.emplace_back(s.substr(start, pos - start));
        start = pos + sep.size();
    }
}

std::vector<std::string> path_segments(const std::string& path) {
    std::vector<std::string> out;
    for (std::string& s : split(path, "/")) {
        if (!s.empty()) out.push_back(percent_decode(s, false));
    }
    return out;
}

std::optional<std::string> param(const httplib::Request& req, const char* name) {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
}

// X-Ably-Version header, else the `v` query parameter; unversioned requests count as 1.
int protocol_version(const httplib::Request& req) {
    std::string v = req.get_header_value("X-Ably-Version");
    if (v.empty()) v = req.get_param_value("v");
    const auto dot = v.find('.');
    if (dot != std::string::npos) v.resize(dot);
    const auto n = parse_int(v);
    return n && *n > 0 && *n < 1000 ? static_cast<int>(*n) : 1;
}

// Query parameters for a Link URL, in a fixed order.
using LinkParams = std::vector<std::pair<std::string, std::string>>;

std::string link_url(const std::string& name, const LinkParams& params, const std::string& cursor) {
    std::string url = "./" + name + "?";
    bool first = true;
    for (const auto& [k, v] : params) {
        if (!first) url += '&';
        first = false;
        url += k + "=" + percent_encode(v);
    }
    if (!cursor.empty())
        url += (first ? "" : "&") + std::string("cursor=") + percent_encode(cursor);
    return url;
}

void set_links(httplib::Response& res,
               const std::string& name,
               const LinkParams& params,
               const std::string& current_cursor,
               const std::string& next_cursor) {
    std::string value = "<" + link_url(name, params, "") + ">; rel=\"first\", <" +
                        link_url(name, params, current_cursor) + ">; rel=\"current\"";
    if (!next_cursor.empty()) {
        value += ", <" + link_url(name, params, next_cursor) + ">; rel=\"next\"";
    }
    res.set_header("Link", value);
}

std::string error_json(int status, int code, const std::string& message) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("message");
    write_string(w, message);
    w.Key("code");
    w.Int(code);
    w.Key("statusCode");
    w.Int(status);
    w.Key("href");
    write_string(w, "https://help.ably.io/error/" + std::to_string(code));
    w.EndObject();
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

void write_error_info(JsonWriter& w, int status, int code, const std::string& message) {
    w.StartObject();
    w.Key("message");
    write_string(w, message);
    w.Key("code");
    w.Int(code);
    w.Key("statusCode");
    w.Int(status);
    w.Key("href");
    write_string(w, "https://help.ably.io/error/" + std::to_string(code));
    w.EndObject();
}

bool valid_channel_name(const std::string& name) {
    return !name.empty() && name.front() != '[' && name.size() <= 1024;
}

// Ably's message size: name + clientId + data + extras, data counted as its string bytes
// (decoded bytes for base64) or JSON text.
std::size_t message_size(const StoredMessage& m, const rapidjson::Value* data) {
    std::size_t size = 0;
    if (m.name) size += m.name->size();
    if (m.client_id) size += m.client_id->size();
    size += m.extras_json.size();
    if (data == nullptr || data->IsNull()) return size;
    if (data->IsString()) {
        const std::size_t len = data->GetStringLength();
        const bool base64 = m.encoding && m.encoding->size() >= 6 &&
                            m.encoding->compare(m.encoding->size() - 6, 6, "base64") == 0;
        return size + (base64 ? len / 4 * 3 : len);
    }
    return size + m.data_json.size();
}

const char* optional_string(const rapidjson::Value& obj,
                            const char* key,
                            std::optional<std::string>& out,
                            bool& bad) {
    const auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
    if (!it->value.IsString()) {
        bad = true;
        return key;
    }
    out.emplace(it->value.GetString(), it->value.GetStringLength());
    return nullptr;
}

struct RewindSpec {
    std::size_t count = 0;
    std::int64_t since_ms = 0;
};

// "N" messages (at most 100) or a time window "Ns", "Nm", "Nh".
std::optional<RewindSpec> parse_rewind(std::string_view text) {
    if (text.empty()) return std::nullopt;
    const char unit = text.back();
    if (unit == 's' || unit == 'm' || unit == 'h') {
        const auto n = parse_int(text.substr(0, text.size() - 1));
        if (!n) return std::nullopt;
        const std::int64_t scale = unit == 's' ? 1'000 : unit == 'm' ? 60'000 : 3'600'000;
        return RewindSpec{kMaxRewind, now_ms() - std::min<std::int64_t>(*n, 1'000'000) * scale};
    }
    const auto n = parse_int(text);
    if (!n) return std::nullopt;
    return RewindSpec{std::min<std::size_t>(static_cast<std::size_t>(*n), kMaxRewind),
                      std::numeric_limits<std::int64_t>::min()};
}

// "[?rewind=1]name", "[meta?rewind=1]name", "[meta]name" or a plain name.
struct SseChannel {
    std::string base;
    std::string requested;
    std::optional<std::string> rewind;
    bool valid = true;
};

SseChannel parse_sse_channel(const std::string& requested) {
    SseChannel c;
    c.requested = requested;
    if (requested.empty() || requested.front() != '[') {
        c.base = requested;
        c.valid = !requested.empty();
        return c;
    }
    const auto close = requested.find(']');
    if (close == std::string::npos || close + 1 >= requested.size()) {
        c.valid = false;
        return c;
    }
    const std::string qualifier = requested.substr(1, close - 1);
    const std::string name = requested.substr(close + 1);
    const auto q = qualifier.find('?');
    const std::string prefix = qualifier.substr(0, q);
    c.base = prefix.empty() ? name : "[" + prefix + "]" + name;
    if (q != std::string::npos) {
        for (const std::string& kv : split(std::string_view(qualifier).substr(q + 1), "&")) {
            const auto eq = kv.find('=');
            if (eq != std::string::npos && kv.substr(0, eq) == "rewind") {
                c.rewind = kv.substr(eq + 1);
            }
        }
    }
    return c;
}

}  // namespace

struct StandinServer::Route {
    std::string endpoint;
    bool auth = true;
};

struct StandinServer::SseSession {
    std::set<std::string> channels;
    std::map<std::string, std::string> echo;  // base name -> "channel" value in events
    bool enveloped = true;
    std::uint64_t position = 0;
    std::uint64_t drop_generation = 0;
    std::deque<MessagePtr> backlog;
    Clock::time_point next_keepalive;
    std::optional<Clock::time_point> cut_at;
    std::string instance;
};

namespace {
// With a charset parameter cpp-httplib does not compress the answer: compressing loopback
// traffic only costs time, and it dominated bootstrap timings.
constexpr const char* kJsonContentType = "application/json; charset=utf-8";
}  // namespace

StandinServer::StandinServer(StandinOptions options)
    : options_(std::move(options)),
      http_(std::make_unique<httplib::Server>()),
      store_(options_.max_stored_messages),
      enumerator_(store_, stats_),
      sse_keepalive_ms_(options_.sse_keepalive_ms) {
    if (options_.keys.empty()) options_.keys.emplace_back("appid.keyid:secret");
    const std::size_t threads = std::max<std::size_t>(options_.threads, 4);
    http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http_->set_payload_max_length(std::max(kMaxControlBody, max_body_size()));
    http_->set_keep_alive_timeout(5);
    http_->set_keep_alive_max_count(1000);
    http_->set_read_timeout(10, 0);
    http_->set_write_timeout(10, 0);
    // Without it each request on a kept-alive connection waits ~40 ms for delayed ACKs, which
    // distorts bootstrap and publish timings (Ably's servers answer at once).
    http_->set_tcp_nodelay(true);

    // GET, DELETE and the rest need no body: route them before httplib's regex routing.
    http_->set_pre_routing_handler([this](const Request& req, Response& res) {
        if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
            if (req.target.size() > kMaxPathLength) {
                send_error(res, 414, 40000, "Request target too long");
                return httplib::Server::HandlerResponse::Handled;
            }
            return httplib::Server::HandlerResponse::Unhandled;
        }
        dispatch(req, res);
        return httplib::Server::HandlerResponse::Handled;
    });
    const std::string any = R"(/[\s\S]*)";
    http_->Post(any, [this](const Request& req, Response& res) { dispatch(req, res); });
    http_->Put(any, [this](const Request& req, Response& res) { dispatch(req, res); });
    http_->Patch(any, [this](const Request& req, Response& res) { dispatch(req, res); });
    httplib::Server::HandlerWithResponse on_error = [this](const Request&, Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_) {
            return httplib::Server::HandlerResponse::Unhandled;
        }
        const int status = res.status;
        const int code = status == 413 ? 40009 : status == 404 ? 40400 : status * 100;
        const std::string message = status == 413   ? "Request body too large"
                                    : status == 404 ? "Not found"
                                                    : "Request rejected";
        send_error(res, status, code, message);
        return httplib::Server::HandlerResponse::Handled;
    };
    http_->set_error_handler(std::move(on_error));
    http_->set_exception_handler([this](const Request&, Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        res.headers.clear();
        send_error(res, 500, 50000, "Internal error in ably-standin: " + what);
    });
    if (options_.verbose) {
        http_->set_logger([](const Request& req, const Response& res) {
            std::fprintf(stderr, "ably-standin: %s %s -> %d\n", req.method.c_str(),
                         header_safe(req.target).c_str(), res.status);
        });
    }
}

StandinServer::~StandinServer() {
    shutdown();
}

std::size_t StandinServer::max_body_size() const {
    return options_.max_body_size > 0 ? options_.max_body_size : options_.max_message_size;
}

int StandinServer::bind() {
    if (options_.port == 0) {
        port_ = http_->bind_to_any_port("127.0.0.1");
    } else {
        port_ = http_->bind_to_port("127.0.0.1", options_.port) ? options_.port : -1;
    }
    if (port_ <= 0) {
        throw std::runtime_error("ably-standin: cannot listen on 127.0.0.1:" +
                                 std::to_string(options_.port));
    }
    return port_;
}

void StandinServer::serve() {
    {
        const std::lock_guard lock(mutex_);
        if (stopping_) return;
        serving_ = true;
    }
    http_->listen_after_bind();
    {
        const std::lock_guard lock(mutex_);
        serving_ = false;
    }
    served_cv_.notify_all();
}

void StandinServer::shutdown() {
    if (stopping_.exchange(true)) return;
    store_.wake_all();
    http_->stop();
    // Idle keep-alive connections would hold serve() for up to the keep-alive timeout.
    std::unique_lock lock(mutex_);
    for (int round = 0; round < 50 && serving_; ++round) {
        if (served_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return !serving_; })) {
            break;
        }
        if (port_ > 0) {
            lock.unlock();
            shutdown_connections(port_, 0);
            lock.lock();
        }
    }
}

void StandinServer::on_shutdown_request(std::function<void()> callback) {
    const std::lock_guard lock(mutex_);
    on_shutdown_ = std::move(callback);
}

bool StandinServer::sleep_unless_stopping(int ms) const {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < until) {
        if (stopping_) return false;
        std::this_thread::sleep_for(
            std::min<Clock::duration>(std::chrono::milliseconds(20), until - Clock::now()));
    }
    return !stopping_;
}

void StandinServer::send_json(Response& res, int status, std::string body) {
    res.status = status;
    res.set_content(std::move(body), kJsonContentType);
    stats_.response(status, 0);
}

void StandinServer::send_error(Response& res, int status, int code, const std::string& message) {
    res.status = status;
    res.set_header("X-Ably-ErrorCode", std::to_string(code));
    res.set_header("X-Ably-ErrorMessage", header_safe(message));
    res.set_content(error_json(status, code, message), kJsonContentType);
    stats_.response(status, code);
}

bool StandinServer::authorized(const Request& req) const {
    std::string key;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.size() > 6 && auth.compare(0, 6, "Basic ") == 0) {
        key = base64_decode(std::string_view(auth).substr(6)).value_or("");
    } else if (auth.empty()) {
        key = req.get_param_value("key");
    }
    if (key.empty()) return false;
    return std::find(options_.keys.begin(), options_.keys.end(), key) != options_.keys.end();
}

bool StandinServer::check_channel_error(Response& res, const std::string& channel) {
    const auto err = store_.channel_error(channel);
    if (!err) return false;
    send_error(res, err->status_code, err->code, err->message);
    return true;
}

void StandinServer::dispatch(const Request& req, Response& res) {
    const std::string path = raw_path(req);
    if (path.size() > kMaxPathLength) {
        send_error(res, 414, 40000, "Request target too long");
        return;
    }
    const std::vector<std::string> seg = path_segments(path);
    if (!seg.empty() && seg[0] == "_control") {
        stats_.request("control");
        control(req, res, seg);
        return;
    }

    enum class Kind {
        kTime,
        kChannels,
        kStatus,
        kPresence,
        kBatchPresence,
        kPublish,
        kMessages,
        kHistory,
        kSse,
        kUnknown
    };
    Kind kind = Kind::kUnknown;
    Route route{"other", true};
    const bool get = req.method == "GET";
    const std::size_t n = seg.size();
    if (get && n == 1 && seg[0] == "time") {
        kind = Kind::kTime;
        route = {"GET /time", false};
    } else if (get && n == 1 && seg[0] == "channels") {
        kind = Kind::kChannels;
        route.endpoint = "GET /channels";
    } else if (get && n == 2 && seg[0] == "channels") {
        kind = Kind::kStatus;
        route.endpoint = "GET /channels/:id";
    } else if (get && n == 3 && seg[0] == "channels" && seg[2] == "presence") {
        kind = Kind::kPresence;
        route.endpoint = "GET /channels/:id/presence";
    } else if (get && n == 1 && seg[0] == "presence") {
        kind = Kind::kBatchPresence;
        route.endpoint = "GET /presence";
    } else if (req.method == "POST" && n == 3 && seg[0] == "channels" && seg[2] == "messages") {
        kind = Kind::kPublish;
        route.endpoint = "POST /channels/:id/messages";
    } else if (get && n == 3 && seg[0] == "channels" && seg[2] == "messages") {
        kind = Kind::kMessages;
        route.endpoint = "GET /channels/:id/messages";
    } else if (get && n == 3 && seg[0] == "channels" && seg[2] == "history") {
        kind = Kind::kHistory;
        route.endpoint = "GET /channels/:id/history";
    } else if (get && n == 1 && (seg[0] == "sse" || seg[0] == "event-stream")) {
        kind = Kind::kSse;
        route.endpoint = "GET /sse";
    }
    stats_.request(route.endpoint);

    std::optional<Fault> fault = faults_.take(req.method, req.path);
    if (fault) {
        stats_.add("faults", "served");
        stats_.add("faults", route.endpoint);
        if (!sleep_unless_stopping(fault->delay_ms)) {
            send_error(res, 503, 50300, "ably-standin is shutting down");
            return;
        }
        if (fault->drop && kind != Kind::kSse) {
            shutdown_connections(req.local_port, req.remote_port);
            res.status = 500;
            res.set_content("dropped", "text/plain");
            return;
        }
        if (fault->status != 0) {
            if (fault->retry_after >= 0) {
                res.set_header("Retry-After", std::to_string(fault->retry_after));
            }
            send_error(res, fault->status, fault->code, fault->message);
            return;
        }
    }
    if (kind == Kind::kUnknown) {
        send_error(res, 404, 40400, "No such endpoint in ably-standin: " + req.method + " " + path);
        return;
    }
    if (route.auth && !authorized(req)) {
        stats_.add("auth", "rejected");
        send_error(res, 401, 40101,
                   "Invalid credentials (ably-standin accepts only its --key values)");
        return;
    }
    const std::string channel = n >= 2 ? seg[1] : std::string();
    switch (kind) {
        case Kind::kTime:
            handle_time(req, res);
            return;
        case Kind::kChannels:
            handle_channels(req, res);
            return;
        case Kind::kStatus:
            handle_channel_status(res, channel);
            return;
        case Kind::kPresence:
            handle_presence(req, res, channel);
            return;
        case Kind::kBatchPresence:
            handle_batch_presence(req, res);
            return;
        case Kind::kPublish:
            handle_publish(req, res, channel);
            return;
        case Kind::kMessages:
            handle_history(req, res, channel, "messages");
            return;
        case Kind::kHistory:
            handle_history(req, res, channel, "history");
            return;
        case Kind::kSse:
            handle_sse(req, res, fault && fault->drop ? fault : std::nullopt);
            return;
        case Kind::kUnknown:
            break;
    }
    send_error(res, 404, 40400, "No such endpoint in ably-standin: " + req.method + " " + path);
}

// ---- Ably endpoints ------------------------------------------------------------------------

void StandinServer::handle_time(const Request&, Response& res) {
    send_json(res, 200, "[" + std::to_string(now_ms()) + "]");
}

namespace {

// `limit` within [1, cap]; nullopt (after an error answer) when it is not a number.
std::optional<std::size_t> read_limit(const httplib::Request& req, std::size_t cap) {
    const auto text = param(req, "limit");
    if (!text) return std::min<std::size_t>(kDefaultLimit, cap);
    const auto n = parse_int(*text);
    if (!n) return std::nullopt;
    return std::clamp<std::size_t>(static_cast<std::size_t>(*n), 1, cap);
}

}  // namespace

void StandinServer::handle_channels(const Request& req, Response& res) {
    const auto limit = read_limit(req, options_.page_cap);
    if (!limit) {
        send_error(res, 400, 40003, "Invalid limit parameter");
        return;
    }
    const std::string prefix = req.get_param_value("prefix");
    std::string by = req.get_param_value("by");
    if (by.empty()) by = protocol_version(req) >= 3 ? "id" : "value";
    if (by != "id" && by != "value") {
        send_error(res, 400, 40003, "Invalid by parameter (id or value)");
        return;
    }
    const std::string cursor = req.get_param_value("cursor");
    const EnumerationPage page = enumerator_.page(prefix, *limit, cursor);
    if (page.status != 200) {
        send_error(res, page.status, page.code, page.message);
        return;
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const std::string& name : page.names) {
        if (by == "id") {
            write_string(w, name);
            continue;
        }
        const ChannelSummary s = store_.summary(name);
        w.StartObject();
        w.Key("channelId");
        write_string(w, name);
        w.Key("name");
        write_string(w, name);
        w.Key("status");
        w.StartObject();
        w.Key("isActive");
        w.Bool(true);
        w.Key("occupancy");
        w.StartObject();
        w.Key("metrics");
        w.StartObject();
        w.Key("connections");
        w.Uint64(s.connections);
        w.Key("presenceConnections");
        w.Uint64(s.connections);
        w.Key("presenceMembers");
        w.Uint64(s.members);
        w.Key("presenceSubscribers");
        w.Uint64(s.connections);
        w.Key("publishers");
        w.Uint64(0);
        w.Key("subscribers");
        w.Uint64(s.connections);
        w.EndObject();
        w.EndObject();
        w.EndObject();
        w.EndObject();
    }
    w.EndArray();
    LinkParams params{{"limit", std::to_string(*limit)}, {"by", by}};
    if (!prefix.empty()) params.emplace_back("prefix", prefix);
    set_links(res, "channels", params, cursor, page.next_cursor);
    send_json(res, 200, {buf.GetString(), buf.GetSize()});
}

void StandinServer::handle_channel_status(Response& res, const std::string& channel) {
    if (check_channel_error(res, channel)) return;
    const ChannelSummary s = store_.summary(channel);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("channelId");
    write_string(w, channel);
    w.Key("name");
    write_string(w, channel);
    w.Key("status");
    w.StartObject();
    w.Key("isActive");
    w.Bool(true);
    w.Key("occupancy");
    w.StartObject();
    w.Key("metrics");
    w.StartObject();
    w.Key("connections");
    w.Uint64(s.connections);
    w.Key("presenceConnections");
    w.Uint64(s.connections);
    w.Key("presenceMembers");
    w.Uint64(s.members);
    w.Key("presenceSubscribers");
    w.Uint64(s.connections);
    w.Key("publishers");
    w.Uint64(0);
    w.Key("subscribers");
    w.Uint64(s.connections);
    w.EndObject();
    w.EndObject();
    w.EndObject();
    w.EndObject();
    send_json(res, 200, {buf.GetString(), buf.GetSize()});
}

void StandinServer::handle_presence(const Request& req, Response& res, const std::string& channel) {
    if (check_channel_error(res, channel)) return;
    const auto limit = read_limit(req, options_.page_cap);
    if (!limit) {
        send_error(res, 400, 40003, "Invalid limit parameter");
        return;
    }
    const auto client_id = param(req, "clientId");
    const auto connection_id = param(req, "connectionId");
    const std::string cursor = req.get_param_value("cursor");
    std::optional<std::pair<std::string, std::string>> after;
    if (!cursor.empty()) {
        const auto raw = base64_decode(cursor);
        const auto nl = raw ? raw->find('\n') : std::string::npos;
        if (nl == std::string::npos) {
            send_error(res, 400, 40003, "Invalid cursor");
            return;
        }
        after.emplace(raw->substr(0, nl), raw->substr(nl + 1));
    }
    const std::vector<PresenceMember> members = store_.presence(channel);
    std::vector<const PresenceMember*> selected;
    for (const PresenceMember& m : members) {
        if (client_id && m.client_id != *client_id) continue;
        if (connection_id && m.connection_id != *connection_id) continue;
        if (after && std::make_pair(m.connection_id, m.client_id) <= *after) continue;
        selected.push_back(&m);
    }
    std::string next_cursor;
    if (selected.size() > *limit) {
        selected.resize(*limit);
        next_cursor =
            base64url_encode(selected.back()->connection_id + "\n" + selected.back()->client_id);
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const PresenceMember* m : selected) write_member(w, *m);
    w.EndArray();
    LinkParams params{{"limit", std::to_string(*limit)}};
    if (client_id) params.emplace_back("clientId", *client_id);
    if (connection_id) params.emplace_back("connectionId", *connection_id);
    set_links(res, "presence", params, cursor, next_cursor);
    send_json(res, 200, {buf.GetString(), buf.GetSize()});
}

void StandinServer::handle_batch_presence(const Request& req, Response& res) {
    auto list = param(req, "channels");
    if (!list) list = param(req, "channel");
    if (!list || list->empty()) {
        send_error(res, 400, 40000, "Missing channels parameter");
        return;
    }
    const std::string separator =
        req.has_param("separator") ? req.get_param_value("separator") : ",";
    const std::vector<std::string> names = split(*list, separator);
    if (names.size() > options_.batch_presence_cap) {
        send_error(res, 400, 90010,
                   "Max number of channels permitted in a single batch presence request (" +
                       std::to_string(options_.batch_presence_cap) + ") exceeded");
        return;
    }
    const int version = protocol_version(req);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    std::size_t failures = 0;
    std::string results_json;
    {
        rapidjson::StringBuffer rbuf;
        JsonWriter r(rbuf);
        r.StartArray();
        for (const std::string& name : names) {
            r.StartObject();
            r.Key("channel");
            write_string(r, name);
            std::optional<ChannelError> err;
            if (!valid_channel_name(name)) {
                err = ChannelError{400, 40010, "Invalid channel name"};
            } else {
                err = store_.channel_error(name);
            }
            if (err) {
                ++failures;
                r.Key("error");
                write_error_info(r, err->status_code, err->code, err->message);
            } else {
                r.Key("presence");
                r.StartArray();
                for (const PresenceMember& m : store_.presence(name)) write_member(r, m);
                r.EndArray();
            }
            r.EndObject();
        }
        r.EndArray();
        results_json.assign(rbuf.GetString(), rbuf.GetSize());
    }
    if (version >= 2) {
        w.StartObject();
        w.Key("successCount");
        w.Uint64(names.size() - failures);
        w.Key("failureCount");
        w.Uint64(failures);
        w.Key("results");
        w.RawValue(results_json.data(), results_json.size(), rapidjson::kArrayType);
        w.EndObject();
        send_json(res, 200, {buf.GetString(), buf.GetSize()});
        return;
    }
    if (failures == 0) {
        send_json(res, 200, std::move(results_json));
        return;
    }
    const std::string message = "Batched response includes errors";
    w.StartObject();
    w.Key("error");
    write_error_info(w, 400, 40020, message);
    w.Key("batchResponse");
    w.RawValue(results_json.data(), results_json.size(), rapidjson::kArrayType);
    w.EndObject();
    res.set_header("X-Ably-ErrorCode", "40020");
    res.set_header("X-Ably-ErrorMessage", message);
    res.status = 400;
    res.set_content(std::string(buf.GetString(), buf.GetSize()), kJsonContentType);
    stats_.response(400, 40020);
}

void StandinServer::handle_publish(const Request& req, Response& res, const std::string& channel) {
    if (check_channel_error(res, channel)) return;
    if (req.get_header_value("Content-Type").find("msgpack") != std::string::npos) {
        send_error(res, 400, 40000,
                   "ably-standin speaks JSON only (set useBinaryProtocol to false)");
        return;
    }
    if (req.get_param_value("enveloped") == "false") {
        send_error(res, 400, 40000, "ably-standin does not support unenveloped publishing");
        return;
    }
    const std::size_t body_cap = max_body_size();
    if (req.body.size() > body_cap) {
        send_error(res, 413, 40009,
                   "Maximum message size exceeded: request body of " +
                       std::to_string(req.body.size()) + " bytes, limit " +
                       std::to_string(body_cap) + " bytes");
        return;
    }
    rapidjson::Document doc;
    std::string error;
    if (!parse_json(req.body, doc, error)) {
        send_error(res, 400, 40000, "Unable to parse request body: " + error);
        return;
    }
    std::vector<const rapidjson::Value*> items;
    if (doc.IsObject()) {
        items.push_back(&doc);
    } else if (doc.IsArray()) {
        for (const auto& v : doc.GetArray()) items.push_back(&v);
    } else {
        send_error(res, 400, 40000, "Expected a message object or an array of messages");
        return;
    }
    std::vector<StoredMessage> messages;
    messages.reserve(items.size());
    std::size_t total_size = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const rapidjson::Value& v = *items[i];
        const std::string where = "message " + std::to_string(i) + ": ";
        if (!v.IsObject()) {
            send_error(res, 400, 40013, where + "not a JSON object");
            return;
        }
        StoredMessage m;
        bool bad = false;
        std::optional<std::string> id;
        const char* field = nullptr;
        for (const auto& [key, out] :
             {std::pair<const char*, std::optional<std::string>*>{"id", &id},
              {"name", &m.name},
              {"clientId", &m.client_id},
              {"connectionId", &m.connection_id},
              {"encoding", &m.encoding}}) {
            if (const char* f = optional_string(v, key, *out, bad); f != nullptr) field = f;
        }
        if (bad) {
            send_error(res, 400, 40013, where + "field '" + field + "' must be a string");
            return;
        }
        if (id) m.id = *id;
        const rapidjson::Value* data = nullptr;
        if (const auto it = v.FindMember("data"); it != v.MemberEnd()) {
            data = &it->value;
            if (data->IsNumber() || data->IsBool()) {
                send_error(res, 400, 40013,
                           where + "invalid data type (a string, object, array or null)");
                return;
            }
            if (!data->IsNull()) m.data_json = to_json(*data);
        }
        if (const auto it = v.FindMember("extras"); it != v.MemberEnd() && !it->value.IsNull()) {
            if (!it->value.IsObject()) {
                send_error(res, 400, 40013, where + "extras must be a JSON object");
                return;
            }
            m.extras_json = to_json(it->value);
        }
        m.size = message_size(m, data);
        total_size += m.size;
        messages.push_back(std::move(m));
    }
    if (total_size > options_.max_message_size) {
        send_error(res, 413, 40009,
                   "Maximum size of messages that can be published at once exceeded (was " +
                       std::to_string(total_size) + " bytes, against a limit of " +
                       std::to_string(options_.max_message_size) + " bytes)");
        return;
    }
    if (options_.channel_publish_rate > 0) {
        const std::int64_t second = now_ms() / 1000;
        const std::lock_guard lock(mutex_);
        auto& [window, count] = channel_rates_[channel];
        if (window != second) {
            window = second;
            count = 0;
        }
        if (++count > static_cast<std::uint64_t>(options_.channel_publish_rate)) {
            send_error(res, 429, 42913,
                       "Rate limit exceeded; request rejected (channel publish rate " +
                           std::to_string(options_.channel_publish_rate) + "/s)");
            return;
        }
    }
    const PublishOutcome outcome = store_.publish(channel, std::move(messages));
    stats_.publish(channel, outcome.recorded, outcome.duplicates, total_size, req.body.size());

    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("channel");
    write_string(w, channel);
    if (!outcome.ids.empty()) {
        w.Key("messageId");
        write_string(w, outcome.ids.front());
    }
    w.Key("messageIds");
    w.StartArray();
    for (const std::string& id : outcome.ids) write_string(w, id);
    w.EndArray();
    w.Key("serials");
    w.StartArray();
    for (const std::string& s : outcome.serials) write_string(w, s);
    w.EndArray();
    w.EndObject();
    send_json(res, 201, {buf.GetString(), buf.GetSize()});
}

void StandinServer::handle_history(const Request& req,
                                   Response& res,
                                   const std::string& channel,
                                   const std::string& link_name) {
    if (check_channel_error(res, channel)) return;
    const auto limit = read_limit(req, options_.page_cap);
    if (!limit) {
        send_error(res, 400, 40003, "Invalid limit parameter");
        return;
    }
    const std::string direction =
        req.has_param("direction") ? req.get_param_value("direction") : "backwards";
    if (direction != "backwards" && direction != "forwards") {
        send_error(res, 400, 40003, "Invalid direction parameter (backwards or forwards)");
        return;
    }
    std::int64_t start = 0;
    std::int64_t end = std::numeric_limits<std::int64_t>::max();
    for (const auto& [name, out] :
         {std::pair<const char*, std::int64_t*>{"start", &start}, {"end", &end}}) {
        if (!req.has_param(name)) continue;
        const auto v = parse_int(req.get_param_value(name));
        if (!v) {
            send_error(res, 400, 40003, std::string("Invalid ") + name + " parameter");
            return;
        }
        *out = *v;
    }
    if (start > end) {
        send_error(res, 400, 40003, "start must not be after end");
        return;
    }
    const std::string cursor = req.get_param_value("cursor");
    std::optional<std::uint64_t> cursor_seq;
    if (!cursor.empty()) {
        const auto raw = base64_decode(cursor);
        const auto seq = raw ? parse_int(*raw) : std::nullopt;
        if (!seq) {
            send_error(res, 400, 40003, "Invalid cursor");
            return;
        }
        cursor_seq = static_cast<std::uint64_t>(*seq);
    }
    std::vector<MessagePtr> items =
        store_.history(channel, direction == "backwards", cursor_seq, start, end, *limit + 1);
    std::string next;
    if (items.size() > *limit) {
        items.resize(*limit);
        next = base64url_encode(std::to_string(items.back()->seq));
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const MessagePtr& m : items) write_message(w, *m, nullptr);
    w.EndArray();
    LinkParams params{{"limit", std::to_string(*limit)}, {"direction", direction}};
    if (req.has_param("start")) params.emplace_back("start", std::to_string(start));
    if (req.has_param("end")) params.emplace_back("end", std::to_string(end));
    set_links(res, link_name, params, cursor, next);
    send_json(res, 200, {buf.GetString(), buf.GetSize()});
}

void StandinServer::handle_sse(const Request& req, Response& res, std::optional<Fault> cut) {
    if (!req.has_param("v")) {
        send_error(res, 400, 40000, "Missing v parameter (the protocol version, e.g. 1.2)");
        return;
    }
    auto list = param(req, "channels");
    if (!list) list = param(req, "channel");
    if (!list || list->empty()) {
        send_error(res, 400, 40000, "Missing channels parameter");
        return;
    }
    const std::string separator =
        req.has_param("separator") ? req.get_param_value("separator") : ",";
    auto session = std::make_shared<SseSession>();
    session->enveloped = req.get_param_value("enveloped") != "false";
    std::optional<RewindSpec> global_rewind;
    if (req.has_param("rewind")) {
        global_rewind = parse_rewind(req.get_param_value("rewind"));
        if (!global_rewind) {
            send_error(res, 400, 40000, "Invalid rewind parameter");
            return;
        }
    }
    std::vector<std::pair<std::string, std::optional<RewindSpec>>> rewinds;
    bool echo_qualified = true;
    {
        const std::lock_guard lock(mutex_);
        echo_qualified = sse_echo_qualified_;
        session->drop_generation = sse_drop_generation_;
    }
    for (const std::string& requested : split(*list, separator)) {
        const SseChannel c = parse_sse_channel(requested);
        if (!c.valid) {
            send_error(res, 400, 40010, "Invalid channel name: " + requested);
            return;
        }
        if (const auto err = store_.channel_error(c.base)) {
            send_error(res, err->status_code, err->code, err->message);
            return;
        }
        std::optional<RewindSpec> rewind = global_rewind;
        if (c.rewind) {
            rewind = parse_rewind(*c.rewind);
            if (!rewind) {
                send_error(res, 400, 40000, "Invalid rewind qualifier in " + requested);
                return;
            }
        }
        session->channels.insert(c.base);
        session->echo[c.base] = echo_qualified ? c.requested : c.base;
        rewinds.emplace_back(c.base, rewind);
    }

    session->instance = "standin" + std::to_string(port_);
    const std::string last_event = req.has_param("lastEvent")
                                       ? req.get_param_value("lastEvent")
                                       : req.get_header_value("Last-Event-ID");
    std::optional<std::uint64_t> resume;
    if (!last_event.empty()) {
        const auto colon = last_event.rfind(':');
        if (colon != std::string::npos && last_event.substr(0, colon) == session->instance) {
            if (const auto seq = parse_int(std::string_view(last_event).substr(colon + 1))) {
                resume = static_cast<std::uint64_t>(*seq);
            }
        }
        stats_.add("sse", resume ? "resumed" : "unknown_last_event");
    }
    if (resume) {
        session->position = *resume;
    } else {
        session->position = store_.last_seq();
        std::vector<MessagePtr> backlog;
        for (const auto& [name, rewind] : rewinds) {
            if (!rewind || rewind->count == 0) continue;
            for (const MessagePtr& m : store_.latest(name, rewind->count, rewind->since_ms)) {
                if (m->seq <= session->position) backlog.push_back(m);
            }
        }
        std::sort(backlog.begin(), backlog.end(),
                  [](const MessagePtr& a, const MessagePtr& b) { return a->seq < b->seq; });
        backlog.erase(std::unique(backlog.begin(), backlog.end()), backlog.end());
        session->backlog.assign(backlog.begin(), backlog.end());
    }
    if (cut) session->cut_at = Clock::now() + std::chrono::milliseconds(cut->delay_ms);
    session->next_keepalive = Clock::now();  // an immediate keepalive flushes the headers

    stats_.add("sse", "opened");
    stats_.add("sse", "open");
    stats_.response(200, 0);
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, session](std::size_t, httplib::DataSink& sink) -> bool {
            const std::uint64_t generation = store_.wake_generation();
            if (stopping_) {
                sink.done();
                return true;
            }
            std::string drop_error;
            bool dropped = false;
            int keepalive_ms = 0;
            {
                const std::lock_guard lock(mutex_);
                keepalive_ms = sse_keepalive_ms_;
                if (sse_drop_generation_ != session->drop_generation) {
                    dropped = true;
                    drop_error = sse_drop_error_;
                }
            }
            if (dropped || (session->cut_at && Clock::now() >= *session->cut_at)) {
                stats_.add("sse", "cut");
                if (drop_error.empty()) return false;  // abrupt: no terminating chunk
                const std::string event = "event: error\ndata: " + drop_error + "\n\n";
                if (sink.write(event.data(), event.size())) sink.done();
                return true;
            }
            std::uint64_t scanned = session->position;
            std::vector<MessagePtr> fresh =
                store_.messages_after(session->position, session->channels, kSseBatch, scanned);
            if (fresh.empty() && session->backlog.empty()) {
                auto deadline = std::min(session->next_keepalive,
                                         Clock::now() + std::chrono::milliseconds(250));
                if (session->cut_at) deadline = std::min(deadline, *session->cut_at);
                store_.wait_for_news(scanned, generation, deadline);
                fresh = store_.messages_after(scanned, session->channels, kSseBatch, scanned);
            }
            session->position = scanned;
            std::string out;
            std::size_t events = 0;
            const auto append = [&](const MessagePtr& m) {
                out += "id: " + session->instance + ":" + std::to_string(m->seq) + "\n";
                out += "event: message\n";
                std::string data;
                if (session->enveloped) {
                    rapidjson::StringBuffer buf;
                    JsonWriter w(buf);
                    write_message(w, *m, &session->echo[m->channel]);
                    data.assign(buf.GetString(), buf.GetSize());
                } else {
                    rapidjson::Document d;
                    std::string err;
                    if (!m->data_json.empty() && parse_json(m->data_json, d, err) && d.IsString()) {
                        data.assign(d.GetString(), d.GetStringLength());
                    } else {
                        data = m->data_json;
                    }
                }
                for (const std::string& line : split(data, "\n")) out += "data: " + line + "\n";
                out += "\n";
                ++events;
            };
            for (const MessagePtr& m : session->backlog) append(m);
            session->backlog.clear();
            for (const MessagePtr& m : fresh) append(m);
            const auto now = Clock::now();
            if (out.empty() && now >= session->next_keepalive) {
                out = ":keepalive\n\n";
                stats_.add("sse", "keepalives");
            }
            if (out.empty()) return true;
            session->next_keepalive = now + std::chrono::milliseconds(keepalive_ms);
            if (events > 0) stats_.add("sse", "events", static_cast<std::int64_t>(events));
            return sink.write(out.data(), out.size());
        },
        [this](bool) { stats_.add("sse", "open", -1); });
}

// ---- control API ---------------------------------------------------------------------------

void StandinServer::control(const Request& req,
                            Response& res,
                            const std::vector<std::string>& seg) {
    const std::string what = seg.size() >= 2 ? seg[1] : std::string();
    const std::string& m = req.method;
    if (seg.size() == 2 && what == "presence" && (m == "POST" || m == "DELETE")) {
        control_presence(req, res);
    } else if (seg.size() == 2 && what == "channels" && m == "POST") {
        control_channels(req, res);
    } else if (seg.size() == 2 && what == "faults" && (m == "POST" || m == "DELETE")) {
        control_faults(req, res);
    } else if (seg.size() == 2 && what == "enumeration" && m == "POST") {
        control_enumeration(req, res);
    } else if (seg.size() == 2 && what == "channel_errors" && (m == "POST" || m == "DELETE")) {
        control_channel_errors(req, res);
    } else if (what == "sse" && m == "POST" && (seg.size() == 2 || seg[2] == "drop")) {
        control_sse(req, res, seg.size() == 3);
    } else if (seg.size() == 2 && what == "published" && m == "GET") {
        control_published(req, res);
    } else if (seg.size() == 2 && what == "stats" && m == "GET") {
        res.status = 200;
        res.set_content(stats_.json(), kJsonContentType);
    } else if (seg.size() == 2 && what == "health" && m == "GET") {
        send_json(res, 200, "{\"ok\":true,\"port\":" + std::to_string(port_) + "}");
    } else if (seg.size() == 2 && what == "reset" && m == "POST") {
        store_.reset();
        faults_.clear();
        enumerator_.reset();
        {
            const std::lock_guard lock(mutex_);
            sse_keepalive_ms_ = options_.sse_keepalive_ms;
            sse_echo_qualified_ = true;
            channel_rates_.clear();
        }
        send_json(res, 200, "{\"ok\":true}");
    } else if (seg.size() == 2 && what == "shutdown" && m == "POST") {
        std::function<void()> callback;
        {
            const std::lock_guard lock(mutex_);
            callback = std::move(on_shutdown_);
            on_shutdown_ = nullptr;
        }
        send_json(res, 200, "{\"ok\":true}");
        res.set_header("Connection", "close");
        if (callback) callback();
    } else {
        send_error(res, 404, 40400, "No such control endpoint: " + m + " " + req.path);
    }
}

namespace {

// Parses a control body; answers 400 and returns false when it is not JSON.
bool control_body(const httplib::Request& req, rapidjson::Document& doc, std::string& error) {
    if (req.body.empty()) {
        doc.SetObject();
        return true;
    }
    return parse_json(req.body, doc, error);
}

std::optional<std::string> member_string(const rapidjson::Value& v, const char* key) {
    const auto it = v.FindMember(key);
    if (it == v.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

void StandinServer::control_presence(const Request& req, Response& res) {
    if (req.method == "DELETE") {
        if (req.has_param("channel")) {
            const std::string channel = req.get_param_value("channel");
            store_.clear_presence(&channel);
        } else {
            store_.clear_presence(nullptr);
        }
        send_json(res, 200, "{\"ok\":true}");
        return;
    }
    rapidjson::Document doc;
    std::string error;
    if (!control_body(req, doc, error)) {
        send_error(res, 400, 40000, error);
        return;
    }
    std::vector<const rapidjson::Value*> sets;
    if (doc.IsArray()) {
        for (const auto& v : doc.GetArray()) sets.push_back(&v);
    } else {
        sets.push_back(&doc);
    }
    struct Pending {
        std::string channel;
        std::vector<PresenceMember> members;
        bool replace = true;
    };
    std::vector<Pending> pending;
    const std::int64_t now = now_ms();
    std::uint64_t counter = 0;
    for (const rapidjson::Value* set : sets) {
        const auto channel = set->IsObject() ? member_string(*set, "channel") : std::nullopt;
        if (!channel || channel->empty()) {
            send_error(res, 400, 40000, "presence: each set needs a non-empty \"channel\"");
            return;
        }
        Pending p;
        p.channel = *channel;
        if (const auto it = set->FindMember("replace"); it != set->MemberEnd()) {
            if (!it->value.IsBool()) {
                send_error(res, 400, 40000, "presence: \"replace\" must be a boolean");
                return;
            }
            p.replace = it->value.GetBool();
        }
        const auto members = set->FindMember("members");
        if (members == set->MemberEnd() || !members->value.IsArray()) {
            send_error(res, 400, 40000, "presence: \"members\" must be an array");
            return;
        }
        for (const auto& mv : members->value.GetArray()) {
            if (!mv.IsObject()) {
                send_error(res, 400, 40000, "presence: each member must be an object");
                return;
            }
            PresenceMember m;
            const auto client_id = member_string(mv, "clientId");
            if (!client_id) {
                send_error(res, 400, 40000, "presence: each member needs a string \"clientId\"");
                return;
            }
            m.client_id = *client_id;
            m.connection_id = member_string(mv, "connectionId").value_or("standinConn");
            ++counter;
            m.id = member_string(mv, "id").value_or(m.connection_id + ":" +
                                                    std::to_string(counter) + ":0");
            m.timestamp = now;
            if (const auto it = mv.FindMember("timestamp"); it != mv.MemberEnd()) {
                if (!it->value.IsInt64()) {
                    send_error(res, 400, 40000, "presence: \"timestamp\" must be an integer");
                    return;
                }
                m.timestamp = it->value.GetInt64();
            }
            if (const auto enc = member_string(mv, "encoding")) m.encoding = enc;
            if (const auto it = mv.FindMember("data");
                it != mv.MemberEnd() && !it->value.IsNull()) {
                m.data_json = to_json(it->value);
            }
            if (const auto it = mv.FindMember("extras");
                it != mv.MemberEnd() && !it->value.IsNull()) {
                m.extras_json = to_json(it->value);
            }
            if (const auto it = mv.FindMember("action"); it != mv.MemberEnd()) {
                const auto& a = it->value;
                m.leave = (a.IsInt() && (a.GetInt() == 3 || a.GetInt() == 0)) ||
                          (a.IsString() && (std::string_view(a.GetString()) == "leave" ||
                                            std::string_view(a.GetString()) == "absent"));
            }
            p.members.push_back(std::move(m));
        }
        pending.push_back(std::move(p));
    }
    std::size_t total = 0;
    for (Pending& p : pending) {
        total += p.members.size();
        store_.set_presence(p.channel, std::move(p.members), p.replace);
    }
    send_json(res, 200, "{\"ok\":true,\"members\":" + std::to_string(total) + "}");
}

void StandinServer::control_channels(const Request& req, Response& res) {
    rapidjson::Document doc;
    std::string error;
    if (!control_body(req, doc, error)) {
        send_error(res, 400, 40000, error);
        return;
    }
    const auto names =
        doc.IsObject() ? std::as_const(doc).FindMember("names") : std::as_const(doc).MemberEnd();
    if (!doc.IsObject() || names == std::as_const(doc).MemberEnd() || !names->value.IsArray()) {
        send_error(res, 400, 40000, "channels: expected {\"names\":[...]}");
        return;
    }
    std::vector<std::string> list;
    for (const auto& v : names->value.GetArray()) {
        if (!v.IsString() || v.GetStringLength() == 0) {
            send_error(res, 400, 40000, "channels: names must be non-empty strings");
            return;
        }
        list.emplace_back(v.GetString(), v.GetStringLength());
    }
    std::optional<bool> active = true;
    if (const auto it = std::as_const(doc).FindMember("active");
        it != std::as_const(doc).MemberEnd()) {
        if (it->value.IsNull()) {
            active.reset();
        } else if (it->value.IsBool()) {
            active = it->value.GetBool();
        } else {
            send_error(res, 400, 40000, "channels: \"active\" must be a boolean or null");
            return;
        }
    }
    store_.set_forced_active(list, active);
    send_json(res, 200, "{\"ok\":true}");
}

void StandinServer::control_faults(const Request& req, Response& res) {
    if (req.method == "DELETE") {
        faults_.clear();
        send_json(res, 200, "{\"ok\":true}");
        return;
    }
    rapidjson::Document doc;
    std::string error;
    if (!control_body(req, doc, error)) {
        send_error(res, 400, 40000, error);
        return;
    }
    std::vector<Fault> parsed;
    const auto add = [&](const rapidjson::Value& v) {
        auto f = Fault::parse(v, error);
        if (!f) return false;
        parsed.push_back(std::move(*f));
        return true;
    };
    bool ok = true;
    if (doc.IsArray()) {
        for (const auto& v : doc.GetArray()) ok = ok && add(v);
    } else {
        ok = add(doc);
    }
    if (!ok) {
        send_error(res, 400, 40000, "faults: " + error);
        return;
    }
    for (Fault& f : parsed) faults_.add(std::move(f));
    send_json(res, 200, "{\"ok\":true,\"pending\":" + std::to_string(faults_.pending()) + "}");
}

void StandinServer::control_enumeration(const Request& req, Response& res) {
    rapidjson::Document doc;
    std::string error;
    if (!control_body(req, doc, error) || !doc.IsObject()) {
        send_error(res, 400, 40000, error.empty() ? "enumeration: expected an object" : error);
        return;
    }
    EnumerationSettings s;
    const auto boolean = [&](const char* key, bool& out) {
        const auto it = std::as_const(doc).FindMember(key);
        if (it == std::as_const(doc).MemberEnd()) return true;
        if (!it->value.IsBool()) return false;
        out = it->value.GetBool();
        return true;
    };
    const auto integer = [&](const char* key, std::int64_t lo, std::int64_t hi, auto& out) {
        const auto it = std::as_const(doc).FindMember(key);
        if (it == std::as_const(doc).MemberEnd()) return true;
        if (!it->value.IsInt64() || it->value.GetInt64() < lo || it->value.GetInt64() > hi) {
            return false;
        }
        out = static_cast<std::remove_reference_t<decltype(out)>>(it->value.GetInt64());
        return true;
    };
    bool ok = boolean("single_flight", s.single_flight) && boolean("empty_pages", s.empty_pages) &&
              integer("invalidate_after_pages", 0, 1'000'000, s.invalidate_after_pages) &&
              integer("invalidate_times", -1, 1'000'000, s.invalidate_times) &&
              integer("page_size_cap", 0, 1'000'000, s.page_size_cap) &&
              integer("walk_timeout_ms", 1, 3'600'000, s.walk_timeout_ms) &&
              integer("seed", 0, std::numeric_limits<std::int64_t>::max(), s.seed);
    if (const auto it = std::as_const(doc).FindMember("duplicate_rate");
        ok && it != std::as_const(doc).MemberEnd()) {
        ok = it->value.IsNumber() && it->value.GetDouble() >= 0.0 && it->value.GetDouble() <= 1.0;
        if (ok) s.duplicate_rate = it->value.GetDouble();
    }
    if (!ok) {
        send_error(res, 400, 40000, "enumeration: a setting has the wrong type or range");
        return;
    }
    enumerator_.configure(s);
    send_json(res, 200, "{\"ok\":true}");
}

void StandinServer::control_channel_errors(const Request& req, Response& res) {
    if (req.method == "DELETE") {
        store_.clear_channel_errors();
        send_json(res, 200, "{\"ok\":true}");
        return;
    }
    rapidjson::Document doc;
    std::string error;
    if (!control_body(req, doc, error) || !doc.IsObject()) {
        send_error(res, 400, 40000, error.empty() ? "channel_errors: expected an object" : error);
        return;
    }
    const auto channel = member_string(doc, "channel");
    if (!channel || channel->empty()) {
        send_error(res, 400, 40000, "channel_errors: needs a non-empty \"channel\"");
        return;
    }
    ChannelError e;
    if (const auto it = std::as_const(doc).FindMember("statusCode");
        it != std::as_const(doc).MemberEnd()) {
        if (!it->value.IsInt() || it->value.GetInt() < 400 || it->value.GetInt() > 599) {
            send_error(res, 400, 40000, "channel_errors: \"statusCode\" must be 400-599");
            return;
        }
        e.status_code = it->value.GetInt();
    }
    e.code = e.status_code * 100;
    if (e.status_code == 401) e.code = 40160;
    if (const auto it = std::as_const(doc).FindMember("code");
        it != std::as_const(doc).MemberEnd()) {
        if (!it->value.IsInt() || it->value.GetInt() < 0) {
            send_error(res, 400, 40000, "channel_errors: \"code\" must be a positive integer");
            return;
        }
        e.code = it->value.GetInt();
    }
    e.message = member_string(doc, "message").value_or("Channel error injected by ably-standin");
    store_.set_channel_error(*channel, std::move(e));
    send_json(res, 200, "{\"ok\":true}");
}

void StandinServer::control_sse(const Request& req, Response& res, bool drop) {
    rapidjson::Document doc;
    std::string error;
    if (!control_body(req, doc, error) || !doc.IsObject()) {
        send_error(res, 400, 40000, error.empty() ? "sse: expected an object" : error);
        return;
    }
    if (drop) {
        std::string event;
        if (const auto it = std::as_const(doc).FindMember("error");
            it != std::as_const(doc).MemberEnd()) {
            const auto& e = it->value;
            if (!e.IsObject()) {
                send_error(res, 400, 40000, "sse/drop: \"error\" must be an ErrorInfo object");
                return;
            }
            const int status = e.HasMember("statusCode") && e["statusCode"].IsInt()
                                   ? e["statusCode"].GetInt()
                                   : 500;
            const int code = e.HasMember("code") && e["code"].IsInt() ? e["code"].GetInt() : 50000;
            const std::string message =
                member_string(e, "message").value_or("Stream ended by ably-standin");
            rapidjson::StringBuffer buf;
            JsonWriter w(buf);
            write_error_info(w, status, code, message);
            event.assign(buf.GetString(), buf.GetSize());
        }
        {
            const std::lock_guard lock(mutex_);
            ++sse_drop_generation_;
            sse_drop_error_ = std::move(event);
        }
        store_.wake_all();
        send_json(res, 200, "{\"ok\":true}");
        return;
    }
    {
        const std::lock_guard lock(mutex_);
        if (const auto it = std::as_const(doc).FindMember("keepalive_ms");
            it != std::as_const(doc).MemberEnd()) {
            if (!it->value.IsInt() || it->value.GetInt() < 10) {
                send_error(res, 400, 40000, "sse: \"keepalive_ms\" must be an integer >= 10");
                return;
            }
            sse_keepalive_ms_ = it->value.GetInt();
        }
        if (const auto it = std::as_const(doc).FindMember("echo_qualified");
            it != std::as_const(doc).MemberEnd()) {
            if (!it->value.IsBool()) {
                send_error(res, 400, 40000, "sse: \"echo_qualified\" must be a boolean");
                return;
            }
            sse_echo_qualified_ = it->value.GetBool();
        }
    }
    send_json(res, 200, "{\"ok\":true}");
}

void StandinServer::control_published(const Request& req, Response& res) {
    if (!req.has_param("channel")) {
        send_error(res, 400, 40000, "published: needs ?channel=NAME");
        return;
    }
    std::string out;
    for (const MessagePtr& m : store_.channel_messages(req.get_param_value("channel"))) {
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        w.Key("id");
        write_string(w, m->id);
        if (m->name) {
            w.Key("name");
            write_string(w, *m->name);
        }
        if (!m->data_json.empty()) {
            w.Key("data");
            w.RawValue(m->data_json.data(), m->data_json.size(), rapidjson::kStringType);
        }
        if (m->encoding) {
            w.Key("encoding");
            write_string(w, *m->encoding);
        }
        w.Key("timestamp");
        w.Int64(m->timestamp);
        if (m->client_id) {
            w.Key("clientId");
            write_string(w, *m->client_id);
        }
        if (!m->extras_json.empty()) {
            w.Key("extras");
            w.RawValue(m->extras_json.data(), m->extras_json.size(), rapidjson::kObjectType);
        }
        w.EndObject();
        out.append(buf.GetString(), buf.GetSize());
        out += '\n';
    }
    res.status = 200;
    res.set_content(std::move(out), "application/x-ndjson");
}

}  // namespace presenceagg::standin

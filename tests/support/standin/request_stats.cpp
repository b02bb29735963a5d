// SPDX-License-Identifier: MIT
#include "request_stats.hpp"

#include "json_util.hpp"

namespace presenceagg::standin {

void RequestStats::Rate::tick(std::int64_t now_second) {
    ++total;
    if (now_second != second) {
        second = now_second;
        in_second = 0;
    }
    ++in_second;
    if (in_second > max_per_second) max_per_second = in_second;
}

void RequestStats::request(const std::string& endpoint) {
    const std::int64_t second = now_ms() / 1000;
    const std::lock_guard lock(mutex_);
    endpoints_[endpoint].tick(second);
}

void RequestStats::response(int status, int code) {
    const std::lock_guard lock(mutex_);
    ++statuses_[status];
    if (code != 0) ++codes_[code];
}

std::uint64_t RequestStats::publish(const std::string& channel,
                                    std::size_t recorded,
                                    std::size_t duplicates,
                                    std::size_t message_bytes,
                                    std::size_t body_bytes) {
    const std::int64_t second = now_ms() / 1000;
    const std::lock_guard lock(mutex_);
    Published& p = published_[channel];
    p.messages += recorded;
    p.duplicates += duplicates;
    p.bytes += message_bytes;
    p.body_bytes += body_bytes;
    if (body_bytes > p.max_body_bytes) p.max_body_bytes = body_bytes;
    p.requests.tick(second);
    return p.requests.in_second;
}

void RequestStats::add(const std::string& group, const std::string& name, std::int64_t delta) {
    const std::lock_guard lock(mutex_);
    groups_[group][name] += delta;
}

std::string RequestStats::json() const {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    const std::lock_guard lock(mutex_);
    w.StartObject();
    w.Key("requests");
    w.StartObject();
    for (const auto& [name, r] : endpoints_) {
        write_string(w, name);
        w.Uint64(r.total);
    }
    w.EndObject();
    w.Key("max_rate_per_second");
    w.StartObject();
    for (const auto& [name, r] : endpoints_) {
        write_string(w, name);
        w.Uint64(r.max_per_second);
    }
    w.EndObject();
    w.Key("responses_by_status");
    w.StartObject();
    for (const auto& [status, n] : statuses_) {
        write_string(w, std::to_string(status));
        w.Uint64(n);
    }
    w.EndObject();
    w.Key("errors_by_code");
    w.StartObject();
    for (const auto& [code, n] : codes_) {
        write_string(w, std::to_string(code));
        w.Uint64(n);
    }
    w.EndObject();
    w.Key("published");
    w.StartObject();
    for (const auto& [channel, p] : published_) {
        write_string(w, channel);
        w.StartObject();
        w.Key("requests");
        w.Uint64(p.requests.total);
        w.Key("max_requests_per_second");
        w.Uint64(p.requests.max_per_second);
        w.Key("messages");
        w.Uint64(p.messages);
        w.Key("duplicates");
        w.Uint64(p.duplicates);
        w.Key("bytes");
        w.Uint64(p.bytes);
        w.Key("body_bytes");
        w.Uint64(p.body_bytes);
        w.Key("max_body_bytes");
        w.Uint64(p.max_body_bytes);
        w.EndObject();
    }
    w.EndObject();
    for (const auto& [group, counters] : groups_) {
        write_string(w, group);
        w.StartObject();
        for (const auto& [name, n] : counters) {
            write_string(w, name);
            w.Int64(n);
        }
        w.EndObject();
    }
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

}  // namespace presenceagg::standin

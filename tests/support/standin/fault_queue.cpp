// SPDX-License-Identifier: MIT
#include "fault_queue.hpp"

namespace presenceagg::standin {

namespace {

bool read_int(
    const rapidjson::Value& v, const char* key, int lo, int hi, int& out, std::string& error) {
    const auto it = v.FindMember(key);
    if (it == v.MemberEnd() || it->value.IsNull()) return true;
    if (!it->value.IsInt() || it->value.GetInt() < lo || it->value.GetInt() > hi) {
        error = std::string("fault field '") + key + "' must be an integer in [" +
                std::to_string(lo) + ", " + std::to_string(hi) + "]";
        return false;
    }
    out = it->value.GetInt();
    return true;
}

}  // namespace

std::optional<Fault> Fault::parse(const rapidjson::Value& v, std::string& error) {
    if (!v.IsObject()) {
        error = "a fault must be a JSON object";
        return std::nullopt;
    }
    Fault f;
    if (const auto it = v.FindMember("method"); it != v.MemberEnd()) {
        if (!it->value.IsString()) {
            error = "fault field 'method' must be a string";
            return std::nullopt;
        }
        f.method = it->value.GetString();
    }
    f.path_pattern = ".*";
    if (const auto it = v.FindMember("path"); it != v.MemberEnd()) {
        if (!it->value.IsString()) {
            error = "fault field 'path' must be a string (a regex)";
            return std::nullopt;
        }
        f.path_pattern = it->value.GetString();
    }
    try {
        f.path = std::regex(f.path_pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        error = std::string("fault field 'path' is not a valid regex: ") + e.what();
        return std::nullopt;
    }
    if (!read_int(v, "status", 0, 599, f.status, error) ||
        !read_int(v, "code", 0, 99999, f.code, error) ||
        !read_int(v, "times", -1, 1'000'000, f.times, error) ||
        !read_int(v, "delay_ms", 0, 600'000, f.delay_ms, error) ||
        !read_int(v, "retry_after", -1, 86'400, f.retry_after, error)) {
        return std::nullopt;
    }
    if (f.times == 0) {
        error = "fault field 'times' must be positive, or -1 for always";
        return std::nullopt;
    }
    if (f.status != 0 && f.status < 100) {
        error = "fault field 'status' must be an HTTP status (100-599), or 0";
        return std::nullopt;
    }
    if (const auto it = v.FindMember("message"); it != v.MemberEnd() && it->value.IsString()) {
        f.message = it->value.GetString();
    }
    if (const auto it = v.FindMember("drop"); it != v.MemberEnd()) {
        if (!it->value.IsBool()) {
            error = "fault field 'drop' must be a boolean";
            return std::nullopt;
        }
        f.drop = it->value.GetBool();
    }
    if (f.status != 0 && f.code == 0) {
        f.code = f.status == 429 ? 42910 : f.status >= 500 ? 50000 : f.status * 100;
    }
    if (f.message.empty()) f.message = "Fault injected by ably-standin";
    return f;
}

void FaultQueue::add(Fault fault) {
    const std::lock_guard lock(mutex_);
    faults_.push_back(std::move(fault));
}

void FaultQueue::clear() {
    const std::lock_guard lock(mutex_);
    faults_.clear();
}

std::optional<Fault> FaultQueue::take(std::string_view method, const std::string& path) {
    const std::lock_guard lock(mutex_);
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (it->method != "*" && it->method != method) continue;
        if (!std::regex_search(path, it->path)) continue;
        Fault f = *it;
        if (it->times > 0 && --it->times == 0) faults_.erase(it);
        return f;
    }
    return std::nullopt;
}

std::size_t FaultQueue::pending() const {
    const std::lock_guard lock(mutex_);
    return faults_.size();
}

}  // namespace presenceagg::standin

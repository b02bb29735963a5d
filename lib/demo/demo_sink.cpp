// SPDX-License-Identifier: MIT
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <presenceagg/demo.hpp>
#include <presenceagg/error.hpp>

#include "wire/json_text.hpp"

namespace presenceagg {
namespace {

constexpr std::string_view kComponent = "demo-sink";

struct FileCloser {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

struct DemoAblyRestSink::Impl {
    explicit Impl(DemoSinkConfig c)
        : config(std::move(c)) {}

    void record(std::string_view channel, std::span<const OutboundMessage> messages);

    const DemoSinkConfig config;
    mutable std::mutex mutex;
    FilePtr file;                // guarded by mutex
    DemoSinkCounters counters;   // guarded by mutex
    std::uint64_t attempts = 0;  // guarded by mutex
    std::string line;            // guarded by mutex; reused buffer
};

void DemoAblyRestSink::Impl::record(std::string_view channel,
                                    std::span<const OutboundMessage> messages) {
    const std::int64_t now = config.clock ? config.clock() : wall_clock_ms();
    line.clear();
    for (const OutboundMessage& m : messages) {
        line += R"({"channel":)";
        detail::append_json_string(line, channel);
        line += R"(,"id":)";
        detail::append_json_string(line, m.id);
        line += R"(,"name":)";
        detail::append_json_string(line, m.name);
        // As Ably stores it: the JSON text as a string, with encoding "json".
        line += R"(,"data":)";
        detail::append_json_string(line, m.data);
        line += R"(,"encoding":"json","timestamp":)";
        detail::append_json_int(line, now);
        line += "}\n";
    }
    const bool written = std::fwrite(line.data(), 1, line.size(), file.get()) == line.size() &&
                         std::fflush(file.get()) == 0;
    if (!written) {
        if (counters.write_errors++ == 0) {
            config.log.log(LogLevel::Warn, kComponent, "cannot write the record file",
                           {{"path", config.record_path}, {"error", std::strerror(errno)}});
        }
        std::clearerr(file.get());
    }
}

DemoAblyRestSink::DemoAblyRestSink(DemoSinkConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {
    const std::string& path = impl_->config.record_path;
    if (!path.empty()) {
        impl_->file.reset(std::fopen(path.c_str(), impl_->config.truncate ? "wb" : "ab"));
        if (!impl_->file) {
            throw Error(Errc::Io, "DemoSinkConfig.record_path: cannot open '" + path +
                                      "': " + std::strerror(errno));
        }
    }
}

DemoAblyRestSink::~DemoAblyRestSink() = default;

PublishResult DemoAblyRestSink::publish(std::string_view channel,
                                        std::span<const OutboundMessage> messages) {
    Impl& im = *impl_;
    const std::lock_guard lock(im.mutex);
    auto it = im.counters.channels.find(channel);
    if (it == im.counters.channels.end()) {
        it = im.counters.channels.emplace(std::string(channel), DemoSinkChannelCounters{}).first;
    }
    DemoSinkChannelCounters& per_channel = it->second;
    ++im.attempts;
    if (im.config.fail_every > 0 && im.attempts % im.config.fail_every == 0) {
        ++per_channel.failures;
        ++im.counters.total.failures;
        PublishResult failed;
        failed.error = make_error_code(Errc::AblyServerError);
        failed.http_status = 503;
        failed.ably_error_code = 50300;
        failed.message = "injected failure (DemoSinkConfig.fail_every)";
        return failed;
    }
    std::uint64_t bytes = 0;
    for (const OutboundMessage& m : messages) bytes += m.data.size();
    for (DemoSinkChannelCounters* c : {&per_channel, &im.counters.total}) {
        ++c->requests;
        c->messages += messages.size();
        c->bytes += bytes;
    }
    if (im.file && !messages.empty()) im.record(channel, messages);
    PublishResult ok;
    ok.http_status = 201;
    return ok;
}

DemoSinkCounters DemoAblyRestSink::counters() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->counters;
}

std::unique_ptr<AblyRestSink> make_demo_sink(DemoSinkConfig config) {
    return std::make_unique<DemoAblyRestSink>(std::move(config));
}

}  // namespace presenceagg

// SPDX-License-Identifier: MIT
// ably-standin: a loopback imitation of Ably's REST API and SSE endpoint for tests.
// Prints "listening 127.0.0.1:<port>" once it accepts connections; runs until SIGTERM, SIGINT
// or POST /_control/shutdown.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include "json_util.hpp"
#include "standin_server.hpp"

namespace {

using presenceagg::standin::StandinOptions;

constexpr const char* kUsage =
    "usage: ably-standin [--port N] [--key APPID.KEYID:SECRET]... [--max-message-size N]\n"
    "                    [--max-body-size N] [--batch-presence-cap N] [--page-cap N]\n"
    "                    [--sse-keepalive-ms N] [--threads N] [--max-stored-messages N]\n"
    "                    [--channel-publish-rate N] [--verbose]\n";

bool valid_key(std::string_view key) {
    const auto dot = key.find('.');
    const auto colon = key.find(':');
    return dot != std::string_view::npos && colon != std::string_view::npos && dot > 0 &&
           colon > dot + 1 && colon + 1 < key.size();
}

// Parses argv into `out`; prints the problem and returns false on bad usage.
bool parse_args(int argc, char** argv, StandinOptions& out) {
    bool keys_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        if (arg == "--verbose") {
            out.verbose = true;
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "ably-standin: %s needs a value\n%s", argv[i], kUsage);
            return false;
        }
        const std::string value = argv[++i];
        if (arg == "--key") {
            if (!valid_key(value)) {
                std::fprintf(stderr, "ably-standin: --key must look like APPID.KEYID:SECRET\n");
                return false;
            }
            if (!keys_given) out.keys.clear();
            keys_given = true;
            out.keys.push_back(value);
            continue;
        }
        const auto n = presenceagg::standin::parse_int(value);
        if (!n) {
            std::fprintf(stderr, "ably-standin: %s needs a non-negative integer, not '%s'\n",
                         argv[i - 1], value.c_str());
            return false;
        }
        const auto size = static_cast<std::size_t>(*n);
        if (arg == "--port" && *n <= 65535) {
            out.port = static_cast<int>(*n);
        } else if (arg == "--max-message-size" && *n > 0) {
            out.max_message_size = size;
        } else if (arg == "--max-body-size") {
            out.max_body_size = size;
        } else if (arg == "--batch-presence-cap" && *n > 0) {
            out.batch_presence_cap = size;
        } else if (arg == "--page-cap" && *n > 0) {
            out.page_cap = size;
        } else if (arg == "--sse-keepalive-ms" && *n >= 10 && *n <= 3'600'000) {
            out.sse_keepalive_ms = static_cast<int>(*n);
        } else if (arg == "--threads" && *n > 0 && *n <= 1024) {
            out.threads = size;
        } else if (arg == "--max-stored-messages" && *n > 0) {
            out.max_stored_messages = size;
        } else if (arg == "--channel-publish-rate" && *n <= 1'000'000) {
            out.channel_publish_rate = static_cast<int>(*n);
        } else {
            std::fprintf(stderr, "ably-standin: unknown option or bad value: %s %s\n%s",
                         argv[i - 1], value.c_str(), kUsage);
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    StandinOptions options;
    if (!parse_args(argc, argv, options)) return 2;

    // Signals are taken synchronously by sigwait below; every thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) {
        std::perror("ably-standin: pthread_sigmask");
        return 1;
    }
    ::signal(SIGPIPE, SIG_IGN);

    try {
        presenceagg::standin::StandinServer server(options);
        const int port = server.bind();
        server.on_shutdown_request([] { ::kill(::getpid(), SIGTERM); });
        std::jthread http([&server] { server.serve(); });
        std::printf("listening 127.0.0.1:%d\n", port);
        std::fflush(stdout);

        int sig = 0;
        while (sigwait(&signals, &sig) != 0) {
        }
        server.shutdown();
        http.join();
        if (options.verbose) {
            std::fprintf(stderr, "ably-standin: stopped (%s)\n",
                         sig == SIGINT ? "SIGINT" : "SIGTERM");
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}

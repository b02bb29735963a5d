// SPDX-License-Identifier: MIT
#pragma once

/// Test helper: runs the `ably-standin` program (a loopback imitation of Ably's REST API and
/// SSE endpoint) as a child process and talks to its control API. Add
/// `standin_process_dep` (tests/support/standin/meson.build) to a test's deps to use it.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace presenceagg::standin {

/// Owns one ably-standin process: started in the constructor (which waits for its
/// "listening" line), stopped with SIGTERM and reaped in the destructor (SIGKILL after a
/// grace period), so no zombie is left. The child also gets SIGTERM if the constructing
/// thread exits first (PR_SET_PDEATHSIG): construct it on a thread that outlives it.
/// Not thread-safe for stop(); the HTTP helpers may be called from several threads.
class StandinProcess {
public:
    struct Options {
        /// Extra command-line arguments, e.g. {"--max-message-size", "1024"}.
        std::vector<std::string> args;
        /// Path of the binary; empty: $PRESENCEAGG_STANDIN, else
        /// $PRESENCEAGG_BUILD_ROOT/tests/support/standin/ably-standin.
        std::string binary;
        std::chrono::milliseconds start_timeout{10'000};
    };

    /// A raw HTTP exchange with the stand-in.
    struct Reply {
        int status = 0;  ///< 0 when the connection failed
        std::string body;
        std::string content_type;
        std::vector<std::pair<std::string, std::string>> headers;

        [[nodiscard]] std::string header(std::string_view name) const;  ///< first, or ""
    };

    StandinProcess();
    /// Same as Options{.args = args}.
    explicit StandinProcess(std::vector<std::string> args);
    /// Throws std::runtime_error when the binary cannot be started or never says "listening".
    explicit StandinProcess(Options options);
    ~StandinProcess();
    StandinProcess(const StandinProcess&) = delete;
    StandinProcess& operator=(const StandinProcess&) = delete;

    /// The default key the stand-in accepts (unless Options::args sets --key).
    static constexpr std::string_view kDefaultKey = "appid.keyid:secret";

    [[nodiscard]] int port() const noexcept { return port_; }
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// "127.0.0.1:<port>", usable as an AblyEndpoint::endpoint with tls = false.
    [[nodiscard]] std::string endpoint() const;
    /// "http://127.0.0.1:<port>".
    [[nodiscard]] std::string base_url() const;

    /// Unauthenticated requests (the control API lives under /_control).
    [[nodiscard]] Reply get(const std::string& path_and_query) const;
    [[nodiscard]] Reply post(const std::string& path, const std::string& json_body) const;
    [[nodiscard]] Reply del(const std::string& path_and_query) const;
    /// Requests with Basic auth for `key` and X-Ably-Version `version` (0: no header).
    [[nodiscard]] Reply ably_get(const std::string& path_and_query,
                                 int version = 6,
                                 std::string_view key = kDefaultKey) const;
    [[nodiscard]] Reply ably_post(const std::string& path,
                                  const std::string& json_body,
                                  int version = 6,
                                  std::string_view key = kDefaultKey) const;

    // Control API; each throws std::runtime_error unless the stand-in answers 2xx.

    /// `members_json` is a JSON array of presence messages ({"clientId","connectionId",...}).
    void set_presence(const std::string& channel,
                      const std::string& members_json,
                      bool replace = true);
    /// Clears one channel's presence set, or every channel's when `channel` is empty.
    void clear_presence(const std::string& channel = "");
    /// Marks channels active (or inactive) without members or messages.
    void mark_channels(const std::vector<std::string>& names, bool active = true);
    /// `fault_json` as documented for POST /_control/faults.
    void add_fault(const std::string& fault_json);
    void clear_faults();
    /// `settings_json` as documented for POST /_control/enumeration.
    void set_enumeration(const std::string& settings_json);
    /// Makes every request on `channel` fail with this Ably error.
    void set_channel_error(const std::string& channel, int status_code, int code);
    /// Ends every open SSE stream abruptly.
    void drop_sse_streams();
    /// Forgets all channels, messages, faults and settings (stats are kept).
    void reset();
    /// Every message published on `channel`, one JSON object per element, in publish order.
    [[nodiscard]] std::vector<std::string> published(const std::string& channel) const;
    /// GET /_control/stats as JSON text.
    [[nodiscard]] std::string stats_json() const;

    /// Sends SIGTERM and reaps the process; true if it exited with status 0 within
    /// `grace` (otherwise it is killed). Idempotent.
    bool stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5'000}) noexcept;
    /// True while the process has not exited (reaps it if it has).
    [[nodiscard]] bool running() noexcept;
    /// Exit status after the process ended (waitpid status), -1 before.
    [[nodiscard]] int wait_status() const noexcept { return wait_status_; }

private:
    void control(const char* method, const std::string& path, const std::string& body) const;

    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int port_ = 0;
    int wait_status_ = -1;
};

}  // namespace presenceagg::standin

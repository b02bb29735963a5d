// SPDX-License-Identifier: MIT
#include "pipeline/checkpoint.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include "wire/content_hash.hpp"
#include "wire/json_text.hpp"

namespace presenceagg::detail {
namespace {

constexpr std::string_view kTempMarker = ".tmp.";
constexpr std::string_view kTrailer = "end ";
constexpr std::size_t kMinMemberLineBytes = 20;

// Closes a POSIX file descriptor.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) noexcept
        : fd_(fd) {}
    ~FileDescriptor() { reset(); }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
    int reset() noexcept {
        int rc = 0;
        if (fd_ >= 0) rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    int fd_;
};

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

bool write_all(int fd, std::string_view data) noexcept {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), std::min<std::size_t>(data.size(), 1U << 24));
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string hex64(std::uint64_t v) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = kHex[v & 0xF];
        v >>= 4;
    }
    return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// SAX handler for one member line: ["channel","clientId","connectionId",{leaf}]. Takes the
// leaf's "data" and "extras" as raw text so that they round-trip byte for byte. RapidJSON
// parses strings and numbers on a local copy of the stream, so Tell() is only trusted at a
// key (its opening quote) and after an object's closing brace: a leaf value spans from after
// its key's colon to before the next key's comma, or the leaf's closing brace.
class MemberLineHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, MemberLineHandler> {
public:
    MemberLineHandler(const rapidjson::StringStream& stream,
                      std::string_view line,
                      PresenceMessage& m)
        : stream_(stream),
          line_(line),
          m_(m) {}

    bool Default() { return false; }  // any other shape is corrupt
    bool Null() { return scalar(); }
    bool Bool(bool) { return scalar(); }
    bool Int(int v) { return integer(v); }
    bool Uint(unsigned v) { return integer(v); }
    bool Int64(std::int64_t v) { return integer(v); }
    bool Uint64(std::uint64_t v) {
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return scalar();
        return integer(static_cast<std::int64_t>(v));
    }
    bool Double(double) {
        if (depth_ == 2 && key_ == "timestamp") return false;
        return scalar();
    }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        const std::string_view v(s, n);
        if (depth_ == 1) {
            switch (top_index_++) {
                case 0:
                    m_.channel.assign(v);
                    return true;
                case 1:
                    m_.client_id.assign(v);
                    return true;
                case 2:
                    m_.connection_id.assign(v);
                    return true;
                default:
                    return false;
            }
        }
        if (depth_ == 2) {
            if (key_ == "id") {
                m_.id.assign(v);
                has_id_ = true;
            } else if (key_ == "encoding") {
                m_.encoding.assign(v);
            }
        }
        return true;
    }
    bool StartObject() {
        if (depth_ == 0) return false;
        if (depth_ == 1) {
            if (top_index_ != 3) return false;
            ++top_index_;
        }
        ++depth_;
        return true;
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ == 2) {
            const std::size_t at = stream_.Tell();  // the key's opening quote
            if (!finish_value(at)) return false;
            key_.assign(s, n);
            pending_ = true;
            value_start_ = after_key(at);
        }
        return true;
    }
    bool EndObject(rapidjson::SizeType) {
        --depth_;
        if (depth_ == 1) return finish_value(stream_.Tell() - 1);  // before the leaf's '}'
        return true;
    }
    bool StartArray() {
        if (depth_ == 1) return false;
        ++depth_;
        return true;
    }
    bool EndArray(rapidjson::SizeType) {
        --depth_;
        if (depth_ == 0) return top_index_ == 4;
        return true;
    }

    [[nodiscard]] bool complete() const {
        return top_index_ == 4 && has_id_ && has_timestamp_ && has_data_;
    }

private:
    bool integer(std::int64_t v) {
        if (depth_ == 2 && key_ == "timestamp") {
            m_.timestamp = v;
            has_timestamp_ = true;
        }
        return scalar();
    }
    [[nodiscard]] bool scalar() const { return depth_ != 1; }

    // Where the value of the key whose opening quote is at `at` starts.
    [[nodiscard]] std::size_t after_key(std::size_t at) const {
        std::size_t i = at + 1;
        while (i < line_.size() && line_[i] != '"') i += line_[i] == '\\' ? 2 : 1;
        ++i;
        while (i < line_.size() && (line_[i] == ' ' || line_[i] == '\t' || line_[i] == ':')) ++i;
        return i;
    }
    // The pending leaf value ends before `end` (a comma and blanks are trimmed).
    bool finish_value(std::size_t end) {
        if (!pending_) return true;
        pending_ = false;
        auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
        if (end > line_.size()) return false;
        while (end > value_start_ && blank(line_[end - 1])) --end;
        if (end > value_start_ && line_[end - 1] == ',') --end;
        while (end > value_start_ && blank(line_[end - 1])) --end;
        if (end <= value_start_) return false;
        const std::string_view raw = line_.substr(value_start_, end - value_start_);
        if (key_ == "data") {
            m_.data.assign(raw);
            has_data_ = true;
        } else if (key_ == "extras") {
            if (raw.front() != '{') return false;
            m_.extras.assign(raw);
        }
        return true;
    }

    const rapidjson::StringStream& stream_;
    std::string_view line_;
    PresenceMessage& m_;
    int depth_ = 0;
    int top_index_ = 0;
    std::string key_;
    bool pending_ = false;
    std::size_t value_start_ = 0;
    bool has_id_ = false;
    bool has_timestamp_ = false;
    bool has_data_ = false;
};

bool parse_member_line(std::string_view line, std::string& buffer, PresenceMessage& m) {
    buffer.assign(line);  // RapidJSON's StringStream reads up to the NUL
    rapidjson::StringStream stream(buffer.c_str());
    MemberLineHandler handler(stream, buffer, m);
    rapidjson::Reader reader;
    const auto r = reader.Parse<rapidjson::kParseStopWhenDoneFlag>(stream, handler);
    if (r.IsError() || !handler.complete() || stream.Tell() != buffer.size()) return false;
    m.action = PresenceAction::Present;
    return !m.channel.empty() && !m.client_id.empty() && !m.connection_id.empty();
}

bool read_file(const std::filesystem::path& file,
               std::uint64_t max_bytes,
               std::string& out,
               bool& missing,
               std::string& error) {
    missing = false;
    FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT) {
            missing = true;
            return false;
        }
        error = "cannot open: " + errno_text(errno);
        return false;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        error = "cannot stat: " + errno_text(errno);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        error = "not a regular file";
        return false;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > max_bytes) {
        error = "file is " + std::to_string(size) + " bytes, more than the " +
                std::to_string(max_bytes) + " allowed";
        return false;
    }
    out.resize(static_cast<std::size_t>(size));
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            error = "read failed: " + errno_text(errno);
            return false;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got != out.size()) {
        error = "file shrank while being read";
        return false;
    }
    return true;
}

std::atomic<std::uint64_t> temp_counter{0};

}  // namespace

std::filesystem::path checkpoint_path(const std::filesystem::path& dir) {
    return dir / std::string(kCheckpointFileName);
}

CheckpointWriteResult write_checkpoint(const PresenceStore& store,
                                       const std::filesystem::path& dir,
                                       std::int64_t created_ms) {
    CheckpointWriteResult result;
    const std::filesystem::path target = checkpoint_path(dir);
    try {
        // Serialized in memory first: the visit holds the store, the disk must not.
        std::string body;
        std::size_t members = 0;
        store.visit(View::ByChannel,
                    [&](std::span<const std::string_view> path, std::string_view leaf) {
                        if (path.size() != 3) return;
                        body.push_back('[');
                        append_json_string(body, path[0]);
                        body.push_back(',');
                        append_json_string(body, path[1]);
                        body.push_back(',');
                        append_json_string(body, path[2]);
                        body.push_back(',');
                        body.append(leaf);
                        body += "]\n";
                        ++members;
                    });
        std::string header(kCheckpointFormat);
        header += ' ' + std::to_string(kCheckpointVersion) + ' ' + std::to_string(created_ms) +
                  ' ' + std::to_string(members) + '\n';
        const std::uint64_t sum = Fnv1a64{}.bytes(header).bytes(body).value();
        const std::string trailer = std::string(kTrailer) + hex64(sum) + '\n';

        const std::string temp_name = std::string(kCheckpointFileName) + std::string(kTempMarker) +
                                      std::to_string(::getpid()) + '.' +
                                      std::to_string(temp_counter.fetch_add(1));
        const std::filesystem::path temp = dir / temp_name;
        FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!fd.valid()) {
            result.error = "cannot create " + temp.string() + ": " + errno_text(errno);
            return result;
        }
        const auto fail = [&](const char* what) {
            result.error = std::string(what) + " " + temp.string() + ": " + errno_text(errno);
            fd.reset();
            ::unlink(temp.c_str());
            return result;
        };
        if (!write_all(fd.get(), header) || !write_all(fd.get(), body) ||
            !write_all(fd.get(), trailer)) {
            return fail("cannot write");
        }
        if (::fsync(fd.get()) != 0) return fail("cannot fsync");
        if (fd.reset() != 0) return fail("cannot close");
        if (::rename(temp.c_str(), target.c_str()) != 0) {
            result.error = "cannot rename " + temp.string() + " to " + target.string() + ": " +
                           errno_text(errno);
            ::unlink(temp.c_str());
            return result;
        }
        FileDescriptor dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dfd.valid() || ::fsync(dfd.get()) != 0) {
            result.error = "cannot fsync directory " + dir.string() + ": " + errno_text(errno);
            return result;
        }
        result.ok = true;
        result.members = members;
        result.bytes = header.size() + body.size() + trailer.size();
    } catch (const std::exception& e) {
        result.error = "cannot write " + target.string() + ": " + e.what();
    }
    return result;
}

bool parse_checkpoint(std::string_view text,
                      std::vector<PresenceMessage>& members,
                      std::int64_t& created_ms,
                      std::string& error) {
    members.clear();
    // Trailer and checksum first: a truncated or altered file fails here.
    if (text.empty() || text.back() != '\n') {
        error = "truncated (no final newline)";
        return false;
    }
    const std::size_t trailer_at = text.rfind('\n', text.size() - 2);
    if (trailer_at == std::string_view::npos) {
        error = "truncated (no trailer)";
        return false;
    }
    const std::string_view trailer = text.substr(trailer_at + 1, text.size() - trailer_at - 2);
    std::uint64_t expected = 0;
    if (trailer.size() != kTrailer.size() + 16 || trailer.substr(0, kTrailer.size()) != kTrailer ||
        std::from_chars(trailer.data() + kTrailer.size(), trailer.data() + trailer.size(), expected,
                        16)
                .ptr != trailer.data() + trailer.size()) {
        error = "truncated or corrupt (bad trailer)";
        return false;
    }
    const std::string_view content = text.substr(0, trailer_at + 1);
    if (Fnv1a64{}.bytes(content).value() != expected) {
        error = "corrupt (checksum mismatch)";
        return false;
    }

    // Header.
    const std::size_t header_end = content.find('\n');
    std::string_view header = content.substr(0, header_end);
    std::string_view fields[4];
    for (auto& f : fields) {
        const std::size_t sp = header.find(' ');
        f = header.substr(0, sp);
        header = sp == std::string_view::npos ? std::string_view() : header.substr(sp + 1);
    }
    if (fields[0] != kCheckpointFormat || !header.empty()) {
        error = "not a presenceagg checkpoint (bad header)";
        return false;
    }
    std::uint32_t version = 0;
    std::uint64_t count = 0;
    if (!parse_number(fields[1], version) || !parse_number(fields[2], created_ms) ||
        !parse_number(fields[3], count)) {
        error = "bad header";
        return false;
    }
    if (version != kCheckpointVersion) {
        error = "incompatible version " + std::to_string(version) + " (this build reads version " +
                std::to_string(kCheckpointVersion) + ")";
        return false;
    }
    std::string_view rest = content.substr(header_end + 1);
    if (count > rest.size() / kMinMemberLineBytes + 1) {
        error = "member count " + std::to_string(count) + " does not fit the file size";
        return false;
    }
    members.reserve(static_cast<std::size_t>(count));

    std::string buffer;
    std::size_t line_no = 1;
    while (!rest.empty()) {
        ++line_no;
        const std::size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        if (line.size() > kCheckpointMaxLineBytes) {
            error = "line " + std::to_string(line_no) + " is too long";
            return false;
        }
        if (members.size() == count) {
            error = "more members than the header's " + std::to_string(count);
            return false;
        }
        PresenceMessage& m = members.emplace_back();
        if (!parse_member_line(line, buffer, m)) {
            error = "line " + std::to_string(line_no) + " is not a valid member";
            members.clear();
            return false;
        }
    }
    if (members.size() != count) {
        error = "header promises " + std::to_string(count) + " members, found " +
                std::to_string(members.size());
        members.clear();
        return false;
    }
    return true;
}

CheckpointLoadResult load_checkpoint(const std::filesystem::path& dir,
                                     PresenceStore& store,
                                     std::uint64_t max_bytes) {
    CheckpointLoadResult result;
    const std::filesystem::path file = checkpoint_path(dir);
    std::string text;
    bool missing = false;
    std::string error;
    if (!read_file(file, max_bytes, text, missing, error)) {
        if (missing) return result;
        result.status = CheckpointLoadStatus::Invalid;
        result.error = file.string() + ": " + error;
        return result;
    }
    std::vector<PresenceMessage> members;
    if (!parse_checkpoint(text, members, result.created_ms, error)) {
        result.status = CheckpointLoadStatus::Invalid;
        result.error = file.string() + ": " + error;
        return result;
    }
    text = std::string();
    for (const PresenceMessage& m : members) {
        (void)store.apply(m);
        if (result.channels.empty() || result.channels.back() != m.channel)
            result.channels.push_back(m.channel);
    }
    std::sort(result.channels.begin(), result.channels.end());
    result.channels.erase(std::unique(result.channels.begin(), result.channels.end()),
                          result.channels.end());
    result.members = members.size();
    result.status = CheckpointLoadStatus::Loaded;
    return result;
}

std::size_t remove_stale_checkpoint_temps(const std::filesystem::path& dir) noexcept {
    std::size_t removed = 0;
    try {
        const std::string prefix = std::string(kCheckpointFileName) + std::string(kTempMarker);
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            const std::string name = entry.path().filename().string();
            if (name.rfind(prefix, 0) == 0 && std::filesystem::remove(entry.path(), ec)) ++removed;
        }
    } catch (...) {
        // Best effort: leftovers never affect a load.
    }
    return removed;
}

}  // namespace presenceagg::detail

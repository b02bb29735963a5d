// SPDX-License-Identifier: MIT
#include "rest/curl_handles.hpp"

#include <mutex>

#include <presenceagg/error.hpp>

namespace presenceagg::detail {
namespace {

std::mutex& global_mutex() {
    static std::mutex m;
    return m;
}
std::size_t global_refs = 0;  // guarded by global_mutex()

}  // namespace

CurlGlobal::CurlGlobal() {
    const std::lock_guard lock(global_mutex());
    if (global_refs == 0) {
        if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
            throw Error(Errc::HttpTransport, "libcurl global initialisation failed");
        }
    }
    ++global_refs;
}

CurlGlobal::~CurlGlobal() {
    const std::lock_guard lock(global_mutex());
    if (--global_refs == 0) curl_global_cleanup();
}

}  // namespace presenceagg::detail

// SPDX-License-Identifier: MIT
#pragma once

// RAII owners for libcurl handles. Internal: never include from a public header.

#include <memory>

#include <curl/curl.h>

namespace presenceagg::detail {

/// Holds a reference on libcurl's global state: curl_global_init on first use, cleanup when the
/// last holder goes. Thread-safe (libcurl >= 7.84 built threadsafe; the count is ours anyway).
class CurlGlobal {
public:
    /// Throws Error(HttpTransport) when libcurl cannot initialise.
    CurlGlobal();
    ~CurlGlobal();
    CurlGlobal(const CurlGlobal&) = delete;
    CurlGlobal& operator=(const CurlGlobal&) = delete;
};

struct CurlEasyDeleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlMultiDeleter {
    void operator()(CURLM* handle) const noexcept { curl_multi_cleanup(handle); }
};
using CurlMultiPtr = std::unique_ptr<CURLM, CurlMultiDeleter>;

struct CurlSlistDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

}  // namespace presenceagg::detail

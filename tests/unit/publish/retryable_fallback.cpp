// SPDX-License-Identifier: MIT
// Linked into the publish tests only while lib/rest (which owns PublishResult::retryable) is not
// built yet; the rule is the one documented in ably_rest_sink.hpp.
#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/error.hpp>

namespace presenceagg {

bool PublishResult::retryable() const noexcept {
    if (!error) return false;
    if (error == Errc::HttpTransport || error == Errc::AblyRateLimited ||
        error == Errc::AblyServerError) {
        return true;
    }
    return http_status == 429 || http_status >= 500;
}

}  // namespace presenceagg

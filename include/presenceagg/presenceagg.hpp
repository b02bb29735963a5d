// SPDX-License-Identifier: MIT
#pragma once

/// libpresenceagg: an exact, Ably-correct picture of who is present across many Ably channels,
/// published as a few compact, verifiable messages. Include this umbrella header, or the
/// individual headers below.

#include <string_view>

#include <presenceagg/ably.hpp>
#include <presenceagg/ably_rest_sink.hpp>
#include <presenceagg/decode.hpp>
#include <presenceagg/demo.hpp>
#include <presenceagg/error.hpp>
#include <presenceagg/export.hpp>
#include <presenceagg/logging.hpp>
#include <presenceagg/pipeline.hpp>
#include <presenceagg/presence.hpp>
#include <presenceagg/presence_store.hpp>
#include <presenceagg/publish.hpp>
#include <presenceagg/queue_source.hpp>
#include <presenceagg/scheduler.hpp>
#include <presenceagg/secret.hpp>
#include <presenceagg/stats.hpp>
#include <presenceagg/version.hpp>
#include <presenceagg/view_assembler.hpp>

namespace presenceagg {

/// Version of the linked library (may differ from kVersion of the headers).
[[nodiscard]] PRESENCEAGG_API std::string_view library_version() noexcept;

}  // namespace presenceagg

// SPDX-License-Identifier: MIT
#pragma once

// Turns resolved settings into library configurations; shared by `run` and `demo`.

#include <presenceagg/logging.hpp>
#include <presenceagg/pipeline.hpp>

#include "settings.hpp"

namespace presenceagg::cli {

/// The stderr logger the settings ask for (LOG_LEVEL, LOG_FORMAT).
Logger make_logger(const Settings& s);
/// Views, channels, cadence and limits (PUBLISH_*, KEEPALIVE_INTERVAL, MAX_MESSAGE_SIZE, ...).
PublishConfig make_publish_config(const Settings& s);
/// Everything `run` needs besides the source and the sink.
PipelineConfig make_pipeline_config(const Settings& s, const Logger& log);

}  // namespace presenceagg::cli

// SPDX-License-Identifier: MIT
#include <iostream>

#include <presenceagg/presenceagg.hpp>

#include "build_info.hpp"
#include "commands.hpp"
#include "metrics_server.hpp"

namespace presenceagg::cli {

int run_version() {
    std::cout << "presence-agg " << kVersion << " (libpresenceagg " << library_version() << ")\n"
              << "compiler: " << kBuildCompiler << '\n'
              << "build type: " << kBuildType << '\n'
              << "sanitizers: " << kBuildSanitizers << '\n'
              << "librabbitmq: " << kBuildRabbitmqVersion << ", libcurl: " << kBuildCurlVersion
              << ", RapidJSON: " << kBuildRapidjsonVersion << '\n'
              << "metrics endpoint: " << (metrics_supported() ? "yes (cpp-httplib)" : "no") << '\n';
    return 0;
}

}  // namespace presenceagg::cli

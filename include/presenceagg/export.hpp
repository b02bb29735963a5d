// SPDX-License-Identifier: MIT
#pragma once

/// Marks the public ABI. libpresenceagg is built with hidden visibility; only what carries
/// this attribute is exported from the shared library.
#define PRESENCEAGG_API [[gnu::visibility("default")]]

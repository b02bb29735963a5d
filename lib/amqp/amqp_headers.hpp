// SPDX-License-Identifier: MIT
#pragma once

/// Rendering AMQP header tables as text `Header`s for the decoders.

#include <cstddef>
#include <string>
#include <vector>

#include <amqp.h>

#include <presenceagg/decode.hpp>

namespace presenceagg::detail {

/// Renders one field value as text into `out`. Strings and byte strings are copied as is;
/// integers, timestamps and booleans in decimal/"true"/"false"; floats in shortest round-trip
/// form; decimals with their point; void as "". Returns false for tables and arrays (not
/// rendered: no header Ably sends nests).
bool render_field_value(const amqp_field_value_t& value, std::string& out);

/// Renders the renderable entries of `table` into `scratch`, reusing its elements' capacity,
/// and returns how many were written (the first `n` elements). Names keep their case.
[[nodiscard]] std::size_t render_headers(const amqp_table_t& table, std::vector<Header>& scratch);

}  // namespace presenceagg::detail

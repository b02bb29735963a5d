// SPDX-License-Identifier: MIT
#include "amqp/amqp_headers.hpp"

#include <array>
#include <charconv>
#include <string_view>
#include <system_error>

#include "amqp/amqp_handles.hpp"

namespace presenceagg::detail {
namespace {

template <typename Number>
void append_number(Number number, std::string& out) {
    std::array<char, 64> buffer{};
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), number);
    if (ec == std::errc{}) out.append(buffer.data(), end);
}

void append_decimal(amqp_decimal_t decimal, std::string& out) {
    std::string digits;
    append_number(decimal.value, digits);
    const std::size_t places = decimal.decimals;
    if (places == 0) {
        out += digits;
        return;
    }
    if (digits.size() <= places) digits.insert(0, places - digits.size() + 1, '0');
    out.append(digits, 0, digits.size() - places);
    out += '.';
    out.append(digits, digits.size() - places, places);
}

}  // namespace

bool render_field_value(const amqp_field_value_t& value, std::string& out) {
    out.clear();
    switch (value.kind) {
        case AMQP_FIELD_KIND_UTF8:
        case AMQP_FIELD_KIND_BYTES:
            out.assign(as_view(value.value.bytes));
            return true;
        case AMQP_FIELD_KIND_BOOLEAN:
            out.assign(value.value.boolean != 0 ? "true" : "false");
            return true;
        case AMQP_FIELD_KIND_I8:
            append_number(value.value.i8, out);
            return true;
        case AMQP_FIELD_KIND_U8:
            append_number(value.value.u8, out);
            return true;
        case AMQP_FIELD_KIND_I16:
            append_number(value.value.i16, out);
            return true;
        case AMQP_FIELD_KIND_U16:
            append_number(value.value.u16, out);
            return true;
        case AMQP_FIELD_KIND_I32:
            append_number(value.value.i32, out);
            return true;
        case AMQP_FIELD_KIND_U32:
            append_number(value.value.u32, out);
            return true;
        case AMQP_FIELD_KIND_I64:
            append_number(value.value.i64, out);
            return true;
        case AMQP_FIELD_KIND_U64:
        case AMQP_FIELD_KIND_TIMESTAMP:
            append_number(value.value.u64, out);
            return true;
        case AMQP_FIELD_KIND_F32:
            append_number(value.value.f32, out);
            return true;
        case AMQP_FIELD_KIND_F64:
            append_number(value.value.f64, out);
            return true;
        case AMQP_FIELD_KIND_DECIMAL:
            append_decimal(value.value.decimal, out);
            return true;
        case AMQP_FIELD_KIND_VOID:
            return true;
        default:
            return false;  // AMQP_FIELD_KIND_TABLE, AMQP_FIELD_KIND_ARRAY, unknown
    }
}

std::size_t render_headers(const amqp_table_t& table, std::vector<Header>& scratch) {
    std::size_t count = 0;
    if (table.entries == nullptr) return 0;
    for (int i = 0; i < table.num_entries; ++i) {
        const amqp_table_entry_t& entry = table.entries[i];
        if (count == scratch.size()) scratch.emplace_back();
        Header& header = scratch[count];
        if (!render_field_value(entry.value, header.value)) continue;
        header.name.assign(as_view(entry.key));
        ++count;
    }
    return count;
}

}  // namespace presenceagg::detail

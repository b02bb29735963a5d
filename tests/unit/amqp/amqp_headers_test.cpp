// SPDX-License-Identifier: MIT
#include "amqp/amqp_headers.hpp"

#include <string>
#include <vector>

#include <amqp.h>

#include <doctest/doctest.h>

using presenceagg::Header;
using presenceagg::detail::render_field_value;
using presenceagg::detail::render_headers;

namespace {

amqp_field_value_t field(std::uint8_t kind) {
    amqp_field_value_t value{};
    value.kind = kind;
    return value;
}

std::string rendered(const amqp_field_value_t& value) {
    std::string out = "stale";
    REQUIRE(render_field_value(value, out));
    return out;
}

}  // namespace

TEST_SUITE("AmqpHeaders") {
    TEST_CASE("string kinds are copied byte for byte") {
        static char text[] = {'a', '\0', 'b'};
        amqp_bytes_t bytes{sizeof text, text};
        auto utf8 = field(AMQP_FIELD_KIND_UTF8);
        utf8.value.bytes = bytes;
        CHECK(rendered(utf8) == std::string("a\0b", 3));
        auto raw = field(AMQP_FIELD_KIND_BYTES);
        raw.value.bytes = bytes;
        CHECK(rendered(raw) == std::string("a\0b", 3));
        auto empty = field(AMQP_FIELD_KIND_UTF8);
        empty.value.bytes = amqp_empty_bytes;
        CHECK(rendered(empty).empty());
    }

    TEST_CASE("every integer kind renders in decimal") {
        auto v = field(AMQP_FIELD_KIND_I8);
        v.value.i8 = -8;
        CHECK(rendered(v) == "-8");
        v = field(AMQP_FIELD_KIND_U8);
        v.value.u8 = 255;
        CHECK(rendered(v) == "255");
        v = field(AMQP_FIELD_KIND_I16);
        v.value.i16 = -32768;
        CHECK(rendered(v) == "-32768");
        v = field(AMQP_FIELD_KIND_U16);
        v.value.u16 = 65535;
        CHECK(rendered(v) == "65535");
        v = field(AMQP_FIELD_KIND_I32);
        v.value.i32 = -2147483647 - 1;
        CHECK(rendered(v) == "-2147483648");
        v = field(AMQP_FIELD_KIND_U32);
        v.value.u32 = 4294967295U;
        CHECK(rendered(v) == "4294967295");
        v = field(AMQP_FIELD_KIND_I64);
        v.value.i64 = 1485914937984;
        CHECK(rendered(v) == "1485914937984");
        v = field(AMQP_FIELD_KIND_U64);
        v.value.u64 = 18446744073709551615ULL;
        CHECK(rendered(v) == "18446744073709551615");
        v = field(AMQP_FIELD_KIND_TIMESTAMP);
        v.value.u64 = 1700000000;
        CHECK(rendered(v) == "1700000000");
    }

    TEST_CASE("floats, decimals, booleans and void render as text") {
        auto v = field(AMQP_FIELD_KIND_F64);
        v.value.f64 = 0.1;
        CHECK(rendered(v) == "0.1");
        v = field(AMQP_FIELD_KIND_F32);
        v.value.f32 = 1.5F;
        CHECK(rendered(v) == "1.5");
        v = field(AMQP_FIELD_KIND_BOOLEAN);
        v.value.boolean = 1;
        CHECK(rendered(v) == "true");
        v.value.boolean = 0;
        CHECK(rendered(v) == "false");
        v = field(AMQP_FIELD_KIND_VOID);
        CHECK(rendered(v).empty());
        v = field(AMQP_FIELD_KIND_DECIMAL);
        v.value.decimal = {2, 12345};
        CHECK(rendered(v) == "123.45");
        v.value.decimal = {5, 123};
        CHECK(rendered(v) == "0.00123");
        v.value.decimal = {0, 7};
        CHECK(rendered(v) == "7");
    }

    TEST_CASE("tables and arrays are skipped") {
        std::string out;
        CHECK_FALSE(render_field_value(field(AMQP_FIELD_KIND_TABLE), out));
        CHECK_FALSE(render_field_value(field(AMQP_FIELD_KIND_ARRAY), out));
        CHECK_FALSE(render_field_value(field('?'), out));
    }

    TEST_CASE("a table renders in order, keeping name case and reusing scratch") {
        amqp_table_entry_t entries[3]{};
        entries[0].key = amqp_cstring_bytes("X-Ably-Envelope-Channel");
        entries[0].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[0].value.value.bytes = amqp_cstring_bytes("lobby");
        entries[1].key = amqp_cstring_bytes("nested");
        entries[1].value.kind = AMQP_FIELD_KIND_TABLE;
        entries[2].key = amqp_cstring_bytes("x-count");
        entries[2].value.kind = AMQP_FIELD_KIND_I64;
        entries[2].value.value.i64 = 3;
        const amqp_table_t table{3, entries};

        std::vector<Header> scratch(5, Header{"old", "old"});
        const std::size_t n = render_headers(table, scratch);
        REQUIRE(n == 2);
        CHECK(scratch.size() == 5);
        CHECK(scratch[0].name == "X-Ably-Envelope-Channel");
        CHECK(scratch[0].value == "lobby");
        CHECK(scratch[1].name == "x-count");
        CHECK(scratch[1].value == "3");

        std::vector<Header> empty;
        CHECK(render_headers(table, empty) == 2);
        CHECK(render_headers(amqp_empty_table, empty) == 0);
    }
}

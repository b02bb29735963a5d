// SPDX-License-Identifier: MIT
// Callgrind driver (not built by Meson): instruction counts per apply() and per decode+apply,
// which are repeatable where wall-clock benchmarks on a shared machine are not. The workload is
// BM_Apply's (keys member keys over 10,000 channels; enters, updates, leaves). See
// docs/benchmarks.md for the build and valgrind commands.
//   cg_apply KEYS EVENTS EXPLAIN_HISTORY [da]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <presenceagg/decode.hpp>
#include <presenceagg/presence_store.hpp>
namespace {

using namespace presenceagg;

void fill(PresenceMessage& msg,
          std::size_t ch,
          std::size_t k,
          std::uint64_t serial,
          PresenceAction a,
          std::int64_t ts) {
    msg.channel = "room:" + std::to_string(ch);
    msg.client_id = "user-" + std::to_string(100000 + k);
    msg.connection_id = "Xk9" + std::to_string(1000000 + k) + "qZ";
    msg.id = msg.connection_id + ":" + std::to_string(serial) + ":0";
    msg.action = a;
    msg.timestamp = ts;
    msg.data = "{\"status\":\"online\",\"n\":" + std::to_string(serial % 1000) + "}";
}
__attribute__((noinline)) void run_applies(PresenceStore& s,
                                           const std::vector<PresenceMessage>& ev) {
    for (const auto& m : ev) (void)s.apply(m);
}
__attribute__((noinline)) void run_decode_apply(PresenceStore& s,
                                                Decoder& d,
                                                DecodedBatch& b,
                                                const std::vector<std::string>& bodies) {
    for (const auto& body : bodies) {
        b.clear();
        (void)d.decode_queue_message(body, {}, b);
        for (const auto& m : b.messages()) (void)s.apply(m);
    }
}
}  // namespace

int main(int argc, char** argv) {
    std::size_t keys = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
    std::size_t events = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 200000;
    std::size_t hist = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 0;
    std::mt19937_64 rng(42);
    std::vector<bool> present(keys);
    std::vector<std::uint64_t> serial(keys);
    std::vector<PresenceMessage> ev(events);
    for (std::size_t e = 0; e < events; ++e) {
        std::size_t k = rng() % keys;
        PresenceAction a = PresenceAction::Enter;
        if (present[k]) a = rng() % 10 < 8 ? PresenceAction::Update : PresenceAction::Leave;
        present[k] = a != PresenceAction::Leave;
        fill(ev[e], k % 10000, k, ++serial[k], a,
             1700000000000 + static_cast<std::int64_t>(e / 10));
    }
    MemoryPresenceStoreConfig c;
    c.explain_history = hist;
    auto s = make_memory_presence_store(c);
    if (argc > 4) {
        std::vector<std::string> bodies;
        for (const auto& m : ev) {
            bodies.push_back(
                "{\"source\":\"channel.presence\",\"appId\":\"AppA1\",\"channel\":\"" + m.channel +
                "\",\"site\":\"eu-west-1-A\",\"ruleId\":\"Rk1x9a\",\"presence\":[{\"id\":\"" +
                m.id + "\",\"clientId\":\"" + m.client_id + "\",\"connectionId\":\"" +
                m.connection_id + "\",\"timestamp\":" + std::to_string(m.timestamp) +
                ",\"action\":" + std::to_string(static_cast<int>(m.action)) +
                ",\"data\":\"{\\\"status\\\":\\\"online\\\",\\\"name\\\":\\\"Ada "
                "Lovelace\\\",\\\"device\\\":\\\"web-chrome-119\\\",\\\"seat\\\":12,\\\"since\\\":"
                "1700000000}\",\"encoding\":\"json\"}]}");
        }
        Decoder d;
        DecodedBatch b;
        run_decode_apply(*s, d, b, bodies);
    } else {
        run_applies(*s, ev);
    }
    std::printf("%zu\n", s->counts().members);
}

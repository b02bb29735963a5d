// SPDX-License-Identifier: MIT
// Bytes -> a sequence of store operations over a tiny alphabet of channels, clientIds,
// connectionIds, ids and timestamps, so collisions, reorderings, tombstone expiry and resyncs
// happen often. Invariants, checked as the sequence runs:
//  - counts().members equals the number of leaves in each member view;
//  - both hashes equal a recomputation from the visited leaves, and visit() returns them;
//  - re-applying the message just applied changes nothing (and is a Duplicate when it had an id);
//  - the change sets, replayed into a plain map, equal the ByChannel view;
//  - all four views are well-formed JSON.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <presenceagg/presence_store.hpp>

#include "../../unit/core/json_value.hpp"
#include "../../unit/core/store_test_support.hpp"
#include "core/view_json.hpp"

namespace {

using presenceagg::PresenceAction;
using presenceagg::PresenceMessage;
using presenceagg::View;

class ByteReader {
public:
    ByteReader(const std::uint8_t* data, std::size_t size)
        : data_(data),
          size_(size) {}
    [[nodiscard]] bool empty() const noexcept { return pos_ >= size_; }
    std::uint8_t next() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

constexpr const char* kChannels[] = {"a", "a:b", "b/"};
constexpr const char* kClients[] = {"u", "u:1", "v"};
constexpr const char* kConnections[] = {"c", "c:1", "d"};

PresenceMessage read_message(ByteReader& in) {
    PresenceMessage m;
    const std::uint8_t k = in.next();
    m.channel = kChannels[k % 3];
    m.client_id = kClients[(k / 3) % 3];
    m.connection_id = kConnections[(k / 9) % 3];
    const std::uint8_t a = in.next();
    m.action = static_cast<PresenceAction>(a % 5);
    const std::uint8_t id = in.next();
    switch (id % 8) {
        case 0:
            m.id = "s" + std::to_string(id / 8 % 4) + ":0:0";
            break;  // synthesized
        case 1:
            m.id = m.connection_id + ":x";
            break;  // unparsable
        case 2:
            m.id = "";
            break;
        default:
            m.id =
                m.connection_id + ":" + std::to_string(id / 8 % 8) + ":" + std::to_string(id % 2);
    }
    const std::uint8_t t = in.next();
    m.timestamp = t == 255 ? INT64_MAX : t == 254 ? INT64_MIN : 1000 + (t % 16);
    if ((a / 5) % 4 == 0) m.extras = "{\"e\":1}";
    if ((a / 20) % 4 == 0) m.encoding = "cipher";
    m.data = "\"" + std::to_string(a) + "\"";
    if (k >= 250) m.channel.clear();  // rejected
    return m;
}

void check_invariants(const presenceagg::PresenceStore& store) {
    const auto counts = store.counts();
    for (const View v : {View::ByChannel, View::ByClient, View::ByConnection}) {
        std::size_t n = 0;
        const auto h = store.visit(v, [&](auto, auto) { ++n; });
        check(n == counts.members, "member leaves == counts().members");
        check(h == store.hash(v), "visit() hash == hash()");
    }
    bool ok = false;
    check(presenceagg::test::recompute_member_hash(store, ok) == store.hash(View::ByChannel) && ok,
          "member hash == recomputation");
    check(presenceagg::test::recompute_counts_hash(store, ok) == store.hash(View::Counts) && ok,
          "counts hash == recomputation");
    const std::string all = presenceagg::detail::all_views_json(store);
    const auto parsed = presenceagg::test::JsonReader::parse(all);
    check(parsed && parsed->members.size() == 4, "views are valid JSON");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteReader in(data, size);
    presenceagg::MemoryPresenceStoreConfig config;
    const std::uint8_t c = in.next();
    config.tombstone_retention = std::chrono::milliseconds(c % 4 == 3 ? 1000 : c % 4);
    config.max_tombstones = 1 + (c / 4) % 6;
    // Small history bounds so that ring wrap-around and slot recycling are exercised too.
    config.explain_history = (c / 24) % 4;
    config.explain_max_entries = 1 + (c / 96);
    auto store = presenceagg::make_memory_presence_store(config);
    std::map<std::vector<std::string>, std::string> mirror;

    for (int ops = 0; !in.empty() && ops < 2000; ++ops) {
        const std::uint8_t op = in.next();
        if (op < 160) {
            const PresenceMessage m = read_message(in);
            const auto first = store->apply(m);
            if (first == presenceagg::ApplyOutcome::Rejected) {
                check(m.channel.empty(), "only bad input is rejected");
                continue;
            }
            const auto why = store->explain({m.channel, m.connection_id, m.client_id});
            check(why.history.size() <= config.explain_history, "history bound");
            // Events (a purge in the same apply) may follow it, or recycle its slot.
            for (auto h = why.history.rbegin(); h != why.history.rend(); ++h) {
                if (h->event != presenceagg::MemberEvent::Message) continue;
                check(h->id == m.id && h->outcome == first,
                      "the last message in the history is the one just applied");
                break;
            }
            check(why.present == (why.leaf.has_value()), "explained leaf iff present");
            const std::string before = presenceagg::test::observable_state(*store);
            const auto again = store->apply(m);
            check(presenceagg::test::observable_state(*store) == before,
                  "re-applying the last message changes nothing");
            if (first == presenceagg::ApplyOutcome::Applied && !m.id.empty()) {
                check(again == presenceagg::ApplyOutcome::Duplicate, "re-apply is a duplicate");
            }
        } else if (op < 180) {
            std::vector<PresenceMessage> listed;
            for (int n = in.next() % 4; n > 0; --n) listed.push_back(read_message(in));
            const std::uint64_t seq = store->sequence();
            const std::uint64_t back = in.next() % 4;
            (void)store->replace_channel(kChannels[op % 3], listed, seq > back ? seq - back : 0);
        } else if (op < 200) {
            store->set_suspect(kChannels[op % 3], (op / 3) % 2 == 0);
        } else if (op < 250) {
            const auto cs = store->take_changes();
            for (const auto& change : cs.members) {
                std::vector<std::string> key{change.channel, change.client_id,
                                             change.connection_id};
                if (change.leaf) {
                    mirror[key] = *change.leaf;
                } else {
                    // Also reported for a member that came and went since the last take.
                    mirror.erase(key);
                }
            }
            std::map<std::vector<std::string>, std::string> actual;
            for (auto& l : presenceagg::test::leaves(*store, View::ByChannel)) {
                actual[l.path] = l.json;
            }
            check(actual == mirror, "change sets replay into the ByChannel view");
            check(cs.totals == store->counts(), "change set totals == counts()");
            check(cs.member_hash == store->hash(View::ByChannel), "change set member hash");
        } else {
            store->clear();
        }
        check(store->stats().tombstones <= config.max_tombstones, "tombstone cap");
        check_invariants(*store);
    }
    return 0;
}

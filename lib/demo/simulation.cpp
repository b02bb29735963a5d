// SPDX-License-Identifier: MIT
#include "demo/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <presenceagg/error.hpp>

#include "wire/json_text.hpp"

namespace presenceagg::detail {
namespace {

constexpr std::string_view kInsideNames[] = {
    "lobby",         "support",         "sales",           "engineering",     "design",
    "doc/roadmap",   "doc/q3-planning", "board/sprint-42", "video/all-hands", "game/lobby-eu",
    "game/lobby-us", "class/math-101",  "class/phys-201",  "event/launch",    "watch/finals",
    "ward/7b",       "store/paris",     "store/berlin",    "ops/on-call",     "marketing",
};
constexpr std::string_view kOutsideNames[] = {"general", "random", "support"};
constexpr std::string_view kFirstNames[] = {
    "Ada",    "Grace",    "Alan",    "Linus", "Margaret", "Dennis", "Barbara",   "Ken",
    "Radia",  "Edsger",   "Frances", "Guido", "Bjarne",   "Hedy",   "Katherine", "Tim",
    "Sophie", "Yukihiro", "Zoë",     "José",  "Søren",    "Łukasz", "Chloé",     "Aiko",
    "Amara",  "Mateo",    "Priya",   "Noah",  "Lena",     "Omar",   "Ingrid",    "Kwame",
    "Mei",    "Diego",    "Freya",   "Ravi",
};
constexpr std::string_view kLastNames[] = {
    "Lovelace", "Hopper",      "Turing",   "Torvalds",  "Hamilton", "Ritchie",    "Liskov",
    "Thompson", "Perlman",     "Dijkstra", "Allen",     "Rossum",   "Stroustrup", "Lamarr",
    "Johnson",  "Berners-Lee", "Wilson",   "Matsumoto", "Okafor",   "García",     "Kierkegaard",
    "Nowak",    "Dubois",      "Tanaka",   "Mensah",    "Rossi",    "Sharma",     "Müller",
    "Haddad",   "Larsen",      "Chen",     "Silva",
};
constexpr std::string_view kStatuses[] = {"online", "away", "busy", "in a meeting",
                                          "do not disturb"};
constexpr std::string_view kDevices[] = {"web", "ios", "android", "desktop"};
// Ably connection ids use this alphabet.
constexpr std::string_view kIdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
constexpr std::size_t kRecentBodies = 64;
constexpr int kMaxAttempts = 256;
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
}

void require(bool ok, std::string_view field, std::string_view rule) {
    if (!ok) {
        throw Error(Errc::InvalidConfig,
                    "SimulationConfig." + std::string(field) + " " + std::string(rule));
    }
}

bool is_probability(double p) {
    return std::isfinite(p) && p >= 0.0 && p <= 1.0;
}

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

void append_id_chars(std::string& out, SimRandom& rng, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(kIdAlphabet[rng.below(kIdAlphabet.size())]);
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
    append_json_string(out, key);
    out.push_back(':');
    append_json_string(out, value);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

SimRandom::SimRandom(std::uint64_t seed) noexcept {
    for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t SimRandom::next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

// Modulo bias is negligible for the small ranges used here, and the result is portable.
std::size_t SimRandom::below(std::size_t n) noexcept {
    return static_cast<std::size_t>(next() % n);
}

double SimRandom::unit() noexcept {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

// ---------------------------------------------------------------------------------------------

Simulation::Simulation(const SimulationConfig& config)
    : config_(config),
      rng_(config.seed) {
    require(config_.clients > 0, "clients", "must be at least 1");
    require(config_.channels > 0, "channels", "must be at least 1");
    require(!config_.channel_prefix.empty(), "channel_prefix", "must not be empty");
    require(config_.outside_channels == 0 ||
                (!config_.outside_prefix.empty() &&
                 !config_.outside_prefix.starts_with(config_.channel_prefix)),
            "outside_prefix", "must be non-empty and not start with channel_prefix");
    require(config_.max_connections_per_client > 0, "max_connections_per_client",
            "must be at least 1");
    require(config_.max_channels_per_connection > 0, "max_channels_per_connection",
            "must be at least 1");
    require(std::isfinite(config_.events_per_second) && config_.events_per_second >= 0.0,
            "events_per_second", "must be >= 0 (0: as fast as possible)");
    require(std::isfinite(config_.simulated_events_per_second) &&
                config_.simulated_events_per_second > 0.0,
            "simulated_events_per_second", "must be > 0");
    require(is_probability(config_.online_fraction), "online_fraction", "must be in [0, 1]");
    require(is_probability(config_.multi_device_fraction), "multi_device_fraction",
            "must be in [0, 1]");
    require(is_probability(config_.drop_probability), "drop_probability", "must be in [0, 1]");
    require(is_probability(config_.reconnect_probability), "reconnect_probability",
            "must be in [0, 1]");
    require(is_probability(config_.duplicate_probability), "duplicate_probability",
            "must be in [0, 1]");
    require(config_.synthesized_leave_delay.count() >= 0, "synthesized_leave_delay",
            "must be >= 0");
    require(config_.reconnect_delay_max.count() >= 0, "reconnect_delay_max", "must be >= 0");
    require(config_.occupancy_interval.count() > 0, "occupancy_interval", "must be > 0");
    require(config_.start_time_ms >= 0, "start_time_ms", "must be >= 0");
    build_channels();
    build_clients();
}

void Simulation::build_channels() {
    for (std::size_t i = 0; i < config_.channels; ++i) {
        Channel ch;
        ch.name = config_.channel_prefix;
        if (i < std::size(kInsideNames)) {
            ch.name += kInsideNames[i];
        } else {
            ch.name += "room-" + std::to_string(i);
        }
        channels_.push_back(std::move(ch));
    }
    for (std::size_t i = 0; i < config_.outside_channels; ++i) {
        Channel ch;
        ch.inside = false;
        ch.name = config_.outside_prefix;
        if (i < std::size(kOutsideNames)) {
            ch.name += kOutsideNames[i];
        } else {
            ch.name += "room-" + std::to_string(i);
        }
        channels_.push_back(std::move(ch));
    }
    for (const auto& ch : channels_) channel_names_.push_back(ch.name);
    // Zipf-like popularity: a few busy channels, a long tail of quiet ones.
    double total = 0.0;
    for (std::size_t rank = 0; rank < config_.channels; ++rank) {
        total += 1.0 / std::pow(static_cast<double>(rank + 1), 0.9);
        favourite_weights_.push_back(total);
    }
}

void Simulation::build_clients() {
    std::set<std::string, std::less<>> used;
    for (std::size_t i = 0; i < config_.clients; ++i) {
        Client cl;
        const auto first = kFirstNames[rng_.below(std::size(kFirstNames))];
        const auto last = kLastNames[rng_.below(std::size(kLastNames))];
        cl.name = std::string(first) + " " + std::string(last);
        std::string base = lower_ascii(first) + "." + lower_ascii(last);
        // Some identity providers put ':' and '/' in clientIds; keep a few around.
        switch (rng_.below(20)) {
            case 0:
                base = "sso:okta/" + base;
                break;
            case 1:
                base += "@example.com";
                break;
            default:
                break;
        }
        cl.id = base;
        for (int n = 2; used.contains(cl.id); ++n) cl.id = base + "." + std::to_string(n);
        used.insert(cl.id);
        cl.avatar = "https://avatars.example.com/u/" + std::to_string(10'000 + i) + "/128.png";
        cl.multi_device = rng_.chance(config_.multi_device_fraction);
        const std::size_t wanted = 1 + rng_.below(std::min<std::size_t>(4, config_.channels));
        for (int tries = 0; cl.favourites.size() < wanted && tries < 64; ++tries) {
            const double r = rng_.unit() * favourite_weights_.back();
            const auto it =
                std::upper_bound(favourite_weights_.begin(), favourite_weights_.end(), r);
            const auto ch = std::min<std::size_t>(
                static_cast<std::size_t>(it - favourite_weights_.begin()), config_.channels - 1);
            if (std::find(cl.favourites.begin(), cl.favourites.end(), ch) == cl.favourites.end()) {
                cl.favourites.push_back(ch);
            }
        }
        if (config_.outside_channels > 0 && rng_.chance(0.35)) {
            cl.favourites.push_back(config_.channels + rng_.below(config_.outside_channels));
        }
        clients_.push_back(std::move(cl));
    }
}

std::string Simulation::make_connection_id() {
    // Random head plus a scrambled counter tail: looks like Ably's ids and never repeats within
    // 2^24 connections (an odd multiplier is a bijection modulo 2^24).
    std::string id;
    id.reserve(10);
    append_id_chars(id, rng_, 6);
    std::uint64_t n =
        (connection_counter_++ * 0x9E3779B1ULL + config_.seed * 0x5851F42DULL) & 0xFFFFFFULL;
    for (int i = 0; i < 4; ++i) {
        id.push_back(kIdAlphabet[n % kIdAlphabet.size()]);
        n /= kIdAlphabet.size();
    }
    return id;
}

std::string Simulation::make_synthesized_id(std::string_view connection_id) {
    // Ably's synthesized leaves carry an id that is not prefixed by the member's connectionId;
    // consumers must then compare timestamps (RTP2b1).
    std::string id;
    do {
        id.clear();
        append_id_chars(id, rng_, 10);
    } while (id.starts_with(connection_id));
    id += ":0:0";
    return id;
}

void Simulation::schedule(Pending pending) {
    pending.order = pending_order_++;
    pending_.push(std::move(pending));
}

void Simulation::next_presence(std::int64_t now_ms, std::string& body) {
    for (int attempt = 0;; ++attempt) {
        if (!pending_.empty() && pending_.top().due <= now_ms) {
            Pending p = pending_.top();
            pending_.pop();
            if (run_pending(p, now_ms, body)) return;
            continue;
        }
        if (attempt >= kMaxAttempts) {
            // Unreachable in practice: with no live member every client can connect.
            if (do_update(now_ms, body) || do_connect(now_ms, body)) return;
        }
        if (!live_connections_.empty() && rng_.chance(config_.drop_probability)) {
            do_drop(now_ms);
            continue;
        }
        // Steer the population towards online_fraction.
        const bool below_target = static_cast<double>(online_clients_) <
                                  config_.online_fraction * static_cast<double>(clients_.size());
        const double w_connect = below_target ? 0.25 : 0.05;
        const double w_join = 0.10;
        const double w_update = 0.45;
        const double w_leave = below_target ? 0.08 : 0.20;
        double r = rng_.unit() * (w_connect + w_join + w_update + w_leave);
        bool produced = false;
        if ((r -= w_connect) < 0) {
            produced = do_connect(now_ms, body);
        } else if ((r -= w_join) < 0) {
            produced = do_join(now_ms, body);
        } else if ((r -= w_update) < 0) {
            produced = do_update(now_ms, body);
        } else {
            produced = do_leave(now_ms, body);
        }
        if (produced) return;
    }
}

bool Simulation::run_pending(Pending& p, std::int64_t now, std::string& body) {
    switch (p.kind) {
        case PendingKind::SynthesizedLeave: {
            Connection& conn = connections_[p.slot];
            if (!conn.in_use || conn.generation != p.generation || conn.live) return false;
            const auto it =
                std::find_if(conn.channels.begin(), conn.channels.end(),
                             [&](const Membership& m) { return m.channel == p.channel(); });
            if (it == conn.channels.end()) return false;
            const auto index = static_cast<std::size_t>(it - conn.channels.begin());
            const std::string id = make_synthesized_id(conn.id);
            // Strictly newer than the member's last message, even with a zero delay and several
            // events per millisecond: a tie would let a redelivered enter win (RTP2b1a).
            emit(p.slot, index, PresenceAction::Leave, id, std::max(now, conn.last_timestamp + 1),
                 body);
            ++stats_.synthesized_leaves;
            conn.channels.erase(conn.channels.begin() + static_cast<std::ptrdiff_t>(index));
            if (conn.channels.empty()) free_slot(p.slot);
            return true;
        }
        case PendingKind::Reconnect: {
            if (clients_[p.client].live_connections >= config_.max_connections_per_client ||
                p.channels.empty()) {
                return false;
            }
            const std::size_t slot = open_connection(p.client);
            ++stats_.reconnections;
            const std::uint32_t generation = connections_[slot].generation;
            for (std::size_t i = 1; i < p.channels.size(); ++i) {
                Pending join;
                join.due = now;
                join.kind = PendingKind::Join;
                join.slot = slot;
                join.generation = generation;
                join.channels = {p.channels[i]};
                schedule(std::move(join));
            }
            return enter(slot, p.channels.front(), now, body);
        }
        case PendingKind::Join: {
            const Connection& conn = connections_[p.slot];
            if (!conn.in_use || conn.generation != p.generation || !conn.live ||
                conn.channels.size() >= config_.max_channels_per_connection) {
                return false;
            }
            const std::size_t channel = p.channel();
            const bool already =
                std::any_of(conn.channels.begin(), conn.channels.end(),
                            [&](const Membership& m) { return m.channel == channel; });
            if (already) return false;
            return enter(p.slot, channel, now, body);
        }
    }
    return false;
}

bool Simulation::do_connect(std::int64_t now, std::string& body) {
    const std::size_t max = config_.max_connections_per_client;
    const bool extra_device = rng_.chance(0.25);
    std::size_t chosen = kNone;
    for (int tries = 0; tries < 16 && chosen == kNone; ++tries) {
        const std::size_t c = rng_.below(clients_.size());
        const Client& cl = clients_[c];
        const bool ok =
            extra_device ? (cl.multi_device && cl.live_connections > 0 && cl.live_connections < max)
                         : cl.live_connections == 0;
        if (ok) chosen = c;
    }
    if (chosen == kNone) {
        const std::size_t start = rng_.below(clients_.size());
        for (std::size_t i = 0; i < clients_.size() && chosen == kNone; ++i) {
            const std::size_t c = (start + i) % clients_.size();
            const Client& cl = clients_[c];
            if (cl.live_connections == 0 || (cl.multi_device && cl.live_connections < max)) {
                chosen = c;
            }
        }
    }
    if (chosen == kNone) return false;
    const std::size_t slot = open_connection(chosen);
    const std::size_t channel = pick_channel_for(connections_[slot]);
    if (channel == kNone) {  // cannot happen: every client has a favourite
        close_connection(slot);
        free_slot(slot);
        return false;
    }
    return enter(slot, channel, now, body);
}

bool Simulation::do_join(std::int64_t now, std::string& body) {
    if (live_connections_.empty()) return false;
    const std::size_t slot = live_connections_[rng_.below(live_connections_.size())];
    if (connections_[slot].channels.size() >= config_.max_channels_per_connection) return false;
    const std::size_t channel = pick_channel_for(connections_[slot]);
    if (channel == kNone) return false;
    return enter(slot, channel, now, body);
}

bool Simulation::do_update(std::int64_t now, std::string& body) {
    if (live_members_.empty()) return false;
    const LiveMember lm = live_members_[rng_.below(live_members_.size())];
    Connection& conn = connections_[lm.slot];
    for (std::size_t i = 0; i < conn.channels.size(); ++i) {
        Membership& m = conn.channels[i];
        if (m.channel != lm.channel) continue;
        m.status = (m.status + 1 + rng_.below(std::size(kStatuses) - 1)) % std::size(kStatuses);
        m.since = now;
        id_ = conn.id + ":" + std::to_string(conn.msg_serial++) + ":0";
        emit(lm.slot, i, PresenceAction::Update, id_, now, body);
        return true;
    }
    return false;
}

bool Simulation::do_leave(std::int64_t now, std::string& body) {
    if (live_members_.empty()) return false;
    const LiveMember lm = live_members_[rng_.below(live_members_.size())];
    Connection& conn = connections_[lm.slot];
    for (std::size_t i = 0; i < conn.channels.size(); ++i) {
        if (conn.channels[i].channel != lm.channel) continue;
        id_ = conn.id + ":" + std::to_string(conn.msg_serial++) + ":0";
        emit(lm.slot, i, PresenceAction::Leave, id_, now, body);
        remove_live_member(lm.slot, lm.channel);
        conn.channels.erase(conn.channels.begin() + static_cast<std::ptrdiff_t>(i));
        if (conn.channels.empty()) {  // the last channel left: the tab closes
            close_connection(lm.slot);
            free_slot(lm.slot);
        }
        return true;
    }
    return false;
}

bool Simulation::do_drop(std::int64_t now) {
    const std::size_t slot = live_connections_[rng_.below(live_connections_.size())];
    close_connection(slot);
    ++stats_.connection_drops;
    const Connection& conn = connections_[slot];
    // Ably keeps the members for synthesized_leave_delay, then emits their leaves.
    for (const Membership& m : conn.channels) {
        Pending leave;
        leave.due = now + config_.synthesized_leave_delay.count();
        leave.kind = PendingKind::SynthesizedLeave;
        leave.slot = slot;
        leave.generation = conn.generation;
        leave.channels = {m.channel};
        schedule(std::move(leave));
    }
    if (!conn.channels.empty() && rng_.chance(config_.reconnect_probability)) {
        Pending reconnect;
        const auto span = static_cast<std::uint64_t>(config_.reconnect_delay_max.count()) + 1;
        reconnect.due = now + static_cast<std::int64_t>(rng_.next() % span);
        reconnect.kind = PendingKind::Reconnect;
        reconnect.client = conn.client;
        for (const Membership& m : conn.channels) reconnect.channels.push_back(m.channel);
        schedule(std::move(reconnect));
    }
    if (conn.channels.empty()) free_slot(slot);
    return true;
}

std::size_t Simulation::open_connection(std::size_t client) {
    std::size_t slot = 0;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = connections_.size();
        connections_.emplace_back();
    }
    Connection& conn = connections_[slot];
    conn.id = make_connection_id();
    conn.client = client;
    ++conn.generation;
    conn.msg_serial = 0;
    conn.device = rng_.below(std::size(kDevices));
    conn.in_use = true;
    conn.live = true;
    conn.channels.clear();
    conn.live_pos = live_connections_.size();
    live_connections_.push_back(slot);
    if (clients_[client].live_connections++ == 0) ++online_clients_;
    return slot;
}

void Simulation::close_connection(std::size_t slot) {
    Connection& conn = connections_[slot];
    if (!conn.live) return;
    for (const Membership& m : conn.channels) remove_live_member(slot, m.channel);
    const std::size_t pos = conn.live_pos;
    const std::size_t moved = live_connections_.back();
    live_connections_[pos] = moved;
    connections_[moved].live_pos = pos;
    live_connections_.pop_back();
    conn.live = false;
    if (--clients_[conn.client].live_connections == 0) --online_clients_;
}

void Simulation::free_slot(std::size_t slot) {
    Connection& conn = connections_[slot];
    conn.in_use = false;
    conn.channels.clear();
    free_slots_.push_back(slot);
}

std::size_t Simulation::pick_channel_for(const Connection& conn) {
    const auto joined = [&](std::size_t ch) {
        return std::any_of(conn.channels.begin(), conn.channels.end(),
                           [&](const Membership& m) { return m.channel == ch; });
    };
    if (rng_.chance(0.1)) {  // now and then somewhere new
        const std::size_t ch = rng_.below(config_.channels);
        if (!joined(ch)) return ch;
    }
    const auto& favourites = clients_[conn.client].favourites;
    std::size_t candidates[8];
    std::size_t n = 0;
    for (const std::size_t ch : favourites) {
        if (!joined(ch) && n < std::size(candidates)) candidates[n++] = ch;
    }
    return n == 0 ? kNone : candidates[rng_.below(n)];
}

bool Simulation::enter(std::size_t slot, std::size_t channel, std::int64_t now, std::string& body) {
    Connection& conn = connections_[slot];
    Membership m;
    m.channel = channel;
    m.status = rng_.chance(0.8) ? 0 : rng_.below(std::size(kStatuses));
    m.since = now;
    m.live_pos = live_members_.size();
    conn.channels.push_back(m);
    live_members_.push_back({slot, channel});
    id_ = conn.id + ":" + std::to_string(conn.msg_serial++) + ":0";
    emit(slot, conn.channels.size() - 1, PresenceAction::Enter, id_, now, body);
    return true;
}

void Simulation::remove_live_member(std::size_t slot, std::size_t channel) {
    for (Membership& m : connections_[slot].channels) {
        if (m.channel != channel) continue;
        const std::size_t pos = m.live_pos;
        const LiveMember moved = live_members_.back();
        live_members_[pos] = moved;
        for (Membership& other : connections_[moved.slot].channels) {
            if (other.channel == moved.channel) other.live_pos = pos;
        }
        live_members_.pop_back();
        return;
    }
}

void Simulation::write_member_data(const Connection& conn, const Membership& m) {
    const Client& cl = clients_[conn.client];
    data_.clear();
    data_.push_back('{');
    append_field(data_, "status", kStatuses[m.status]);
    data_.push_back(',');
    append_field(data_, "name", cl.name);
    data_.push_back(',');
    append_field(data_, "avatar", cl.avatar);
    data_.push_back(',');
    append_field(data_, "device", kDevices[conn.device]);
    data_ += ",\"since\":";
    append_json_int(data_, m.since);
    data_.push_back('}');
}

void Simulation::emit(std::size_t slot,
                      std::size_t membership,
                      PresenceAction action,
                      std::string_view id,
                      std::int64_t now,
                      std::string& body) {
    Connection& conn = connections_[slot];
    conn.last_timestamp = now;
    const Membership& m = conn.channels[membership];
    Channel& ch = channels_[m.channel];
    const Client& cl = clients_[conn.client];

    // Ground truth and native fan-out: the count includes the event's own member, so it is
    // taken after an enter and before a leave.
    MemberKey key{ch.name, conn.id, cl.id};
    if (action == PresenceAction::Enter && present_.insert(key).second) {
        ++ch.members;
        ch.dirty = true;
    }
    if (ch.inside) {
        stats_.native_fanout_messages += static_cast<std::uint64_t>(ch.members) + 1;
    } else {
        ++stats_.outside_namespace_events;
    }
    if (action == PresenceAction::Leave && present_.erase(key) > 0) {
        --ch.members;
        ch.dirty = true;
    }
    ++stats_.presence_events;
    ++stats_.by_action[static_cast<std::size_t>(action)];
    stats_.last_timestamp_ms = now;

    write_member_data(conn, m);
    body.clear();
    body += R"({"source":"channel.presence",)";
    append_field(body, "appId", config_.app_id);
    body.push_back(',');
    append_field(body, "channel", ch.name);
    body.push_back(',');
    append_field(body, "site", config_.site);
    body.push_back(',');
    append_field(body, "ruleId", config_.rule_id);
    body += R"(,"presence":[{)";
    append_field(body, "id", id);
    body.push_back(',');
    append_field(body, "clientId", cl.id);
    body.push_back(',');
    append_field(body, "connectionId", conn.id);
    body += R"(,"timestamp":)";
    append_json_int(body, now);
    body += R"(,"action":)";
    append_json_int(body, static_cast<std::int64_t>(action));
    body.push_back(',');
    append_field(body, "data", data_);
    body += R"(,"encoding":"json"}]})";

    if (recent_.size() < kRecentBodies) {
        recent_.push_back(body);
    } else {
        recent_[recent_next_] = body;
        recent_next_ = (recent_next_ + 1) % kRecentBodies;
    }
}

std::size_t Simulation::take_occupancy(std::int64_t now_ms, std::vector<std::string>& bodies) {
    if (next_occupancy_ == 0) next_occupancy_ = now_ms + config_.occupancy_interval.count();
    if (now_ms < next_occupancy_) return 0;
    next_occupancy_ = now_ms + config_.occupancy_interval.count();
    std::size_t n = 0;
    for (Channel& ch : channels_) {
        if (!ch.dirty) continue;
        ch.dirty = false;
        if (ch.members == ch.reported_members) continue;
        ch.reported_members = ch.members;
        if (bodies.size() <= n) bodies.emplace_back();
        std::string& body = bodies[n++];
        // One clientId per connection here, so presenceConnections equals presenceMembers;
        // about a third more connections attach without entering.
        const auto members = static_cast<std::int64_t>(ch.members);
        const std::int64_t connections = members + members / 3;
        body.clear();
        body += R"({"source":"channel.occupancy",)";
        append_field(body, "appId", config_.app_id);
        body.push_back(',');
        append_field(body, "channel", ch.name);
        body.push_back(',');
        append_field(body, "site", config_.site);
        body.push_back(',');
        append_field(body, "ruleId", config_.rule_id);
        body += R"(,"timestamp":)";
        append_json_int(body, now_ms);
        body += R"(,"occupancy":[{"metrics":{"connections":)";
        append_json_int(body, connections);
        body += R"(,"publishers":)";
        append_json_int(body, members);
        body += R"(,"subscribers":)";
        append_json_int(body, connections);
        body += R"(,"presenceConnections":)";
        append_json_int(body, members);
        body += R"(,"presenceMembers":)";
        append_json_int(body, members);
        body += R"(,"presenceSubscribers":)";
        append_json_int(body, connections);
        body += "}}]}";
        ++stats_.occupancy_events;
    }
    return n;
}

bool Simulation::take_duplicate(std::string& body) {
    if (recent_.empty() || !rng_.chance(config_.duplicate_probability)) return false;
    body = recent_[rng_.below(recent_.size())];
    ++stats_.duplicates;
    return true;
}

std::vector<MemberKey> Simulation::member_keys(bool include_outside) const {
    std::vector<MemberKey> keys;
    keys.reserve(present_.size());
    for (const MemberKey& key : present_) {
        if (include_outside || key.channel.starts_with(config_.channel_prefix)) {
            keys.push_back(key);
        }
    }
    return keys;
}

SimulationStats Simulation::stats() const {
    SimulationStats s = stats_;
    for (const Channel& ch : channels_) {
        if (!ch.inside) continue;
        s.expected_members += ch.members;
        if (ch.members > 0) ++s.expected_channels;
    }
    s.online_clients = online_clients_;
    s.live_connections = live_connections_.size();
    return s;
}

}  // namespace presenceagg::detail

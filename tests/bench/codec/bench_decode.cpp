// SPDX-License-Identifier: MIT
// Decoder throughput on realistic bodies: the typical queue envelope (~290 bytes, one presence
// message with small json data), the same with plain string data, a non-enveloped message, a
// batched webhook of 50 items, and a REST presence page. BM_DomBaseline is the calibration
// from design.md (DOM parse of the envelope plus a second parse of its json data) run on the
// same machine in the same process, for comparison.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <presenceagg/decode.hpp>

namespace {

using presenceagg::DecodedBatch;
using presenceagg::Decoder;
using presenceagg::Header;

const std::string kEnvelope =
    R"({"source":"channel.presence","appId":"AppA1","channel":"presence:lobby:eu",)"
    R"("site":"eu-west-1-A","ruleId":"Rk1x9a","presence":[{"id":"c0nnA1b2C3:7:0",)"
    R"("clientId":"user-48213","connectionId":"c0nnA1b2C3","timestamp":1700000000123,)"
    R"("action":2,"data":"{\"status\":\"online\",\"name\":\"Ada L\",\"seat\":12}",)"
    R"("encoding":"json"}]})";

const std::string kEnvelopeText =
    R"({"source":"channel.presence","appId":"AppA1","channel":"presence:lobby:eu",)"
    R"("site":"eu-west-1-A","ruleId":"Rk1x9a","presence":[{"id":"c0nnA1b2C3:7:0",)"
    R"("clientId":"user-48213","connectionId":"c0nnA1b2C3","timestamp":1700000000123,)"
    R"("action":2,"data":"online, seat 12 in the main lobby"}]})";

std::string webhook_body(int items) {
    std::string body = R"({"items":[)";
    for (int i = 0; i < items; ++i) {
        if (i > 0) body += ',';
        const std::string n = std::to_string(i);
        body += R"({"webhookId":"Wh1","source":"channel.presence","serial":"s9x:)" + n +
                R"(","timestamp":1700000000200,"name":"presence.message","data":{)"
                R"("channelId":"presence:room-)" +
                std::to_string(i % 7) + R"(","site":"eu-west-1-A","presence":[{"id":"conn)" + n +
                R"(:8:0","clientId":"user-)" + n + R"(","connectionId":"conn)" + n +
                R"(","timestamp":1700000000190,"action":2,)"
                R"("data":"{\"status\":\"online\",\"seat\":)" +
                n + R"(}","encoding":"json"}]}})";
    }
    body += "]}";
    return body;
}

std::string rest_page(int members) {
    std::string body = "[";
    for (int i = 0; i < members; ++i) {
        if (i > 0) body += ',';
        const std::string n = std::to_string(i);
        body += R"({"id":"conn)" + n + R"(:3:0","clientId":"user-)" + n +
                R"(","connectionId":"conn)" + n +
                R"(","timestamp":1700000000000,"action":1,"data":"{\"seat\":)" + n +
                R"(}","encoding":"json"})";
    }
    return body + "]";
}

void run_queue(benchmark::State& state, const std::string& body) {
    Decoder decoder;
    DecodedBatch batch;
    for (auto _ : state) {
        batch.clear();
        auto r = decoder.decode_queue_message(body, {}, batch);
        if (!r.ok()) state.SkipWithError(r.message.c_str());
        benchmark::DoNotOptimize(batch.presence.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
    state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_DecodeQueueEnvelope(benchmark::State& state) {
    run_queue(state, kEnvelope);
}
BENCHMARK(BM_DecodeQueueEnvelope);

void BM_DecodeQueueEnvelopeTextData(benchmark::State& state) {
    run_queue(state, kEnvelopeText);
}
BENCHMARK(BM_DecodeQueueEnvelopeTextData);

void BM_DecodeQueueNonEnveloped(benchmark::State& state) {
    const std::vector<Header> headers = {{"X-ABLY-ENVELOPE-SOURCE", "channel.presence"},
                                         {"X-ABLY-ENVELOPE-CHANNEL", "presence:lobby:eu"},
                                         {"X-ABLY-MESSAGE-ID", "c0nnA1b2C3:7:0"},
                                         {"X-ABLY-MESSAGE-TIMESTAMP", "1700000000123"},
                                         {"X-ABLY-MESSAGE-CONNECTION-ID", "c0nnA1b2C3"},
                                         {"X-ABLY-MESSAGE-CLIENT-ID", "user-48213"},
                                         {"X-ABLY-MESSAGE-ACTION", "enter"},
                                         {"content-type", "application/json"}};
    const std::string body = R"({"status":"online","name":"Ada L","seat":12})";
    Decoder decoder;
    DecodedBatch batch;
    for (auto _ : state) {
        batch.clear();
        auto r = decoder.decode_queue_message(body, headers, batch);
        if (!r.ok()) state.SkipWithError(r.message.c_str());
        benchmark::DoNotOptimize(batch.presence.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_DecodeQueueNonEnveloped);

void BM_DecodeWebhook50(benchmark::State& state) {
    const std::string body = webhook_body(50);
    Decoder decoder;
    DecodedBatch batch;
    for (auto _ : state) {
        batch.clear();
        auto r = decoder.decode_webhook(body, batch);
        if (!r.ok()) state.SkipWithError(r.message.c_str());
        benchmark::DoNotOptimize(batch.presence.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 50));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
    state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_DecodeWebhook50);

void BM_DecodeRestPage100(benchmark::State& state) {
    const std::string body = rest_page(100);
    Decoder decoder;
    std::vector<presenceagg::PresenceMessage> out;
    for (auto _ : state) {
        out.clear();
        auto r = decoder.decode_channel_presence(body, "presence:lobby", out);
        if (!r.ok()) state.SkipWithError(r.message.c_str());
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 100));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_DecodeRestPage100);

// Calibration only: what a straightforward DOM decode of the same envelope costs.
void BM_DomBaseline(benchmark::State& state) {
    for (auto _ : state) {
        rapidjson::Document doc;
        doc.Parse(kEnvelope.data(), kEnvelope.size());
        const auto& data = doc["presence"][0]["data"];
        rapidjson::Document inner;
        inner.Parse(data.GetString(), data.GetStringLength());
        benchmark::DoNotOptimize(inner.IsObject());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kEnvelope.size()));
}
BENCHMARK(BM_DomBaseline);

}  // namespace

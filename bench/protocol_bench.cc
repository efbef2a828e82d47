// Protocol codec benchmarks: decode and encode of typical DDP messages.
//
//   build/bin/bench_protocol
//
// Target (issue 2): decode + encode of the 150-byte `changed` <= 1 us.
#include <string>

#include "benchmark/benchmark.h"
#include "protocol/ddp_message.h"

namespace ddp {
namespace {

// 150 bytes: a typical trading-screen update.
const std::string kChanged =
    R"({"msg":"changed","collection":"trades","id":"Ab3kWqz9PmNtRx7Yc",)"
    R"("fields":{"price":187.25,"qty":1200,"ts":{"$date":1700000000123}},"cleared":["note"]})";

std::string MakeAdded1K() {
  std::string s = R"({"msg":"added","collection":"chat.room42","id":"Zx8kWqz9PmNtRx7Yc","fields":{)";
  s += R"("author":"alice","ts":{"$date":1700000000123},"tags":["a","b","c"],"n":42,"score":0.75,)";
  s += R"("text":")";
  while (s.size() < 1000) s += "lorem ipsum dolor sit amet ";
  s += R"("}})";
  return s;
}
const std::string kAdded1K = MakeAdded1K();

const std::string kMethod =
    R"({"msg":"method","method":"tx","params":[[{"op":"insert","topic":"accounts",)"
    R"("doc":{"_id":"a1","balance":100}},{"op":"update","topic":"accounts","selector":{"_id":"a2"},)"
    R"("modifier":{"$inc":{"balance":-100}}}],{"key":"transfer-7"}],"id":"17"})";

void Decode(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    auto m = DecodeMessage(std::string_view(text));
    benchmark::DoNotOptimize(m);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void Encode(benchmark::State& state, const std::string& text) {
  Message m = *DecodeMessage(std::string_view(text));
  for (auto _ : state) {
    std::string out = EncodeMessage(m);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void DecodeEncode(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    auto m = DecodeMessage(std::string_view(text));
    std::string out = EncodeMessage(*m);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_DecodeChanged150(benchmark::State& s) { Decode(s, kChanged); }
void BM_EncodeChanged150(benchmark::State& s) { Encode(s, kChanged); }
void BM_DecodeEncodeChanged150(benchmark::State& s) { DecodeEncode(s, kChanged); }
void BM_DecodeAdded1K(benchmark::State& s) { Decode(s, kAdded1K); }
void BM_EncodeAdded1K(benchmark::State& s) { Encode(s, kAdded1K); }
void BM_DecodeEncodeAdded1K(benchmark::State& s) { DecodeEncode(s, kAdded1K); }
void BM_DecodeMethod(benchmark::State& s) { Decode(s, kMethod); }
void BM_EncodeMethod(benchmark::State& s) { Encode(s, kMethod); }
void BM_DecodeEncodeMethod(benchmark::State& s) { DecodeEncode(s, kMethod); }

// The server's hot path: encode a `changed` from fields it already holds.
void BM_EncodeChangedFastPath(benchmark::State& state) {
  Object fields{{"price", Value(187.25)}, {"qty", Value(1200)}, {"ts", Value(Date{1700000000123})}};
  std::vector<std::string> cleared{"note"};
  for (auto _ : state) {
    std::string out = EncodeChanged("trades", "Ab3kWqz9PmNtRx7Yc", fields, cleared);
    benchmark::DoNotOptimize(out);
  }
}

BENCHMARK(BM_DecodeChanged150);
BENCHMARK(BM_EncodeChanged150);
BENCHMARK(BM_DecodeEncodeChanged150);
BENCHMARK(BM_EncodeChangedFastPath);
BENCHMARK(BM_DecodeAdded1K);
BENCHMARK(BM_EncodeAdded1K);
BENCHMARK(BM_DecodeEncodeAdded1K);
BENCHMARK(BM_DecodeMethod);
BENCHMARK(BM_EncodeMethod);
BENCHMARK(BM_DecodeEncodeMethod);

}  // namespace
}  // namespace ddp

BENCHMARK_MAIN();

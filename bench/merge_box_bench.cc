// Merge box under fan-out (issue 7, the default publication strategy), in
// process, one thread:
//
//   build/bin/bench_merge_box
//
// One publish goes to N clients' merge boxes as ddpd delivers it: the
// same shared fields and pre-encoded `added` for every client, each client
// indexing the new document in its own table. Tables grow as in S1 (every
// event stays in the topic) up to 50,000 documents per client, then start
// over (outside the timed region). Reports merge-box `added`s per second.
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocol/data_change.h"
#include "protocol/ids.h"
#include "server/ddp/merge_box.h"

namespace ddp {
namespace {

class CountingSink : public MergeSink {
 public:
  void SendAdded(std::string_view, std::string_view, const Object&) override { ++messages; }
  void SendChanged(std::string_view, std::string_view, const Object&,
                   const std::vector<std::string>&) override {
    ++messages;
  }
  void SendRemoved(std::string_view, std::string_view) override { ++messages; }
  void SendAddedBefore(std::string_view, std::string_view, const Object&,
                       const std::optional<std::string>&) override {
    ++messages;
  }
  void SendMovedBefore(std::string_view, std::string_view,
                       const std::optional<std::string>&) override {
    ++messages;
  }
  void SendEncoded(const std::shared_ptr<const std::string>&) override { ++messages; }
  int64_t messages = 0;
};

constexpr int kDocsPerTable = 50000;
constexpr std::string_view kCollection = "bench.S1.4242";

struct Event {
  std::string id;
  std::shared_ptr<const Object> fields;
  std::shared_ptr<const std::string> encoded;
};

std::vector<Event> MakeEvents() {
  std::vector<Event> events;
  events.reserve(kDocsPerTable);
  EventIdGenerator ids;
  for (int i = 0; i < kDocsPerTable; ++i) {
    Event e;
    e.id = ids.Next();
    Object f;
    f.Append("_id", Value(e.id));
    f.Append("ts", Value(int64_t{1700000000000} + i));
    f.Append("p", Value(std::string(100, 'x')));
    e.fields = std::make_shared<const Object>(std::move(f));
    DataChange added;
    added.collection = std::string(kCollection);
    added.id = e.id;
    added.fields = *e.fields;
    e.encoded = std::make_shared<const std::string>(EncodeDataChange(added));
    events.push_back(std::move(e));
  }
  return events;
}

void BM_MergeBoxFanOut(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  static const std::vector<Event> events = MakeEvents();
  CountingSink sink;
  std::vector<std::unique_ptr<MergeBox>> boxes;
  auto fresh = [&] {
    boxes.clear();
    for (int c = 0; c < clients; ++c) boxes.push_back(std::make_unique<MergeBox>());
  };
  fresh();
  size_t next = 0;
  for (auto _ : state) {
    if (next == events.size()) {
      state.PauseTiming();
      fresh();
      next = 0;
      state.ResumeTiming();
    }
    const Event& e = events[next++];
    for (auto& box : boxes) {
      absl::Status s = box->Added(1, kCollection, e.id, *e.fields, sink, e.encoded, e.fields);
      benchmark::DoNotOptimize(s);
    }
  }
  state.SetItemsProcessed(state.iterations() * clients);
}
BENCHMARK(BM_MergeBoxFanOut)->Arg(100)->Iterations(200000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ddp

BENCHMARK_MAIN();

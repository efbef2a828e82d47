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
#include <malloc.h>

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
  SharedDocumentRef doc;
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
    e.doc = SharedDocumentRef::Make(e.id, std::move(f));
    DataChange added;
    added.collection = std::string(kCollection);
    added.id = e.id;
    added.fields = e.doc->fields();
    e.encoded = std::make_shared<const std::string>(EncodeDataChange(added));
    events.push_back(std::move(e));
  }
  return events;
}

// range(0) clients; the events arrive in batches of range(1) per client (a
// commit group's changes: S1's closed loop produces batches of tens), each
// client prefetching its index slots kPrefetch changes ahead as
// Subscription::ApplyBatch does when range(2) is 1.
void BM_MergeBoxFanOut(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  const size_t batch = static_cast<size_t>(state.range(1));
  const bool prefetch = state.range(2) != 0;
  constexpr size_t kPrefetch = 8;
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
    if (next + batch > events.size()) {
      state.PauseTiming();
      fresh();
      next = 0;
      state.ResumeTiming();
    }
    for (auto& box : boxes) {
      if (prefetch) {
        for (size_t i = 0; i < kPrefetch && i < batch; ++i) {
          const Event& e = events[next + i];
          box->Prefetch(kCollection, e.id, e.doc->id_hash());
        }
      }
      for (size_t i = 0; i < batch; ++i) {
        if (prefetch && i + kPrefetch < batch) {
          const Event& ahead = events[next + i + kPrefetch];
          box->Prefetch(kCollection, ahead.id, ahead.doc->id_hash());
        }
        const Event& e = events[next + i];
        absl::Status s = box->Added(1, kCollection, e.id, e.doc->fields(), sink, e.encoded, e.doc);
        benchmark::DoNotOptimize(s);
      }
    }
    next += batch;
  }
  state.SetItemsProcessed(state.iterations() * clients * static_cast<int64_t>(batch));
}
// About 200,000 events per client in each (four rounds of tables growing
// to 50,000).
BENCHMARK(BM_MergeBoxFanOut)->Args({100, 1, 0})->Iterations(200000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MergeBoxFanOut)
    ->Args({100, 32, 0})
    ->Args({100, 32, 1})
    ->Iterations(6000)
    ->Unit(benchmark::kMicrosecond);

// Changes to documents the clients hold (a dashboard's rows updating):
// 100 clients hold the same 10,000 documents; each iteration changes one
// of them in every client, as the same live query's batch would. range(0)
// = 1 hands the box the document after the change (DataChange::after, what
// live queries do now), 0 does not (the box then makes each client its own
// copy of the document on its first change). Reports changes per second
// and the heap the clients' copies take per document and client.
void BM_MergeBoxChanges(benchmark::State& state) {
  const bool with_after = state.range(0) != 0;
  constexpr int kClients = 100;
  constexpr int kDocs = 10000;
  CountingSink sink;
  std::vector<std::unique_ptr<MergeBox>> boxes;
  std::vector<SharedDocumentRef> docs;
  for (int d = 0; d < kDocs; ++d) {
    Object f;
    f.Append("price", Value(int64_t{100}));
    f.Append("name", Value("instrument " + std::to_string(d)));
    f.Append("desk", Value(std::string(60, 'x')));
    docs.push_back(SharedDocumentRef::Make("doc" + std::to_string(d), std::move(f)));
  }
  for (int c = 0; c < kClients; ++c) {
    boxes.push_back(std::make_unique<MergeBox>());
    for (const auto& d : docs) {
      (void)boxes.back()->Added(1, kCollection, d->id(), d->fields(), sink, nullptr, d);
    }
  }
  const size_t heap_before = mallinfo2().uordblks;
  int64_t n = 0;
  for (auto _ : state) {
    const int d = static_cast<int>(n % kDocs);
    ++n;
    Object changed;
    changed.Append("price", Value(int64_t{100} + n));
    Object whole = docs[d]->fields();
    whole.Set("price", Value(int64_t{100} + n));
    docs[d] = SharedDocumentRef::Make(docs[d]->id(), std::move(whole));
    const SharedDocumentRef after = with_after ? docs[d] : nullptr;
    for (auto& box : boxes) {
      absl::Status s = box->Changed(1, kCollection, docs[d]->id(), changed, {}, sink, nullptr, after);
      benchmark::DoNotOptimize(s);
    }
  }
  state.SetItemsProcessed(state.iterations() * kClients);
  const double heap = static_cast<double>(mallinfo2().uordblks) - static_cast<double>(heap_before);
  state.counters["client_heap_bytes_per_doc"] = heap / (kClients * kDocs);
}
// 20,000 changes: every document changed twice.
BENCHMARK(BM_MergeBoxChanges)->Arg(0)->Arg(1)->Iterations(20000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ddp

BENCHMARK_MAIN();

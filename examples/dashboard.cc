// A live dashboard: order volume per symbol, maintained by ddpd with a
// $group pipeline and updated in place as orders come in.
//
//   dashboard [ws://127.0.0.1:3000/websocket]
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "client/client.h"
#include "protocol/json.h"

using namespace std::chrono_literals;

namespace {

constexpr const char* kQuery = R"({
  "pipeline": [
    {"$group": {"_id": "$symbol", "qty": {"$sum": "$qty"}, "orders": {"$count": {}},
                "avgPrice": {"$avg": "$price"}}}
  ],
  "as": "volume"
})";

std::string Row(const std::string& symbol, const ddp::Object& row) {
  char buf[160];
  const ddp::Value* qty = row.Find("qty");
  const ddp::Value* orders = row.Find("orders");
  const ddp::Value* avg = row.Find("avgPrice");
  std::snprintf(buf, sizeof buf, "%-5s qty %6.0f  orders %4.0f  avg price %8.2f", symbol.c_str(),
                qty ? qty->ToDouble() : 0, orders ? orders->ToDouble() : 0, avg ? avg->ToDouble() : 0);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  ddp::ClientOptions options;
  if (argc > 1) options.url = argv[1];
  auto c = ddp::SyncClient::Connect(options);
  if (!c.ok()) {
    std::fprintf(stderr, "cannot connect to %s: %s\n", options.url.c_str(),
                 std::string(c.status().message()).c_str());
    return 1;
  }
  ddp::Value query = *ddp::ParseJson(kQuery);

  // Each change to a row prints the row.
  ddp::ObserveCallbacks tick;
  tick.changed = [&](const std::string& symbol, const ddp::Object&, const std::vector<std::string>&) {
    (*c)->client().ReadCache([&](const ddp::Cache& cache) {
      std::printf("  update  %s\n", Row(symbol, *cache.Get("volume")->Find(symbol)).c_str());
    });
  };
  tick.added = [](const std::string& symbol, const ddp::Object& row) {
    std::printf("  new     %s\n", Row(symbol, row).c_str());
  };
  (*c)->client().Observe("volume", tick);
  if (auto sub = (*c)->Subscribe("orders", ddp::Array{query}); !sub.ok()) {
    std::fprintf(stderr, "subscribe failed: %s\n", std::string(sub.status().message()).c_str());
    return 1;
  }

  // A burst of orders, 10 per publish (each publish is one transaction).
  std::mt19937 rng(42);
  const char* symbols[] = {"AAPL", "MSFT", "GOOG"};
  for (int batch = 0; batch < 5; ++batch) {
    ddp::Array docs;
    for (int i = 0; i < 10; ++i) {
      docs.push_back(ddp::Value(ddp::Object{
          {"symbol", ddp::Value(symbols[rng() % 3])},
          {"qty", ddp::Value(static_cast<int64_t>(1 + rng() % 100))},
          {"price", ddp::Value(100.0 + static_cast<double>(rng() % 5000) / 100.0)}}));
    }
    auto r = (*c)->Call("publish", ddp::Array{ddp::Value("orders"), ddp::Value(std::move(docs))});
    if (!r.ok()) {
      std::fprintf(stderr, "publish failed: %s\n", std::string(r.status().message()).c_str());
      return 1;
    }
  }

  // The live rows equal a fresh, non-reactive run of the same query.
  auto fresh = (*c)->Call("query", ddp::Array{ddp::Value("orders"), query});
  if (!fresh.ok()) return 1;
  std::map<std::string, std::string> expected;
  for (const ddp::Value& row : fresh->as_array()) {
    ddp::Object o = row.as_object();
    std::string id = o.Find("_id")->as_string();
    o.Erase("_id");
    expected[id] = Row(id, o);
  }
  std::map<std::string, std::string> live;
  for (auto& [id, row] : (*c)->Find("volume")) live[id] = Row(id, row);
  std::printf("dashboard:\n");
  for (auto& [id, line] : live) std::printf("  %s\n", line.c_str());
  if (live != expected) {
    std::fprintf(stderr, "the live dashboard differs from a fresh query\n");
    return 1;
  }
  std::printf("ok\n");
  return 0;
}

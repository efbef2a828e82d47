// Transfers between two accounts, all-or-nothing: each transfer is one
// `tx` that checks the balance (expect) and moves the money (two $inc).
// Two threads transfer in opposite directions at once; money is never
// created or lost, no balance goes negative, and a retried transfer with
// the same key is applied once.
//
//   transfer [ws://127.0.0.1:3000/websocket]
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "client/client.h"
#include "protocol/json.h"

namespace {

ddp::Value Json(const std::string& text) { return *ddp::ParseJson(text); }

// One transfer as a transaction. The key makes a retry safe.
absl::StatusOr<ddp::Value> Transfer(ddp::SyncClient& c, const std::string& from, const std::string& to,
                                    int amount, const std::string& key) {
  std::string a = std::to_string(amount);
  ddp::Value ops = Json(R"([
    {"op":"expect","topic":"accounts","id":")" + from + R"(","match":{"balance":{"$gte":)" + a + R"(}}},
    {"op":"update","topic":"accounts","selector":{"_id":")" + from + R"("},"modifier":{"$inc":{"balance":-)" + a + R"(}}},
    {"op":"update","topic":"accounts","selector":{"_id":")" + to + R"("},"modifier":{"$inc":{"balance":)" + a + R"(}}}
  ])");
  ddp::CallOptions retry;
  retry.retry_on_reconnect = true;  // safe: the key makes it idempotent
  return c.Call("tx", ddp::Array{ops, Json(R"({"key":")" + key + R"("})")}, std::chrono::seconds(30), retry);
}

double Balance(ddp::SyncClient& c, const std::string& id) {
  auto r = c.Call("query", ddp::Array{ddp::Value("accounts"), Json(R"({"filter":{"_id":")" + id + R"("}})")});
  return r.ok() && !r->as_array().empty() ? r->as_array()[0].as_object().Find("balance")->ToDouble() : -1;
}

}  // namespace

int main(int argc, char** argv) {
  ddp::ClientOptions options;
  if (argc > 1) options.url = argv[1];
  auto c = ddp::SyncClient::Connect(options);
  if (!c.ok()) {
    std::fprintf(stderr, "cannot connect to %s\n", options.url.c_str());
    return 1;
  }
  // Open both accounts with 100 (upsert: the example can run again).
  auto opened = (*c)->Call("tx", ddp::Array{Json(R"([
    {"op":"update","topic":"accounts","selector":{"_id":"alice"},"modifier":{"$set":{"balance":100}},"upsert":true},
    {"op":"update","topic":"accounts","selector":{"_id":"bob"},"modifier":{"$set":{"balance":100}},"upsert":true}
  ])")});
  if (!opened.ok()) {
    std::fprintf(stderr, "open failed: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }

  std::string run = std::to_string(std::random_device{}());
  std::atomic<int> done{0}, refused{0}, failed{0};
  auto worker = [&](std::string from, std::string to, unsigned seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 25; ++i) {
      int amount = 1 + static_cast<int>(rng() % 40);
      auto r = Transfer(**c, from, to, amount, run + "-" + from + "-" + std::to_string(i));
      if (r.ok()) {
        done++;
      } else if (auto e = ddp::ServerError(r.status()); e && e->error == ddp::Value("conflict")) {
        refused++;  // not enough money: nothing was applied
      } else {
        failed++;
        std::fprintf(stderr, "transfer failed: %s\n", std::string(r.status().message()).c_str());
      }
    }
  };
  std::thread t1(worker, "alice", "bob", 1), t2(worker, "bob", "alice", 2);
  t1.join();
  t2.join();

  // A retry with a key already used returns the first result, applies nothing.
  double before = Balance(**c, "alice");
  auto again = Transfer(**c, "alice", "bob", 1, run + "-alice-0");
  bool idempotent = Balance(**c, "alice") == before;

  double alice = Balance(**c, "alice"), bob = Balance(**c, "bob");
  std::printf("%d transfers applied, %d refused (insufficient funds)\n", done.load(), refused.load());
  std::printf("alice %.0f + bob %.0f = %.0f\n", alice, bob, alice + bob);
  if (failed > 0 || alice + bob != 200 || alice < 0 || bob < 0 || !idempotent) {
    std::fprintf(stderr, "invariant broken (failed %d, idempotent %d, again %s)\n", failed.load(),
                 idempotent, again.ok() ? "ok" : std::string(again.status().message()).c_str());
    return 1;
  }
  std::printf("ok\n");
  return 0;
}

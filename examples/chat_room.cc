// A chat room: Alice and Bob each follow the last 50 messages of the
// lobby (newest first, ordered) and see each other's messages arrive live.
//
//   chat_room [ws://127.0.0.1:3000/websocket]
#include <chrono>
#include <cstdio>
#include <string>

#include "client/client.h"
#include "protocol/json.h"

using namespace std::chrono_literals;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Posts a message; returns its id.
std::string Post(ddp::SyncClient& c, const std::string& user, const std::string& text) {
  ddp::Object msg{{"user", ddp::Value(user)}, {"text", ddp::Value(text)}, {"ts", ddp::Value(NowMs())}};
  auto id = c.Call("/chat.lobby/insert", ddp::Array{ddp::Value(std::move(msg))});
  if (!id.ok()) {
    std::fprintf(stderr, "post failed: %s\n", std::string(id.status().message()).c_str());
    std::exit(1);
  }
  return id->as_string();
}

// Waits until `id` is in the client's copy of the room.
bool Sees(ddp::SyncClient& c, const std::string& id) {
  return c.WaitFor([&](const ddp::Cache& cache) {
                const ddp::Collection* room = cache.Get("chat.lobby");
                return room != nullptr && room->Find(id) != nullptr;
              }, 10s).ok();
}

}  // namespace

int main(int argc, char** argv) {
  ddp::ClientOptions options;
  if (argc > 1) options.url = argv[1];

  auto alice = ddp::SyncClient::Connect(options);
  auto bob = ddp::SyncClient::Connect(options);
  if (!alice.ok() || !bob.ok()) {
    std::fprintf(stderr, "cannot connect to %s\n", options.url.c_str());
    return 1;
  }
  // Bob prints what arrives, as it arrives (on his client's I/O thread).
  ddp::ObserveCallbacks printer;
  printer.added = [](const std::string&, const ddp::Object& m) {
    std::printf("  [bob's screen] %s: %s\n", m.Find("user")->as_string().c_str(),
                m.Find("text")->as_string().c_str());
  };
  (*bob)->client().Observe("chat.lobby", printer);

  // Newest first. Two messages can share a millisecond; the ids the server
  // generates are time-ordered, so `_id` breaks the tie.
  auto query = *ddp::ParseJson(R"({"sort":{"ts":-1,"_id":-1},"limit":50,"ordered":true})");
  for (auto* c : {alice->get(), bob->get()}) {
    auto sub = c->Subscribe("chat.lobby", ddp::Array{query});
    if (!sub.ok()) {
      std::fprintf(stderr, "subscribe failed: %s\n", std::string(sub.status().message()).c_str());
      return 1;
    }
  }

  std::string hello = Post(**alice, "alice", "hi Bob!");
  if (!Sees(**bob, hello)) return 1;
  std::string reply = Post(**bob, "bob", "hello Alice");
  if (!Sees(**alice, reply)) return 1;

  // Alice's view, newest first, as her subscription orders it.
  std::printf("alice's screen, newest first:\n");
  int shown = 0;
  for (auto& [id, m] : (*alice)->Find("chat.lobby")) {
    if (shown++ == 5) break;
    std::printf("  %s: %s\n", m.Find("user")->as_string().c_str(), m.Find("text")->as_string().c_str());
  }
  auto first = (*alice)->Find("chat.lobby");
  if (first.empty() || first[0].first != reply) {
    std::fprintf(stderr, "the newest message should be Bob's reply\n");
    return 1;
  }
  std::printf("ok\n");
  return 0;
}

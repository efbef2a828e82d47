// The floor under a clustered commit: one client publishing to a JetStream
// stream with nats.c, one message at a time (each waits for its
// acknowledgement), with Nats-Expected-Last-Sequence as ddpd sets it, and
// W such clients at once. Prints one JSON line: publishes/s, p50/p99 of
// the acknowledgement in microseconds.
//
//   jetstream_raw_bench --servers nats://127.0.0.1:4222 --replicas 3 --seconds 5
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"

int main(int argc, char** argv) {
  CLI::App app{"jetstream_raw_bench: synchronous JetStream publishes, the floor of a clustered commit"};
  std::string servers = "nats://127.0.0.1:4222";
  int replicas = 3, writers = 1, bytes = 200;
  double seconds = 5;
  bool expect = true;
  app.add_option("--servers", servers, "comma-separated NATS URLs");
  app.add_option("--replicas", replicas, "stream replicas");
  app.add_option("--writers", writers, "concurrent publishers (each one at a time)");
  app.add_option("--bytes", bytes, "message size");
  app.add_option("--seconds", seconds, "duration");
  app.add_option("--expect", expect, "set Nats-Expected-Last-Sequence (writers=1 only)");
  CLI11_PARSE(app, argc, argv);
  if (writers > 1) expect = false;

  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  std::vector<std::string> list;
  for (size_t at = 0; at <= servers.size();) {
    size_t comma = servers.find(',', at);
    if (comma == std::string::npos) comma = servers.size();
    list.push_back(servers.substr(at, comma - at));
    at = comma + 1;
  }
  std::vector<const char*> urls;
  for (auto& s : list) urls.push_back(s.c_str());
  natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  natsConnection* nc = nullptr;
  if (natsConnection_Connect(&nc, opts) != NATS_OK) {
    std::fprintf(stderr, "cannot connect: %s\n", nats_GetLastError(nullptr));
    return 1;
  }
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  std::string stream = "raw" + std::to_string(getpid());
  std::string subject = "raw." + stream;
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = stream.c_str();
  const char* subjects[] = {subject.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  for (int i = 0; i < 50; ++i) {
    if (js_AddStream(&si, js, &cfg, nullptr, &jerr) == NATS_OK) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (si == nullptr) {
    std::fprintf(stderr, "cannot create the stream (%d)\n", static_cast<int>(jerr));
    return 1;
  }
  jsStreamInfo_Destroy(si);
  std::string payload(bytes, 'x');
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> lat(writers);
  std::vector<std::thread> threads;
  auto t0 = std::chrono::steady_clock::now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      uint64_t last = 0;
      while (!stop) {
        natsMsg* m = nullptr;
        natsMsg_Create(&m, subject.c_str(), nullptr, payload.data(), bytes);
        if (expect) natsMsgHeader_Set(m, "Nats-Expected-Last-Sequence", std::to_string(last).c_str());
        jsPubAck* ack = nullptr;
        jsErrCode e = static_cast<jsErrCode>(0);
        auto a = std::chrono::steady_clock::now();
        natsStatus s = js_PublishMsg(&ack, js, m, nullptr, &e);
        auto b = std::chrono::steady_clock::now();
        natsMsg_Destroy(m);
        if (s == NATS_OK) {
          last = ack->Sequence;
          jsPubAck_Destroy(ack);
          lat[w].push_back(std::chrono::duration<double, std::micro>(b - a).count());
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0 : all[static_cast<size_t>(p * (all.size() - 1))]; };
  std::printf(
      "{\"replicas\":%d,\"writers\":%d,\"bytes\":%d,\"publishes\":%zu,\"publishes_per_s\":%.0f,"
      "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
      replicas, writers, bytes, all.size(), all.size() / elapsed, pct(0.5), pct(0.99));
  js_DeleteStream(js, stream.c_str(), nullptr, nullptr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  return 0;
}

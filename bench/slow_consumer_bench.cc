// A slow consumer among fast ones (issue 17): one client subscribes and
// then never reads, 100 others read everything, while a writer updates one
// document at a steady rate. Prints ddpd's memory (RSS) over time, what the
// fast clients received and how late, and what the slow one gets when it
// finally reads.
//
//   build/bin/slow_consumer_bench [build/bin/ddpd] [seconds=20] [updates/s=1000] [slow=1]
//
// slow=0 runs the same without the client that does not read, for the
// memory the rest of the run takes (the store's memtable grows with every
// write until it is flushed).
//
// ddpd runs as its own process with --durability none, a 1 MiB soft and a
// 4 MiB hard outbound limit per connection (--outbound-soft-bytes,
// --outbound-queue-bytes): above the soft limit the slow client's pending
// changes to the document are merged, so its queue stays bounded and it is
// never closed. The heartbeat is 60 s here: with the default 15 s a client
// that reads nothing (pings included) is closed after about 30 s (4000),
// as Meteor closes it.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/strings.h"
#include "protocol/json.h"
#include "tests/support/process.h"
#include "tests/support/ws_client.h"

namespace {

using namespace ddp;
using namespace ddp::testing;
using Clock = std::chrono::steady_clock;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t RssKib(pid_t pid) {
  std::ifstream in(StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string ddpd = argc > 1 ? argv[1] : "build/bin/ddpd";
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 20;
  const int rate = argc > 3 ? std::atoi(argv[3]) : 1000;
  const bool with_slow = argc > 4 ? std::atoi(argv[4]) != 0 : true;
  constexpr int kFast = 100;
  const std::string dir = StrCat("/tmp/slow_consumer_bench_", getpid());
  auto server =
      Process::Start({ddpd, "--port", "0", "--bind", "127.0.0.1", "--data-dir", dir, "--durability",
                      "none", "--log-level", "info", "--outbound-soft-bytes", "1048576",
                      "--outbound-queue-bytes", "4194304", "--heartbeat-interval-ms", "60000"});
  if (!server.ok()) {
    std::fprintf(stderr, "cannot start %s: %s\n", ddpd.c_str(), server.status().ToString().c_str());
    return 1;
  }
  auto line = (*server)->WaitForLine("listening on", std::chrono::seconds(20));
  if (!line.ok()) return 1;
  const uint16_t port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  auto open = [&]() {
    auto c = WsClient::Open(port);
    if (!c.ok() || !(*c)->DdpConnect().ok()) std::abort();
    return std::move(*c);
  };
  auto writer = open();
  const std::string pad(1000, 'x');
  if (!writer->Call("/ticks/insert", R"([{"_id":"t","i":-1}])").ok()) return 1;

  auto slow = open();
  if (with_slow) {
    if (MsgOf(*slow->Subscribe("s", "ticks")) != "ready") return 1;
    slow->set_reading(false);
  }
  std::vector<std::unique_ptr<WsClient>> fast;
  for (int i = 0; i < kFast; ++i) {
    fast.push_back(open());
    if (MsgOf(*fast.back()->Subscribe("s", "ticks")) != "ready") return 1;
  }
  const int total = seconds * rate;
  std::vector<int> received(kFast, 0);
  std::vector<std::vector<int64_t>> lateness(kFast);
  std::vector<std::thread> readers;
  for (int i = 0; i < kFast; ++i) {
    readers.emplace_back([&, i] {
      while (true) {
        auto m = fast[i]->ReadJson(std::chrono::seconds(30));
        if (!m.ok()) return;
        if (MsgOf(*m) != "changed") continue;
        const Value* ts = m->FindPath("fields.ts");
        if (ts != nullptr) lateness[i].push_back(NowMicros() - ts->as_int());
        ++received[i];
        const Value* n = m->FindPath("fields.i");
        if (n != nullptr && n->as_int() == total - 1) return;
      }
    });
  }
  std::atomic<bool> writing{true};
  std::printf("# t_s rss_kib (ddpd, %d fast readers + 1 that never reads, %d updates/s of 1 KB)\n",
              kFast, rate);
  std::thread sampler([&] {
    const auto start = Clock::now();
    while (writing.load()) {
      std::printf("%.1f %lld\n", std::chrono::duration<double>(Clock::now() - start).count(),
                  static_cast<long long>(RssKib((*server)->pid())));
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    }
  });
  // Steady rate, in slices of 10 ms; each slice's calls are answered before
  // the next (a writer that waits for its acknowledgements).
  const auto start = Clock::now();
  const int per_slice = std::max(1, rate / 100);
  for (int i = 0; i < total;) {
    const int end = std::min(total, i + per_slice);
    for (int j = i; j < end; ++j) {
      std::string m = StrCat(R"({"msg":"method","id":"u)", j,
                             R"(","method":"/ticks/update","params":[{"_id":"t"},{"$set":{"i":)", j,
                             R"(,"ts":)", NowMicros(), R"(,"pad":")", pad, R"("}}]})");
      if (!writer->Send(m).ok()) return 1;
    }
    for (int results = 0; results < end - i;) {
      auto m = writer->ReadJson(std::chrono::seconds(30));
      if (!m.ok()) return 1;
      results += MsgOf(*m) == "result";
    }
    i = end;
    std::this_thread::sleep_until(start +
                                  std::chrono::microseconds(int64_t{10000} * (i / per_slice)));
  }
  for (auto& t : readers) t.join();
  writing = false;
  sampler.join();
  const double took = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<int64_t> all;
  for (auto& l : lateness) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0 : all[static_cast<size_t>(p * (all.size() - 1))];
  };
  const int min_received = *std::min_element(received.begin(), received.end());
  std::printf("# wrote %d updates in %.1f s\n", total, took);
  std::printf(
      "# fast readers: each received %d..%d of %d changes; lateness p50 %.1f ms, p99 %.1f ms, "
      "p99.9 %.1f ms, max %.1f ms\n",
      min_received, *std::max_element(received.begin(), received.end()), total, pct(0.5) / 1000.0,
      pct(0.99) / 1000.0, pct(0.999) / 1000.0, pct(1.0) / 1000.0);
  // The slow client reads now: it is still connected and catches up to the
  // last state with far fewer messages.
  slow->set_reading(true);
  int slow_received = 0;
  int64_t last = -2;
  while (with_slow && last != total - 1) {
    auto m = slow->ReadJson(std::chrono::seconds(30));
    if (!m.ok()) {
      std::printf("# slow client: lost after %d changes: %s\n", slow_received,
                  m.status().ToString().c_str());
      break;
    }
    if (MsgOf(*m) != "changed") continue;
    ++slow_received;
    if (const Value* n = m->FindPath("fields.i")) last = n->as_int();
  }
  if (with_slow)
    std::printf("# slow client: %s, %d changes to reach the last state (i=%lld)\n",
                slow->closed() ? "closed" : "still connected", slow_received,
                static_cast<long long>(last));
  (*server)->Signal(SIGTERM);
  (void)(*server)->Wait(std::chrono::seconds(10));
  std::filesystem::remove_all(dir);
  return 0;
}

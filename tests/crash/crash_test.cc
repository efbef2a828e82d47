// Crash safety: concurrent writers commit transactions that each insert a
// document into two topics; the real ddpd process is killed with SIGKILL at
// random moments and restarted on the same data directory. After every
// restart: every acknowledged transaction is present, no transaction is
// partly present, and the change log's seqs have no holes.
//
// DDP_CRASH_ROUNDS sets the number of kills (default 20, what CI runs);
// DDP_CRASH_DURABILITY the mode (default sync); DDP_RANDOM_SEED the seed.
// DDP_CRASH_POWER_LOSS=1 makes every kill a power cut: ddpd runs with
// --test-power-loss-journal, so what was not fsynced at the kill is gone at
// the restart (storage/fault_fs.h). Then in sync mode no acknowledged
// transaction may be lost; in batch mode the lost ones must be the newest
// of each writer (the log a prefix of what was acknowledged), and how many
// and how old they were at the kill is reported (bench/RELIABILITY.md).
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "common/clock.h"
#include "common/strings.h"
#include "protocol/json.h"
#include "tests/support/process.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

uint16_t PortFromLog(const std::string& line) {
  size_t at = line.find("listening on ");
  size_t colon = line.find(':', at + 13);
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

struct Verified {
  size_t docs = 0;
  uint64_t last_seq = 0;
  std::set<std::string> ids;  // the transactions present
};

// Reads every document of both topics and the whole change log.
absl::StatusOr<Verified> Verify(uint16_t port, const std::map<std::string, SteadyTime>& acked,
                                const std::set<std::string>& attempted, bool allow_lost) {
  auto c = WsClient::Open(port);
  if (!c.ok()) return c.status();
  if (auto s = (*c)->DdpConnect(); !s.ok()) return s.status();
  std::set<std::string> in_a, in_b;
  for (auto [topic, set] : {std::pair{"crash.a", &in_a}, std::pair{"crash.b", &in_b}}) {
    // Page through the topic (queries return at most 10,000 documents).
    for (size_t skip = 0;; skip += 10000) {
      auto r = (*c)->Call("query", StrCat(R"([")", topic, R"(",{"sort":{"_id":1},"skip":)", skip,
                                          R"(,"limit":10000}])"));
      if (!r.ok()) return r.status();
      if (r->Find("error")) return absl::InternalError(ToJson(*r));
      const Array& page = r->Find("result")->as_array();
      for (const Value& d : page) set->insert(d.Find("_id")->as_string());
      if (page.size() < 10000) break;
    }
  }
  // No transaction is partly present, and nothing appears that nobody wrote.
  if (in_a != in_b) {
    return absl::DataLossError(StrCat("partial transaction: ", in_a.size(), " docs in crash.a, ",
                                      in_b.size(), " in crash.b"));
  }
  for (const std::string& id : in_a) {
    if (!attempted.contains(id)) return absl::DataLossError(StrCat("unknown document ", id));
  }
  // Every acknowledged transaction survived.
  if (!allow_lost) {
    for (const auto& [id, at] : acked) {
      if (!in_a.contains(id)) return absl::DataLossError(StrCat("acknowledged ", id, " is lost"));
    }
  }
  // The log: seqs 1..last without holes, one per transaction.
  uint64_t expect = 1;
  while (true) {
    auto h = (*c)->Call("history", StrCat(R"(["crash.>",{"fromSeq":)", expect - 1, R"(,"limit":10000}])"));
    if (!h.ok()) return h.status();
    if (h->Find("error")) return absl::InternalError(ToJson(*h));
    const Array& entries = h->Find("result")->as_array();
    if (entries.empty()) break;
    for (const Value& e : entries) {
      uint64_t seq = static_cast<uint64_t>(e.Find("seq")->as_int());
      if (seq != expect) return absl::DataLossError(StrCat("seq hole: expected ", expect, " got ", seq));
      if (e.Find("changes")->as_array().size() != 2) {
        return absl::DataLossError(StrCat("seq ", seq, " does not hold both documents"));
      }
      ++expect;
    }
  }
  if (expect - 1 != in_a.size()) {
    return absl::DataLossError(
        StrCat("log has ", expect - 1, " transactions, topics hold ", in_a.size()));
  }
  return Verified{in_a.size(), expect - 1, std::move(in_a)};
}

TEST(CrashTest, AcknowledgedTransactionsSurviveSigkill) {
  int rounds = EnvInt("DDP_CRASH_ROUNDS", 20);
  const char* seed_env = std::getenv("DDP_RANDOM_SEED");
  uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device{}();
  std::string durability = std::getenv("DDP_CRASH_DURABILITY") ? std::getenv("DDP_CRASH_DURABILITY") : "sync";
  const bool power_loss = EnvInt("DDP_CRASH_POWER_LOSS", 0) != 0;
  // Only a power cut in batch mode may lose what was acknowledged (what the
  // sync interval had not reached yet); a process kill never may.
  const bool allow_lost = power_loss && durability == "batch";
  std::mt19937_64 rng(seed);
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                              ("crash_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::map<std::string, SteadyTime> acked;  // id -> when its answer came
  std::set<std::string> attempted;
  std::mutex mu;
  size_t last_docs = 0;
  size_t lost_total = 0, lost_rounds = 0;
  double lost_max_age_ms = 0;
  SteadyTime killed_at{};
  for (int round = 0; round <= rounds; ++round) {
    SCOPED_TRACE(StrCat("seed ", seed, " round ", round));
    std::vector<std::string> args = {BinaryPath("ddpd"), "--port",       "0",
                                     "--bind",           "127.0.0.1",    "--data-dir",
                                     dir.string(),       "--durability", durability};
    if (power_loss) {
      args.push_back("--test-power-loss-journal");
      args.push_back(dir.string() + ".journal");
    }
    auto p = Process::Start(args);
    ASSERT_TRUE(p.ok());
    auto line = (*p)->WaitForLine("listening on", std::chrono::seconds(60));
    ASSERT_TRUE(line.ok()) << (*p)->Output();
    uint16_t port = PortFromLog(*line);
    absl::StatusOr<Verified> v = Verify(port, acked, attempted, allow_lost);
    ASSERT_TRUE(v.ok()) << v.status() << "\n" << (*p)->Output();
    if (allow_lost) {
      // What a power cut took must be the newest of each writer: for every
      // lost transaction, none after it (same round and writer) survived.
      std::map<std::string, int> first_lost;  // "r<round>w<writer>" -> lowest lost i
      size_t lost = 0;
      for (auto it = acked.begin(); it != acked.end();) {
        if (v->ids.contains(it->first)) {
          ++it;
          continue;
        }
        const std::string& id = it->first;
        size_t at_i = id.rfind('i');
        std::string writer = id.substr(0, at_i);
        int i = std::stoi(id.substr(at_i + 1));
        auto [slot, fresh] = first_lost.emplace(writer, i);
        if (!fresh) slot->second = std::min(slot->second, i);
        lost_max_age_ms = std::max(
            lost_max_age_ms,
            std::chrono::duration<double, std::milli>(killed_at - it->second).count());
        ++lost;
        it = acked.erase(it);  // gone for good: later rounds do not expect it
      }
      for (const std::string& id : v->ids) {
        size_t at_i = id.rfind('i');
        auto f = first_lost.find(id.substr(0, at_i));
        if (f != first_lost.end()) {
          EXPECT_LT(std::stoi(id.substr(at_i + 1)), f->second)
              << id << " survived although an earlier acknowledged write of its writer was lost";
        }
      }
      lost_total += lost;
      lost_rounds += lost > 0;
    } else {
      EXPECT_GE(v->docs, last_docs);
    }
    last_docs = v->docs;
    if (round == rounds) {
      (*p)->Signal(SIGTERM);
      EXPECT_EQ(*(*p)->Wait(std::chrono::seconds(30)), 0);
      break;
    }
    // Writers, then a kill at a random moment.
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        auto c = WsClient::Open(port);
        if (!c.ok() || !(*c)->DdpConnect().ok()) return;
        for (int i = 0; !stop; ++i) {
          std::string id = StrCat("r", round, "w", w, "i", i);
          {
            std::lock_guard<std::mutex> lock(mu);
            attempted.insert(id);
          }
          auto r = (*c)->Call("tx", StrCat(R"([[{"op":"insert","topic":"crash.a","doc":{"_id":")", id,
                                           R"(","x":)", i, R"(}},{"op":"insert","topic":"crash.b","doc":{"_id":")", id,
                                           R"("}}]])"));
          if (!r.ok()) return;  // the server died
          if (r->Find("error") != nullptr) {
            ADD_FAILURE() << "tx failed: " << ToJson(*r);
            return;
          }
          std::lock_guard<std::mutex> lock(mu);
          acked.emplace(id, SteadyClock::now());
        }
      });
    }
    int delay_ms = std::uniform_int_distribution<int>(20, 250)(rng);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    // The kill time is the point of the test: wait for it.
    while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
    (*p)->Signal(SIGKILL);
    killed_at = SteadyClock::now();
    stop = true;
    for (auto& t : writers) t.join();
    ASSERT_EQ(*(*p)->Wait(std::chrono::seconds(30)), 128 + SIGKILL);
  }
  std::cout << "crash test: " << rounds << (power_loss ? " power cuts, " : " kills, ")
            << durability << ", " << acked.size() << " acknowledged transactions kept, "
            << lost_total << " acknowledged lost (in " << lost_rounds << " rounds, the oldest "
            << lost_max_age_ms << " ms before its cut), seed " << seed << "\n";
  EXPECT_GT(acked.size(), static_cast<size_t>(rounds));  // the writers did write
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ddp::testing

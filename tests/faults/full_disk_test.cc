// A full disk under a running ddpd, on a real file system: a small ext4
// image, loop-mounted (needs root, as CI has), is filled to the last block
// by another process while writers commit. Writes must fail with a clear
// error and never lose what was acknowledged; reads and subscriptions go
// on; when the filler is deleted, writing resumes without a restart.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "common/strings.h"
#include "protocol/json.h"
#include "tests/support/process.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

namespace fs = std::filesystem;

int Shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

uint64_t FreeBytes(const fs::path& p) {
  struct statvfs st;
  if (::statvfs(p.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// Takes every free block of the file system: one fallocate for the bulk,
// then small writes until ENOSPC (fallocate leaves some blocks for its own
// metadata). Returns the bytes taken.
uint64_t FillDisk(const fs::path& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  uint64_t taken = 0;
  uint64_t bulk = FreeBytes(file.parent_path());
  if (bulk > (1 << 20) && ::fallocate(fd, 0, 0, static_cast<off_t>(bulk - (1 << 20))) == 0) {
    taken = bulk - (1 << 20);
  }
  std::string block(4096, 'f');
  while (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(taken)) ==
         static_cast<ssize_t>(block.size())) {
    taken += block.size();
  }
  ::fsync(fd);
  ::close(fd);
  return taken;
}

uint16_t PortFromLog(const std::string& line) {
  size_t at = line.find("listening on ");
  size_t colon = line.find(':', at + 13);
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

// Every document id of the topic, by paging through it.
absl::StatusOr<std::set<std::string>> ReadIds(WsClient& c) {
  std::set<std::string> ids;
  for (size_t skip = 0;; skip += 10000) {
    auto r = c.Call("query", StrCat(R"(["disk.docs",{"fields":{"_id":1},"sort":{"_id":1},"skip":)",
                                    skip, R"(,"limit":10000}])"));
    if (!r.ok()) return r.status();
    if (r->Find("error")) return absl::InternalError(ToJson(*r));
    const Array& page = r->Find("result")->as_array();
    for (const Value& d : page) ids.insert(d.Find("_id")->as_string());
    if (page.size() < 10000) break;
  }
  return ids;
}

// Writers inserting documents of `doc_bytes` on their own connections
// until stopped, counting what was acknowledged and why the rest was
// refused.
class Writers {
 public:
  Writers(uint16_t port, int n, std::string prefix, size_t doc_bytes = 8000) {
    for (int w = 0; w < n; ++w) {
      threads_.emplace_back([this, port, w, prefix, doc_bytes] {
        auto c = WsClient::Open(port);
        if (!c.ok() || !(*c)->DdpConnect().ok()) {
          broken_ = true;
          return;
        }
        const std::string body(doc_bytes, 'x');
        for (int i = 0; !stop_; ++i) {
          std::string id = StrCat(prefix, "w", w, "i", i);
          auto r = (*c)->Call("/disk.docs/insert",
                              StrCat(R"([{"_id":")", id, R"(","body":")", body, R"("}])"));
          if (!r.ok()) {  // the connection itself must stay up
            broken_ = true;
            return;
          }
          bool refused = r->Find("error") != nullptr;
          {
            std::lock_guard<std::mutex> lock(mu_);
            if (refused) {
              errors_[ErrorText(*r)]++;
            } else {
              acked_.insert(id);
            }
          }
          (refused ? refused_ : ok_)++;
          // A client backs off after an error rather than spin.
          if (refused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      });
    }
  }
  ~Writers() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  // Counters since the last Reset.
  int ok() const { return ok_; }
  int refused() const { return refused_; }
  void Reset() {
    ok_ = 0;
    refused_ = 0;
  }
  bool broken() const { return broken_; }
  std::set<std::string> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  std::map<std::string, int> errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false}, broken_{false};
  std::atomic<int> ok_{0}, refused_{0};
  std::mutex mu_;
  std::set<std::string> acked_;
  std::map<std::string, int> errors_;
};

// A subscriber to every document of the topic, reading on its own thread.
class Subscriber {
 public:
  explicit Subscriber(uint16_t port) {
    auto c = WsClient::Open(port);
    if (!c.ok() || !(*c)->DdpConnect().ok()) return;
    client_ = std::move(*c);
    if (MsgOf(*client_->Subscribe("all", "disk.docs", R"([{"fields":{"_id":1}}])")) != "ready") {
      return;
    }
    ready_ = true;
    reader_ = std::thread([this] {
      while (!stop_) {
        auto m = client_->ReadJson(std::chrono::milliseconds(100));
        if (!m.ok()) {
          if (client_->closed()) return;
          continue;
        }
        if (MsgOf(*m) != "added") continue;
        std::lock_guard<std::mutex> lock(mu_);
        seen_.insert(m->Find("id")->as_string());
      }
    });
  }
  ~Subscriber() {
    stop_ = true;
    if (reader_.joinable()) reader_.join();
  }
  bool ready() const { return ready_; }
  bool closed() const { return client_ == nullptr || client_->closed(); }
  // Waits until every id of `want` was added.
  bool SawAll(const std::set<std::string>& want) {
    return WaitUntil(
        [&] {
          std::lock_guard<std::mutex> lock(mu_);
          return std::includes(seen_.begin(), seen_.end(), want.begin(), want.end());
        },
        std::chrono::milliseconds(60000));
  }

 private:
  std::unique_ptr<WsClient> client_;
  bool ready_ = false;
  std::atomic<bool> stop_{false};
  std::thread reader_;
  std::mutex mu_;
  std::set<std::string> seen_;
};

bool WaitFor(const std::function<bool()>& cond) {
  return WaitUntil(cond, std::chrono::milliseconds(60000));
}

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "this test loop-mounts a file system and needs root "
                                  "(CI runs as root; exclude it locally with ctest -LE root)";
    root_ = fs::path(::testing::TempDir()) / ("full_disk_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "mnt");
    image_ = root_ / "disk.img";
    // 512 MiB: room for RocksDB's preallocated logs and memtable flushes,
    // small enough to fill in a second.
    ASSERT_EQ(Shell(StrCat("truncate -s 512M ", image_.string())), 0);
    ASSERT_EQ(Shell(StrCat("mkfs.ext4 -q -F -m 0 ", image_.string())), 0) << "mkfs.ext4 failed";
    int rc = Shell(StrCat("mount -o loop ", image_.string(), " ", (root_ / "mnt").string()));
    ASSERT_EQ(rc, 0) << "mount -o loop failed: " << rc;
    mounted_ = true;
    data_ = root_ / "mnt" / "data";
    filler_ = root_ / "mnt" / "filler";
  }
  void TearDown() override {
    server_.reset();
    if (mounted_) Shell(StrCat("umount ", (root_ / "mnt").string()));
    fs::remove_all(root_);
  }

  uint16_t StartServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {BinaryPath("ddpd"), "--port",     "0",
                                     "--bind",           "127.0.0.1",  "--data-dir",
                                     data_.string(),     "--durability", "sync"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = Process::Start(args);
    EXPECT_TRUE(p.ok());
    server_ = std::move(*p);
    auto line = server_->WaitForLine("listening on", std::chrono::seconds(60));
    EXPECT_TRUE(line.ok()) << server_->Output();
    return line.ok() ? PortFromLog(*line) : 0;
  }
  void Restart(std::vector<std::string> extra = {}) {
    server_->Signal(SIGTERM);
    ASSERT_EQ(*server_->Wait(std::chrono::seconds(30)), 0) << server_->Output();
    port_ = StartServer(std::move(extra));
    ASSERT_NE(port_, 0);
  }
  // Every acknowledged document is there.
  void ExpectAll(const std::set<std::string>& acked) {
    auto c = WsClient::Open(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->DdpConnect().ok());
    auto ids = ReadIds(**c);
    ASSERT_TRUE(ids.ok()) << ids.status();
    for (const std::string& id : acked) ASSERT_TRUE(ids->contains(id)) << id << " lost";
  }
  void Fill() {
    uint64_t taken = FillDisk(filler_);
    std::cout << "filled the disk with " << (taken >> 20) << " MiB; "
              << (FreeBytes(data_) >> 10) << " KiB left\n";
  }
  static void Report(Writers& w) {
    for (const auto& [reason, n] : w.errors()) std::cout << "  " << n << " x " << reason << "\n";
  }

  fs::path root_, image_, data_, filler_;
  bool mounted_ = false;
  std::unique_ptr<Process> server_;
  uint16_t port_ = 0;
};

// With the free-space reserve (the default), ddpd refuses writes before
// RocksDB meets the full disk, and resumes alone.
TEST_F(FullDiskTest, WritesFailClearlyAndResumeWhenSpaceReturns) {
  port_ = StartServer();
  ASSERT_NE(port_, 0);
  Subscriber sub(port_);
  ASSERT_TRUE(sub.ready());
  Writers writers(port_, 3, "a");
  ASSERT_TRUE(WaitFor([&] { return writers.ok() >= 300 || writers.broken(); }));
  ASSERT_FALSE(writers.broken());

  Fill();  // while the writers go on
  writers.Reset();
  ASSERT_TRUE(WaitFor([&] { return writers.refused() >= 30; })) << "writes did not fail";
  writers.Reset();
  ASSERT_TRUE(WaitFor([&] { return writers.refused() >= 100; }));
  EXPECT_EQ(writers.ok(), 0) << "writes acknowledged on a full disk";
  Report(writers);
  for (const auto& [reason, n] : writers.errors()) {
    EXPECT_NE(reason.find("storage unavailable: the disk is almost full"), std::string::npos)
        << reason;
  }
  // Reads and subscriptions go on.
  ExpectAll(writers.acked());
  Subscriber during(port_);
  EXPECT_TRUE(during.ready());

  // Space returns: writes resume by themselves.
  fs::remove(filler_);
  writers.Reset();
  ASSERT_TRUE(WaitFor([&] { return writers.ok() >= 200; }))
      << "writes did not resume after space returned\n"
      << server_->Output();
  writers.Stop();
  ASSERT_FALSE(writers.broken());
  std::set<std::string> acked = writers.acked();
  ExpectAll(acked);
  EXPECT_TRUE(sub.SawAll(acked)) << "the subscriber missed acknowledged documents";
  EXPECT_FALSE(sub.closed()) << "the subscriber was disconnected";
  std::cout << "full disk, reserve 64 MiB: " << acked.size()
            << " acknowledged, all present and delivered\n";
  Restart();
  ExpectAll(acked);
}

// Without the reserve RocksDB meets ENOSPC itself. What Debian's RocksDB
// does then is recorded here: every refusal is a clear error, nothing
// acknowledged is lost, reads go on, and once space returns either writes
// resume (a flush failed: DB::Resume clears it) or the answer says a
// restart is needed (the log failed: RocksDB's fatal case), and after one
// they do.
TEST_F(FullDiskTest, WithoutTheReserveNothingIsLostAndWritingRecovers) {
  port_ = StartServer({"--min-free-disk-mb", "0"});
  ASSERT_NE(port_, 0);
  // 500 KB documents: RocksDB preallocates ~35 MiB of log, which small
  // writes would take minutes to outgrow on this slow-syncing loop device.
  Writers writers(port_, 3, "b", 500000);
  ASSERT_TRUE(WaitFor([&] { return writers.ok() >= 300 || writers.broken(); }));
  Fill();
  writers.Reset();
  ASSERT_TRUE(WaitFor([&] { return writers.refused() >= 30; }))
      << "writes did not fail: " << writers.ok() << " acknowledged since, broken "
      << writers.broken() << "\n"
      << server_->Output();
  ExpectAll(writers.acked());
  fs::remove(filler_);
  writers.Reset();
  // A second for TryResume's retry interval, then see which case it is.
  bool resumed = WaitUntil([&] { return writers.ok() >= 50; }, std::chrono::milliseconds(5000));
  writers.Stop();
  ASSERT_FALSE(writers.broken());
  Report(writers);
  for (const auto& [reason, n] : writers.errors()) {
    EXPECT_NE(reason.find("storage unavailable"), std::string::npos) << reason;
  }
  std::set<std::string> acked = writers.acked();
  ExpectAll(acked);
  std::cout << "full disk, no reserve: " << acked.size() << " acknowledged, "
            << (resumed ? "writes resumed without a restart" : "a restart was needed") << "\n";
  Restart();
  ExpectAll(acked);
  Writers after(port_, 1, "c");
  EXPECT_TRUE(WaitFor([&] { return after.ok() >= 20 || after.broken(); }));
  EXPECT_FALSE(after.broken());
}

}  // namespace
}  // namespace ddp::testing

// The real ddpd binary as a process: help, bad flags, start, SIGTERM.
#include <signal.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

// A fresh data directory for one ddpd process.
std::string DataDir(std::string_view name) {
  std::string dir = ::testing::TempDir() + "/ddpd_process_" + std::string(name) + "_" +
                    std::to_string(getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

uint16_t PortFromLog(const std::string& line) {
  size_t at = line.find("listening on ");
  size_t colon = line.find(':', at + 13);
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

TEST(DdpdProcessTest, HelpListsTheOptions) {
  auto p = Process::Start({BinaryPath("ddpd"), "--help"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*(*p)->Wait(std::chrono::seconds(10)), 0);
  std::string out = (*p)->Output();
  for (const char* opt : {"--port", "--bind", "--threads", "--log-level", "--data-dir",
                          "--max-message-bytes", "--outbound-queue-bytes", "DDPD_"}) {
    EXPECT_NE(out.find(opt), std::string::npos) << opt;
  }
}

TEST(DdpdProcessTest, BadFlagsFailWithAMessage) {
  auto p = Process::Start({BinaryPath("ddpd"), "--port", "notanumber"});
  ASSERT_TRUE(p.ok());
  EXPECT_NE(*(*p)->Wait(std::chrono::seconds(10)), 0);
  EXPECT_NE((*p)->Output().find("--port"), std::string::npos) << (*p)->Output();
  auto q = Process::Start({BinaryPath("ddpd"), "--log-level", "loud"});
  EXPECT_NE(*(*q)->Wait(std::chrono::seconds(10)), 0);
  auto r = Process::Start({BinaryPath("ddpd"), "--no-such-flag"});
  EXPECT_NE(*(*r)->Wait(std::chrono::seconds(10)), 0);
}

TEST(DdpdProcessTest, ALockedDataDirectoryIsAClearError) {
  std::string dir = DataDir("locked");
  auto first = Process::Start({BinaryPath("ddpd"), "--port", "0", "--bind", "127.0.0.1",
                               "--data-dir", dir});
  ASSERT_TRUE((*first)->WaitForLine("listening on", std::chrono::seconds(20)).ok());
  auto second = Process::Start({BinaryPath("ddpd"), "--port", "0", "--bind", "127.0.0.1",
                                "--data-dir", dir});
  EXPECT_EQ(*(*second)->Wait(std::chrono::seconds(20)), 1);
  EXPECT_NE((*second)->Output().find("in use by another process"), std::string::npos)
      << (*second)->Output();
}

TEST(DdpdProcessTest, PortInUseIsAClearError) {
  auto first = Process::Start({BinaryPath("ddpd"), "--port", "0", "--bind", "127.0.0.1",
                               "--data-dir", DataDir("first")});
  auto line = (*first)->WaitForLine("listening on", std::chrono::seconds(20));
  ASSERT_TRUE(line.ok()) << (*first)->Output();
  std::string port = std::to_string(PortFromLog(*line));
  auto second = Process::Start({BinaryPath("ddpd"), "--port", port, "--bind", "127.0.0.1",
                                "--data-dir", DataDir("second")});
  EXPECT_EQ(*(*second)->Wait(std::chrono::seconds(20)), 1);
  EXPECT_NE((*second)->Output().find("cannot bind"), std::string::npos) << (*second)->Output();
}

TEST(DdpdProcessTest, SigtermClosesSessionsWith1001AndExitsZero) {
  auto p = Process::Start({BinaryPath("ddpd"), "--port", "0", "--bind", "127.0.0.1",
                           "--data-dir", DataDir("sigterm")});
  ASSERT_TRUE(p.ok());
  auto line = (*p)->WaitForLine("listening on", std::chrono::seconds(20));
  ASSERT_TRUE(line.ok()) << (*p)->Output();
  uint16_t port = PortFromLog(*line);
  auto health = HttpFetch(port, "GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  auto client = WsClient::Open(port);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->DdpConnect().ok());
  (*p)->Signal(SIGTERM);
  auto closed = (*client)->WaitClosed(std::chrono::seconds(15));
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->code, 1001);
  EXPECT_EQ(*(*p)->Wait(std::chrono::seconds(15)), 0) << (*p)->Output();
}

TEST(DdpdProcessTest, SigintToo) {
  auto p = Process::Start({BinaryPath("ddpd"), "--port", "0", "--bind", "127.0.0.1",
                           "--data-dir", DataDir("sigint")});
  ASSERT_TRUE((*p)->WaitForLine("listening on", std::chrono::seconds(20)).ok());
  (*p)->Signal(SIGINT);
  EXPECT_EQ(*(*p)->Wait(std::chrono::seconds(15)), 0);
}

}  // namespace
}  // namespace ddp::testing

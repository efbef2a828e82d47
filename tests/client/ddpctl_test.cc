// ddpctl end to end: the real binary against a real ddpd process, checked
// through its real output and exit codes.
#include <signal.h>

#include <filesystem>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "tests/support/process.h"

namespace ddp::testing {
namespace {

using namespace std::chrono_literals;

class DdpctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/ddpctl_test_" + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    StartDdpd("0");
  }
  void TearDown() override {
    if (ddpd_) {
      ddpd_->Signal(SIGTERM);
      (void)ddpd_->Wait(15s);
    }
    std::filesystem::remove_all(dir_);
  }
  void StartDdpd(const std::string& port) {
    auto p = Process::Start({BinaryPath("ddpd"), "--port", port, "--bind", "127.0.0.1", "--data-dir", dir_});
    ASSERT_TRUE(p.ok()) << p.status();
    ddpd_ = std::move(*p);
    auto line = ddpd_->WaitForLine("listening on", 20s);
    ASSERT_TRUE(line.ok()) << ddpd_->Output();
    size_t colon = line->find(':', line->find("listening on ") + 13);
    port_ = std::stoi(line->substr(colon + 1));
  }
  std::string Url() const { return StrCat("ws://127.0.0.1:", port_, "/websocket"); }

  struct Run {
    int code;
    std::string out;
  };
  // Runs ddpctl to completion with the server's URL.
  Run Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv{BinaryPath("ddpctl"), "--url", Url()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = Process::Start(argv);
    EXPECT_TRUE(p.ok());
    auto code = (*p)->Wait(30s);
    EXPECT_TRUE(code.ok()) << (*p)->Output();
    return {code.value_or(-1), (*p)->Output()};
  }
  // Through a shell, for stdin.
  Run Shell(const std::string& cmd) {
    auto p = Process::Start({"/bin/sh", "-c", cmd}, {StrCat("DDPCTL_URL=", Url())});
    auto code = (*p)->Wait(30s);
    return {code.value_or(-1), (*p)->Output()};
  }

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> ddpd_;
};

TEST_F(DdpctlTest, HelpForEverySubcommand) {
  auto top = Ctl({"--help"});
  EXPECT_EQ(top.code, 0);
  for (const char* s : {"sub", "call", "publish", "tx", "query", "bench", "Exit codes", "--url", "--token", "--json"}) {
    EXPECT_NE(top.out.find(s), std::string::npos) << s;
  }
  std::map<std::string, std::vector<std::string>> options = {
      {"sub", {"--query", "--count", "--for", "--until-ready", "--no-reconnect"}},
      {"call", {"method", "params"}},
      {"publish", {"topic", "--batch"}},
      {"tx", {"ops", "--key"}},
      {"query", {"topic", "--query"}},
      {"bench", {"--publishers", "--subscribers", "--rate", "--duration", "--size", "--window"}}};
  for (auto& [sub, opts] : options) {
    auto r = Ctl({sub, "--help"});
    EXPECT_EQ(r.code, 0) << sub;
    for (auto& o : opts) EXPECT_NE(r.out.find(o), std::string::npos) << sub << " " << o << "\n" << r.out;
  }
}

TEST_F(DdpctlTest, PublishQueryCallTx) {
  auto r = Ctl({"publish", "chat.r1", R"({"_id":"m1","user":"ann","text":"hi"})"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "published 1 document to chat.r1 (last seq 1)\n");
  r = Ctl({"--json", "publish", "chat.r1", R"([{"_id":"m2","user":"bob"},{"_id":"m3","user":"cy"}])"});
  EXPECT_EQ(r.out, "{\"ids\":[\"m2\",\"m3\"],\"seq\":2}\n");
  r = Ctl({"query", "chat.r1", "-q", R"({"sort":{"user":-1},"fields":{"user":1}})"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "{\"_id\":\"m3\",\"user\":\"cy\"}\n{\"_id\":\"m2\",\"user\":\"bob\"}\n"
                   "{\"_id\":\"m1\",\"user\":\"ann\"}\n3 documents\n");
  r = Ctl({"call", "/chat.r1/update", R"({"user":{"$in":["ann","bob"]}})", R"({"$set":{"seen":true}})",
           R"({"multi":true})"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "2\n");
  r = Ctl({"call", "history", R"("chat.r1")", R"({"fromSeq":2})"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"seq\": 3"), std::string::npos) << r.out;  // readable: indented
  r = Ctl({"tx", R"([{"op":"insert","topic":"acct","doc":{"_id":"a","bal":10}}])", "--key", "k1"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "committed at seq 4\n[\n  \"a\"\n]\n");
  // The same key again: the first result, nothing applied twice.
  r = Ctl({"--json", "tx", R"([{"op":"insert","topic":"acct","doc":{"_id":"a","bal":10}}])", "--key", "k1"});
  EXPECT_EQ(r.out, "{\"seq\":4,\"results\":[\"a\"]}\n");
  // A JSON array parameter stays whole (CLI11 would split "[a,b]" at commas).
  r = Ctl({"call", "publish", R"("chat.r2")", R"([{"_id":"p1","n":[1,2]},{"_id":"p2"}])", "--json"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "{\"ids\":[\"p1\",\"p2\"],\"seq\":5}\n");
}

TEST_F(DdpctlTest, PublishFromStdinAndTxFromStdin) {
  auto r = Shell(StrCat("printf '{\"n\":1}\\n\\n{\"n\":2}\\n{\"n\":3}\\n' | ", BinaryPath("ddpctl"),
                        " publish nums --batch 2"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "published 3 documents to nums (last seq 2)\n");
  r = Shell(StrCat("printf '{\"n\":1}\\nnot json\\n' | ", BinaryPath("ddpctl"), " publish nums"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("line 2 is not valid JSON"), std::string::npos) << r.out;
  r = Shell(StrCat("echo '[{\"op\":\"remove\",\"topic\":\"nums\",\"selector\":{}}]' | ", BinaryPath("ddpctl"),
                   " --json tx -"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "{\"seq\":3,\"results\":[3]}\n");
}

TEST_F(DdpctlTest, ErrorsHaveMessagesAndExitCodes) {
  // 2: usage, nothing sent.
  auto r = Ctl({"call", "/a/insert", "not json"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("argument 1 is not valid JSON"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'\"not json\"'"), std::string::npos) << r.out;  // the quoting hint
  EXPECT_EQ(Ctl({"nosuchcommand"}).code, 2);
  EXPECT_EQ(Ctl({"sub"}).code, 2);
  EXPECT_EQ(Ctl({"tx", "{}"}).code, 2);
  EXPECT_EQ(Ctl({"bench", "--publishers", "0"}).code, 2);
  // 1: the server refused.
  r = Ctl({"query", "t", "-q", R"({"filter":{"$where":"1"}})"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("[400]"), std::string::npos) << r.out;
  r = Ctl({"tx", R"([{"op":"expect","topic":"acct","id":"zz","exists":true}])"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("conflict"), std::string::npos) << r.out;
  r = Ctl({"sub", "t", "-q", R"({"limit":-1})"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("subscription 't'"), std::string::npos) << r.out;
  r = Ctl({"--token", "abc", "query", "t"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("login failed"), std::string::npos) << r.out;
  // 3: no server there.
  auto p = Process::Start({BinaryPath("ddpctl"), "--url", "ws://127.0.0.1:1/websocket", "query", "t"});
  EXPECT_EQ(*(*p)->Wait(30s), 3);
  EXPECT_NE((*p)->Output().find("is ddpd running?"), std::string::npos) << (*p)->Output();
  p = Process::Start({BinaryPath("ddpctl"), "--url", "http://127.0.0.1:1", "query", "t"});
  EXPECT_EQ(*(*p)->Wait(30s), 2);
  EXPECT_NE((*p)->Output().find("ws://"), std::string::npos) << (*p)->Output();
}

TEST_F(DdpctlTest, SubPrintsLiveChangesAndSurvivesARestart) {
  Ctl({"publish", "room", R"({"_id":"a","text":"first"})"});
  auto sub = Process::Start({BinaryPath("ddpctl"), "--url", Url(), "--json", "sub", "room"});
  ASSERT_TRUE((*sub)->WaitForLine("\"ready\"", 20s).ok()) << (*sub)->Output();
  Ctl({"publish", "room", R"({"_id":"b","text":"second"})"});
  Ctl({"call", "/room/update", R"({"_id":"a"})", R"({"$set":{"text":"edited"},"$unset":{"x":1}})"});
  ASSERT_TRUE((*sub)->WaitForLine("\"changed\"", 20s).ok()) << (*sub)->Output();

  // The server restarts on the same port; the sub reconnects, prints no
  // duplicates, and keeps following.
  ddpd_->Signal(SIGTERM);
  ASSERT_EQ(*ddpd_->Wait(15s), 0);
  ASSERT_TRUE((*sub)->WaitForLine("reconnecting", 20s).ok()) << (*sub)->Output();
  StartDdpd(std::to_string(port_));
  ASSERT_TRUE((*sub)->WaitForLine("reconnected", 20s).ok()) << (*sub)->Output();
  Ctl({"call", "/room/remove", R"({"_id":"b"})"});
  ASSERT_TRUE((*sub)->WaitForLine("\"removed\"", 20s).ok()) << (*sub)->Output();
  (*sub)->Signal(SIGINT);
  EXPECT_EQ(*(*sub)->Wait(15s), 0);
  std::string out = (*sub)->Output();
  std::vector<std::string> events;
  for (size_t at = 0; at < out.size();) {
    size_t nl = out.find('\n', at);
    std::string line = out.substr(at, nl - at);
    at = nl == std::string::npos ? out.size() : nl + 1;
    if (!line.empty() && line[0] == '{') events.push_back(line);
  }
  EXPECT_EQ(events, (std::vector<std::string>{
                        R"({"event":"added","collection":"room","id":"a","fields":{"text":"first"}})",
                        R"({"event":"ready"})",
                        R"({"event":"added","collection":"room","id":"b","fields":{"text":"second"}})",
                        R"({"event":"changed","collection":"room","id":"a","fields":{"text":"edited"},"cleared":[]})",
                        R"({"event":"removed","collection":"room","id":"b"})"}))
      << out;
}

TEST_F(DdpctlTest, SubReadableWithCountAndOrderedQuery) {
  Ctl({"publish", "px", R"([{"_id":"a","v":3},{"_id":"b","v":1},{"_id":"c","v":2}])"});
  auto r = Ctl({"sub", "px", "-q", R"({"sort":{"v":1},"limit":2,"ordered":true})", "--until-ready"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "+ px b {\"v\":1}\n+ px c {\"v\":2}\n= ready\n");
  auto sub = Process::Start({BinaryPath("ddpctl"), "--url", Url(), "sub", "px", "-q",
                             R"({"sort":{"v":1},"limit":2})", "--count", "4"});
  ASSERT_TRUE((*sub)->WaitForLine("= ready", 20s).ok()) << (*sub)->Output();
  Ctl({"publish", "px", R"({"_id":"d","v":0})"});  // enters the window, c leaves
  EXPECT_EQ(*(*sub)->Wait(20s), 0);
  std::string out = (*sub)->Output();
  EXPECT_NE(out.find("+ px d {\"v\":0}\n"), std::string::npos) << out;
  EXPECT_NE(out.find("- px c\n"), std::string::npos) << out;
}

TEST_F(DdpctlTest, BenchReportsThroughputAndLatency) {
  auto r = Ctl({"--json", "bench", "--subscribers", "3", "--rate", "400", "--duration", "1"});
  ASSERT_EQ(r.code, 0) << r.out;
  auto v = ParseJson(r.out);
  ASSERT_TRUE(v.ok()) << r.out;
  const Object& o = v->as_object();
  int64_t acked = o.Find("acked")->as_int();
  EXPECT_GT(acked, 300);
  EXPECT_LE(acked, 401);
  EXPECT_EQ(o.Find("errors")->as_int(), 0);
  EXPECT_EQ(o.Find("delivered")->as_int(), acked * 3);
  EXPECT_EQ(o.Find("missing")->as_int(), 0);
  const Object& lat = o.Find("latency_us")->as_object();
  EXPECT_GT(lat.Find("p50")->ToDouble(), 0);
  EXPECT_LE(lat.Find("p50")->ToDouble(), lat.Find("p99")->ToDouble());
  EXPECT_LE(lat.Find("p99")->ToDouble(), lat.Find("max")->ToDouble());
  // Readable form.
  r = Ctl({"bench", "--subscribers", "1", "--rate", "200", "--duration", "0.5", "--size", "1024"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("1024 B payload"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("end-to-end latency us:  p50 "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ddp::testing

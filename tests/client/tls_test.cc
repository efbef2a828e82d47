// TLS on the real server, with certificates made here by the openssl
// command line: the SDK over wss:// (certificate and host verified), plain
// requests on a TLS port refused with a clear answer or served when
// allowed, and a certificate replaced while serving (what SIGHUP does):
// new connections get the new one, open ones stay up, a bad pair changes
// nothing.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "client/client.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/server/test_server_options.h"
#include "tests/support/ws_client.h"

namespace ddp {
namespace {

using namespace std::chrono_literals;

// A self-signed P-256 certificate for localhost / 127.0.0.1 in dir.
void MakeCertificate(const std::string& dir, const std::string& name) {
  std::string cmd =
      StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 ",
             "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 ", "-keyout ",
             dir, "/", name, ".key -out ", dir, "/", name, ".pem 2>/dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("tls_test");
    MakeCertificate(dir_, "first");
    MakeCertificate(dir_, "second");
    std::filesystem::copy_file(dir_ + "/first.pem", dir_ + "/server.pem");
    std::filesystem::copy_file(dir_ + "/first.key", dir_ + "/server.key");
  }
  void Start(bool allow_plain = false) {
    ServerOptions o;
    o.net.bind = "127.0.0.1";
    o.net.port = 0;
    o.net.threads = 2;
    o.net.tls_cert_file = dir_ + "/server.pem";
    o.net.tls_key_file = dir_ + "/server.key";
    o.net.tls_allow_plain = allow_plain;
    o.engine.store.path = dir_ + "/data";
    server_ = std::make_unique<Server>(o);
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  absl::StatusOr<std::unique_ptr<SyncClient>> Connect(std::string_view ca,
                                                      std::string_view scheme = "wss") {
    ClientOptions o;
    o.url = StrCat(scheme, "://localhost:", server_->port(), "/websocket");
    o.ca_file = ca.empty() ? "" : StrCat(dir_, "/", ca, ".pem");
    o.auto_reconnect = false;
    return SyncClient::Connect(o, 5s);
  }
  void Install(const std::string& name) {
    std::filesystem::copy_file(dir_ + "/" + name + ".pem", dir_ + "/server.pem",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(dir_ + "/" + name + ".key", dir_ + "/server.key",
                               std::filesystem::copy_options::overwrite_existing);
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsTest, TheSdkTalksDdpOverWss) {
  Start();
  auto c = Connect("first");
  ASSERT_TRUE(c.ok()) << c.status();
  auto sub = (*c)->Subscribe("chat", Array{});
  ASSERT_TRUE(sub.ok()) << sub.status();
  // Big enough to need several TLS records and relay reads each way.
  std::string text(200000, 'x');
  auto id = (*c)->Call("/chat/insert", Array{Value(Object{{"text", Value(text)}})});
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE((*c)->WaitFor(
                      [&](const Cache&) {
                        auto docs = (*c)->Find("chat");
                        return docs.size() == 1 && docs[0].second.Find("text")->as_string() == text;
                      },
                      10s)
                  .ok());
  // A client that does not trust the certificate does not get in.
  auto untrusting = Connect("");
  EXPECT_FALSE(untrusting.ok());
  auto wrong = Connect("second");
  EXPECT_FALSE(wrong.ok());
  // Plain HTTP and ws:// on the TLS port get a clear answer.
  auto plain = testing::HttpFetch(server_->port(), "GET", "/healthz");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->status, 400);
  EXPECT_EQ(plain->body,
            R"({"error":400,"reason":"this port speaks TLS: use https:// or wss://"})");
  EXPECT_FALSE(Connect("", "ws").ok());
  // The first client is still fine.
  EXPECT_TRUE((*c)->Call("/chat/insert", Array{Value(Object{{"n", Value(int64_t{2})}})}).ok());
}

TEST_F(TlsTest, PlainAndTlsShareThePortWhenAllowed) {
  Start(/*allow_plain=*/true);
  auto plain = testing::HttpFetch(server_->port(), "GET", "/healthz");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->status, 200);
  auto ws = Connect("", "ws");
  ASSERT_TRUE(ws.ok()) << ws.status();
  auto wss = Connect("first");
  ASSERT_TRUE(wss.ok()) << wss.status();
  ASSERT_TRUE((*ws)->Call("/t/insert", Array{Value(Object{{"_id", Value("a")}})}).ok());
  auto got = (*wss)->Call("query", Array{Value("t")});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->as_array().size(), 1u);
}

TEST_F(TlsTest, AReloadedCertificateServesNewConnectionsAndKeepsOpenOnes) {
  Start();
  auto before = Connect("first");
  ASSERT_TRUE(before.ok()) << before.status();
  Install("second");
  ASSERT_TRUE(server_->ReloadTls().ok());
  auto after = Connect("second");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(Connect("first").ok());
  EXPECT_TRUE((*before)->Call("/t/insert", Array{Value(Object{})}).ok());
  // A key that is not the certificate's, or a missing file: refused, the
  // second certificate stays.
  std::filesystem::copy_file(dir_ + "/first.key", dir_ + "/server.key",
                             std::filesystem::copy_options::overwrite_existing);
  absl::Status bad = server_->ReloadTls();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
  EXPECT_NE(bad.message().find("key values mismatch"), std::string::npos) << bad;
  std::filesystem::remove(dir_ + "/server.pem");
  EXPECT_EQ(server_->ReloadTls().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Connect("second").ok());
}

}  // namespace
}  // namespace ddp

// Logins over a real socket: `login` with a JWT (HS256 signed here with
// OpenSSL's HMAC) and with a resume token, `logout`, `logoutOtherClients`,
// forged and expired tokens, and a server that serves nobody anonymous.
// A login re-runs the session's subscriptions and the client gets only the
// difference (the `whoami` publication depends on the user).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "auth/jwt.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "server/server.h"
#include "tests/server/test_jwt.h"
#include "tests/server/test_server_options.h"
#include "tests/server/test_registry.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void Start(bool allow_anonymous = true, std::string api_keys = "",
             std::chrono::milliseconds rerun_deadline = std::chrono::seconds(30),
             const std::function<void(ServerOptions&)>& tweak = nullptr) {
    if (server_) server_->Shutdown();
    server_.reset();
    ServerOptions o =
        TestServerOptions(::testing::TempDir() + "/auth_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(o.engine.store.path);
    o.net.session.allow_anonymous = allow_anonymous;
    o.net.session.resume_deadline = rerun_deadline;
    UseTestJwt(o);
    o.api_keys = std::move(api_keys);
    if (tweak) tweak(o);
    server_ = std::make_unique<Server>(o, MakeTestRegistry());
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void SetUp() override { Start(); }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  std::unique_ptr<WsClient> Client() {
    auto c = WsClient::Open(server_->port());
    EXPECT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE((*c)->DdpConnect().ok());
    return std::move(*c);
  }
  // A login call; the data messages that came with it go to `data`.
  static Value Login(WsClient& c, std::string_view how, std::vector<Value>* data = nullptr) {
    auto r = c.Call("login", StrCat("[", how, "]"), data);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Value();
  }
  static std::vector<std::string> Messages(const std::vector<Value>& data) {
    std::vector<std::string> out;
    for (const Value& m : data) out.push_back(ToJson(m));
    return out;
  }

  std::unique_ptr<Server> server_;
};

TEST_F(AuthTest, LoginRerunsSubscriptionsAndSendsOnlyTheDifference) {
  auto c = Client();
  std::vector<Value> initial;
  ASSERT_EQ(MsgOf(*c->Subscribe("w", "whoami", "[]", &initial)), "ready");
  EXPECT_EQ(initial.size(), 2u);  // me (anonymous), shared

  std::vector<Value> data;
  Value r = Login(*c, StrCat(R"({"jwt":")", Jwt(Claims("u1", R"("role":"admin")")), R"("})"),
                  &data);
  ASSERT_EQ(ErrorText(r), "");
  EXPECT_EQ(r.FindPath("result.id")->as_string(), "u1");
  EXPECT_EQ(r.FindPath("result.type")->as_string(), "jwt");
  const std::string token = r.FindPath("result.token")->as_string();
  EXPECT_GE(token.size(), 40u);
  ASSERT_NE(r.FindPath("result.tokenExpires"), nullptr);
  EXPECT_TRUE(r.FindPath("result.tokenExpires")->is_date());
  // Only what differs: `me` changed, `secret` added; `shared` not sent
  // again, no second `ready`.
  EXPECT_EQ(Messages(data),
            (std::vector<std::string>{
                R"({"msg":"changed","collection":"whoami","id":"me","fields":{"user":"u1","role":"admin"}})",
                R"({"msg":"added","collection":"whoami","id":"secret","fields":{"for":"u1"}})"}));

  // Logout: back to anonymous, the difference again.
  data.clear();
  auto out = c->Call("logout", "[]", &data);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(ErrorText(*out), "");
  EXPECT_EQ(Messages(data),
            (std::vector<std::string>{
                R"({"msg":"changed","collection":"whoami","id":"me","fields":{"user":"anonymous"},"cleared":["role"]})",
                R"({"msg":"removed","collection":"whoami","id":"secret"})"}));
  // The token went with the logout.
  EXPECT_EQ(ErrorText(Login(*c, StrCat(R"({"resume":")", token, R"("})"))),
            R"(403 You've been logged out by the server. Please log in again.)");
}

// A login and a logout back to back while a subscription never becomes
// ready: the second re-run starts while the first still waits, and both
// are settled by the deadline. The client's view, built from every message
// as Meteor's client would (an `added` for a document it has, or a
// `changed`/`removed` for one it has not, is a protocol error), ends as an
// anonymous client's.
TEST_F(AuthTest, ARerunDuringARerunKeepsTheClientsViewExact) {
  Start(/*allow_anonymous=*/true, "", std::chrono::milliseconds(300));
  auto c = Client();
  std::map<std::string, std::string> view;  // collection/id -> fields
  std::vector<std::string> errors;
  auto apply = [&](const Value& m) {
    const std::string kind = MsgOf(m);
    if (kind != "added" && kind != "changed" && kind != "removed") return;
    const std::string key =
        StrCat(m.Find("collection")->as_string(), "/", m.Find("id")->as_string());
    const bool has = view.count(key) > 0;
    if (kind == "added") {
      if (has) errors.push_back("added for a held document " + key);
      const Value* f = m.Find("fields");
      view[key] = f ? ToJson(*f) : "{}";
    } else if (!has) {
      errors.push_back(kind + " for an unknown document " + key);
    } else if (kind == "removed") {
      view.erase(key);
    } else {
      absl::StatusOr<Value> fields = ParseJson(view[key]);
      Object o = fields->as_object();
      if (const Value* f = m.Find("fields")) {
        for (const Member& x : f->as_object()) o.Set(x.key, x.value);
      }
      if (const Value* cl = m.Find("cleared")) {
        for (const Value& k : cl->as_array()) o.Erase(k.as_string());
      }
      view[key] = ToJson(Value(o));
    }
  };
  auto read_until_updated = [&](std::string_view id) {
    while (true) {
      absl::StatusOr<Value> m = c->ReadJson();
      ASSERT_TRUE(m.ok()) << m.status();
      apply(*m);
      if (MsgOf(*m) == "updated") {
        for (const Value& v : m->Find("methods")->as_array()) {
          if (v.as_string() == id) return;
        }
      }
    }
  };
  std::vector<Value> data;
  ASSERT_EQ(MsgOf(*c->Subscribe("w", "whoami", "[]", &data)), "ready");
  for (const Value& m : data) apply(m);
  ASSERT_TRUE(c->Send(R"({"msg":"sub","id":"p","name":"pending","params":[]})").ok());
  ASSERT_TRUE(c->Send(StrCat(R"({"msg":"method","id":"in","method":"login","params":[{"jwt":")",
                             Jwt(Claims("u1")), R"("}]})"))
                  .ok());
  read_until_updated("in");
  ASSERT_TRUE(c->Send(R"({"msg":"method","id":"out","method":"logout","params":[]})").ok());
  read_until_updated("out");
  // Past the deadline, any message settles what is still open.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_TRUE(c->Send(R"({"msg":"method","id":"fence","method":"add","params":[1,1]})").ok());
  read_until_updated("fence");
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(view["whoami/me"], R"({"user":"anonymous"})");
  EXPECT_EQ(view.count("whoami/secret"), 0u);
  EXPECT_EQ(view.count("pending/p-u1"), 0u) << "retracted at the deadline";
  EXPECT_EQ(view.count("pending/p-anonymous"), 1u);
  EXPECT_EQ(view.size(), 3u);
}

TEST_F(AuthTest, ResumeTokensWorkOnAnotherConnectionUntilRevoked) {
  auto a = Client();
  Value first = Login(*a, StrCat(R"({"jwt":")", Jwt(Claims("u1")), R"("})"));
  const std::string ta = first.FindPath("result.token")->as_string();
  auto b = Client();
  Value second = Login(*b, StrCat(R"({"jwt":")", Jwt(Claims("u1")), R"("})"));
  const std::string tb = second.FindPath("result.token")->as_string();
  EXPECT_NE(ta, tb);

  auto c = Client();
  Value resumed = Login(*c, StrCat(R"({"resume":")", tb, R"("})"));
  ASSERT_EQ(ErrorText(resumed), "");
  EXPECT_EQ(resumed.FindPath("result.id")->as_string(), "u1");
  EXPECT_EQ(resumed.FindPath("result.type")->as_string(), "resume");
  std::vector<Value> data;
  ASSERT_EQ(MsgOf(*c->Subscribe("w", "whoami", "[]", &data)), "ready");
  EXPECT_EQ(data.size(), 3u) << "logged in as u1: me, shared, secret";

  // a logs out every other client of u1: b's token is gone, a's is kept,
  // and the connections that used b's token (b, c) are anonymous now.
  EXPECT_EQ(ErrorText(*a->Call("logoutOtherClients", "[]")), "");
  std::vector<Value> seen;
  ASSERT_TRUE(c->ReadUntil([](const Value& m) { return MsgOf(m) == "removed"; },
                           kWait, &seen)
                  .ok());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(ToJson(seen.back()),
            R"({"msg":"changed","collection":"whoami","id":"me","fields":{"user":"anonymous"}})");
  EXPECT_EQ(ErrorText(*b->Call("logoutOtherClients", "[]")), "401 not logged in");
  EXPECT_EQ(ErrorText(*a->Call("logoutOtherClients", "[]")), "") << "a is still logged in";
  auto d = Client();
  EXPECT_EQ(ErrorText(Login(*d, StrCat(R"({"resume":")", tb, R"("})"))),
            R"(403 You've been logged out by the server. Please log in again.)");
  EXPECT_EQ(ErrorText(Login(*d, StrCat(R"({"resume":")", ta, R"("})"))), "");
  EXPECT_EQ(ErrorText(Login(*d, R"({"resume":"not-a-token"})")),
            R"(403 You've been logged out by the server. Please log in again.)");
}

// Meteor's getNewToken and removeOtherTokens.
TEST_F(AuthTest, GetNewTokenAndRemoveOtherTokens) {
  auto a = Client();
  Value first = Login(*a, StrCat(R"({"jwt":")", Jwt(Claims("u1")), R"("})"));
  ASSERT_EQ(ErrorText(first), "");
  const std::string old_token = first.FindPath("result.token")->as_string();
  auto fresh = a->Call("getNewToken", "[]");
  ASSERT_TRUE(fresh.ok());
  ASSERT_EQ(ErrorText(*fresh), "");
  const std::string new_token = fresh->FindPath("result.token")->as_string();
  EXPECT_NE(new_token, old_token);
  EXPECT_EQ(fresh->FindPath("result.id")->as_string(), "u1");
  // The same expiry as the login's.
  EXPECT_EQ(ToJson(*fresh->FindPath("result.tokenExpires")),
            ToJson(*first.FindPath("result.tokenExpires")));
  // Both tokens work; removing the others from the new one's connection
  // leaves only the new one.
  auto b = Client();
  EXPECT_EQ(ErrorText(Login(*b, StrCat(R"({"resume":")", old_token, R"("})"))), "");
  EXPECT_EQ(ErrorText(*a->Call("removeOtherTokens", "[]")), "");
  EXPECT_TRUE(WaitUntil([&] {
    auto r = b->Call("removeOtherTokens", "[]");
    return r.ok() && ErrorText(*r) == "401 You are not logged in.";
  }));
  auto c = Client();
  EXPECT_EQ(ErrorText(Login(*c, StrCat(R"({"resume":")", old_token, R"("})"))),
            R"(403 You've been logged out by the server. Please log in again.)");
  EXPECT_EQ(ErrorText(Login(*c, StrCat(R"({"resume":")", new_token, R"("})"))), "");
  auto anonymous = Client();
  EXPECT_EQ(ErrorText(*anonymous->Call("getNewToken", "[]")), "401 You are not logged in.");
}

TEST_F(AuthTest, ForgedExpiredAndMisaddressedTokensAreRefused) {
  auto c = Client();
  std::vector<Value> initial;
  ASSERT_EQ(MsgOf(*c->Subscribe("w", "whoami", "[]", &initial)), "ready");
  const std::string none =
      StrCat(auth::Base64UrlEncode(R"({"alg":"none"})"), ".", auth::Base64UrlEncode(Claims("u1")), ".");
  struct Case {
    std::string token, error;
  };
  const Case cases[] = {
      {none, R"(403 Login forbidden: invalid token: algorithm 'none' is not accepted)"},
      {Jwt(Claims("u1"), R"({"alg":"HS256"})", "another-secret-of-more-than-32-bytes"),
       "403 Login forbidden: invalid token: bad signature"},
      {Jwt(StrCat(R"({"sub":"u1","iss":"idp","aud":"app","exp":)", Now() - 3600, "}")),
       "403 Login forbidden: invalid token: expired"},
      {Jwt(R"({"sub":"u1","iss":"idp","aud":"other"})"),
       "403 Login forbidden: invalid token: wrong audience"},
      {Jwt(R"({"sub":"u1","iss":"evil","aud":"app"})"),
       "403 Login forbidden: invalid token: wrong issuer"},
      {"garbage", "403 Login forbidden: invalid token: not three base64url parts"},
  };
  for (const Case& k : cases) {
    std::vector<Value> data;
    EXPECT_EQ(ErrorText(Login(*c, StrCat(R"({"jwt":")", k.token, R"("})"), &data)), k.error);
    EXPECT_TRUE(data.empty()) << "a refused login changes nothing";
  }
  EXPECT_EQ(ErrorText(Login(*c, R"({"password":"x"})")), "400 Unrecognized options for login request");
  EXPECT_EQ(ErrorText(*c->Call("login", "[]")), "400 Unrecognized options for login request");
  // Still anonymous.
  EXPECT_EQ(ErrorText(*c->Call("logoutOtherClients", "[]")), "401 not logged in");
}

TEST_F(AuthTest, FailedLoginsFromOneAddressAreSlowedDown) {
  Start(true, "", std::chrono::seconds(30), [](ServerOptions& o) {
    o.auth.login_failure_rate = 5;
    o.auth.login_failure_burst = 3;
  });
  auto c = Client();
  const std::string bad = StrCat(R"({"jwt":")", Jwt(Claims("u1"), R"({"alg":"HS256"})",
                                                    "a-wrong-secret-a-wrong-secret-a-wrong"),
                                 R"("})");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ErrorText(Login(*c, bad)), "403 Login forbidden: invalid token: bad signature");
  }
  // Past the burst, every login from the address waits, a valid one too,
  // on any connection.
  Value limited = Login(*c, StrCat(R"({"jwt":")", Jwt(Claims("u1")), R"("})"));
  EXPECT_EQ(ToJson(*limited.FindPath("error.error")), R"("too-many-requests")");
  const Value* ttr = limited.FindPath("error.details.timeToReset");
  ASSERT_NE(ttr, nullptr) << ToJson(limited);
  EXPECT_GT(ttr->as_int(), 0);
  auto other = Client();
  EXPECT_EQ(ToJson(*Login(*other, bad).FindPath("error.error")), R"("too-many-requests")");
  // Once a token is back, the valid login goes through.
  std::this_thread::sleep_for(std::chrono::milliseconds(ttr->as_int()));
  EXPECT_EQ(ErrorText(Login(*c, StrCat(R"({"jwt":")", Jwt(Claims("u1")), R"("})"))), "");
}

// A login ends by itself when its token expires (--login-token-ttl-ms, or
// the JWT's exp): the connection is anonymous again without a word from the
// client, and it hears the difference.
TEST_F(AuthTest, AnExpiredLoginLogsTheConnectionOut) {
  Start(true, "", std::chrono::seconds(30),
        [](ServerOptions& o) { o.auth.token_ttl = std::chrono::milliseconds(700); });
  auto c = Client();
  ASSERT_EQ(MsgOf(*c->Subscribe("w", "whoami")), "ready");
  Value login = Login(*c, StrCat(R"({"jwt":")", Jwt(Claims("u1")), R"("})"));
  ASSERT_EQ(ErrorText(login), "");
  std::vector<Value> seen;
  auto gone = c->ReadUntil(
      [](const Value& m) { return MsgOf(m) == "removed"; }, std::chrono::milliseconds(10000), &seen);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(gone->Find("id")->as_string(), "secret");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(ToJson(seen.back()),
            R"({"msg":"changed","collection":"whoami","id":"me","fields":{"user":"anonymous"}})");
  // Its resume token is no good either.
  EXPECT_EQ(ErrorText(Login(*c, StrCat(R"({"resume":")", login.FindPath("result.token")->as_string(),
                                   R"("})"))),
            R"(403 You've been logged out by the server. Please log in again.)");
}

TEST_F(AuthTest, WithoutAnonymousAccessOnlyLoginIsServed) {
  Start(/*allow_anonymous=*/false);
  auto c = Client();
  auto sub = c->Subscribe("w", "whoami");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(MsgOf(*sub), "nosub");
  EXPECT_EQ(ToJson(*sub->FindPath("error.error")), "401");
  EXPECT_EQ(ErrorText(*c->Call("add", "[1,2]")), "401 login required");
  EXPECT_EQ(ErrorText(Login(*c, StrCat(R"({"jwt":")", Jwt(Claims("u2")), R"("})"))), "");
  EXPECT_EQ(ToJson(*c->Call("add", "[1,2]")->Find("result")), "3");
  std::vector<Value> data;
  ASSERT_EQ(MsgOf(*c->Subscribe("w", "whoami", "[]", &data)), "ready");
  EXPECT_EQ(data.size(), 2u);
  // Logging out makes the connection anonymous again: its subscription
  // ends with 401 and its documents are retracted; calls are refused.
  data.clear();
  EXPECT_EQ(ErrorText(*c->Call("logout", "[]", &data)), "");
  std::vector<std::string> got = Messages(data);
  std::sort(got.begin() + 1, got.end());  // the retractions come in no set order
  EXPECT_EQ(got,
            (std::vector<std::string>{
                R"({"msg":"nosub","id":"w","error":{"isClientSafe":true,"error":401,"reason":"login required","message":"login required [401]","errorType":"Meteor.Error"}})",
                R"({"msg":"removed","collection":"whoami","id":"me"})",
                R"({"msg":"removed","collection":"whoami","id":"shared"})"}));
  EXPECT_EQ(ErrorText(*c->Call("add", "[1,2]")), "401 login required");
}

TEST_F(AuthTest, HttpTakesApiKeysResumeTokensAndJwtsAsBearerTokens) {
  const std::string reader = "reader-key-0123456789abcdefghij";
  const std::string writer = "writer-key-0123456789abcdefghij";
  Start(/*allow_anonymous=*/false,
        StrCat("# name scopes key\nreporting read ", reader, "\ningest read,write ", writer, "\n"));
  const uint16_t port = server_->port();
  auto fetch = [&](std::string_view method, std::string_view target, std::string_view bearer,
                   std::string_view body = "") {
    auto r = HttpFetch(port, method, target, body, "application/json",
                       bearer.empty() ? "" : StrCat("Bearer ", bearer));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? StrCat(r->status, " ", r->body) : std::string("no answer");
  };
  const std::string doc = R"({"_id":"d1","v":1})";
  // Anonymous: refused (health and readiness stay open).
  EXPECT_EQ(fetch("GET", "/api/v1/topics", ""),
            R"(401 {"error":401,"reason":"login required: send Authorization: Bearer <token>"})");
  EXPECT_EQ(fetch("GET", "/healthz", "").substr(0, 3), "200");
  // API keys with their scopes.
  EXPECT_EQ(fetch("POST", "/api/v1/topics/t/publish", reader, doc),
            R"(403 {"error":403,"reason":"API key 'reporting' has no write scope"})");
  EXPECT_EQ(fetch("POST", "/api/v1/topics/t/publish", writer, doc).substr(0, 3), "200");
  EXPECT_EQ(fetch("GET", "/api/v1/topics/t?q=%7B%7D", reader).substr(0, 3), "200");
  // A JWT, a resume token from a DDP login, and what is neither.
  EXPECT_EQ(fetch("GET", "/api/v1/topics", Jwt(Claims("u1"))).substr(0, 3), "200");
  auto c = Client();
  Value login = Login(*c, StrCat(R"({"jwt":")", Jwt(Claims("u1")), R"("})"));
  const std::string token = login.FindPath("result.token")->as_string();
  EXPECT_EQ(fetch("GET", "/api/v1/topics", token).substr(0, 3), "200");
  EXPECT_EQ(fetch("GET", "/api/v1/topics", Jwt(R"({"sub":"u1","iss":"idp","aud":"other"})")),
            R"(401 {"error":401,"reason":"invalid token: wrong audience"})");
  EXPECT_EQ(fetch("GET", "/api/v1/topics", "reader-key-but-not-quite-right"),
            R"(401 {"error":401,"reason":"invalid token: not three base64url parts"})");
  auto basic = HttpFetch(port, "GET", "/api/v1/topics", "", "application/json", "Basic dTpw");
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ(basic->status, 401);
  // After logout the resume token no longer opens the API.
  EXPECT_EQ(ErrorText(*c->Call("logout", "[]")), "");
  EXPECT_EQ(fetch("GET", "/api/v1/topics", token).substr(0, 3), "401");
}

}  // namespace
}  // namespace ddp::testing

// Access rules over real sockets, from a hostile client's side: every read
// path (sub, query, history, $lookup, HTTP GET, the topic listing, error
// texts) and every write path (insert, update, remove, publish, tx, upsert,
// preconditions, HTTP) tried outside the caller's rights, anonymous, with
// bad JWTs, and after logout. Nothing of another user's documents or of a
// hidden field may reach the caller, and no write outside its rights may
// land (checked by an admin reading everything back).
#include <filesystem>
#include <fstream>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "server/server.h"
#include "tests/server/test_jwt.h"
#include "tests/server/test_registry.h"
#include "tests/server/test_server_options.h"
#include "tests/support/ddp_view.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

// admin: everything on notes.*; users: their own notes (by ownerId),
// without `internal`; profiles readable by users without `ssn`; public.*
// readable by anyone, writable by admins; secret for admins only.
const char* kRules = R"({
  "rules": [
    {"topics": ["notes.*", "secret", "profiles"], "who": {"roles": ["admin"]}, "allow": ["read", "write"]},
    {"topics": "notes.*", "who": "user", "allow": ["read", "write"],
     "filter": {"ownerId": "$user.sub"}, "hide": ["internal"]},
    {"topics": "profiles", "who": "user", "allow": ["sub", "query"], "hide": ["ssn"]},
    {"topics": "public.>", "allow": ["sub", "query", "history"]},
    {"topics": "public.>", "who": {"roles": ["admin"]}, "allow": ["write"]},
    {"topics": "events", "who": "user", "allow": ["query", "insert", "publish"],
     "filter": {"_id": {"$exists": true}}}
  ]
})";

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("access_test");
    WriteRules(kRules);
    ServerOptions o = TestServerOptions(dir_ + "/data");
    UseTestJwt(o);
    o.api_keys = "backend read,write key-of-the-backend-0123456789\n";
    o.rules_file = dir_ + "/rules.json";
    server_ = std::make_unique<Server>(o, MakeTestRegistry());
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
    admin_ = As("boss", R"("roles":["admin"])");
    // Two users' notes and an admin's note, each with an internal field.
    for (const char* doc : {R"({"_id":"a1","ownerId":"u1","text":"mine","internal":"i-a1"})",
                            R"({"_id":"a2","ownerId":"u1","text":"mine too","internal":"i-a2"})",
                            R"({"_id":"b1","ownerId":"u2","text":"theirs","internal":"i-b1"})",
                            R"({"_id":"c1","ownerId":"boss","text":"boss","internal":"i-c1"})"}) {
      ASSERT_EQ(ErrorText(Call(*admin_, "/notes.n/insert", StrCat("[", doc, "]"))), "");
    }
    ASSERT_EQ(
        ErrorText(Call(*admin_, "/profiles/insert", R"([{"_id":"p1","name":"Ann","ssn":"123-45"}])")),
        "");
    ASSERT_EQ(ErrorText(Call(*admin_, "/secret/insert", R"([{"_id":"s1","code":"xyzzy"}])")), "");
    ASSERT_EQ(ErrorText(Call(*admin_, "/public.news/insert",
                       R"([{"_id":"n1","title":"hello","noteId":"a1"}])")),
              "");
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  void WriteRules(std::string_view json) { std::ofstream(dir_ + "/rules.json") << json; }
  std::unique_ptr<WsClient> Anonymous() {
    auto c = WsClient::Open(server_->port());
    EXPECT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE((*c)->DdpConnect().ok());
    return std::move(*c);
  }
  std::unique_ptr<WsClient> As(std::string_view sub, std::string_view extra = "") {
    auto c = Anonymous();
    auto r = c->Call("login", StrCat(R"([{"jwt":")", Jwt(Claims(sub, extra)), R"("}])"));
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(ErrorText(*r), "");
    return c;
  }
  static Value Call(WsClient& c, std::string_view method, std::string_view params,
                    std::vector<Value>* data = nullptr) {
    auto r = c.Call(method, params, data);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Value();
  }
  static std::string Result(const Value& m) {
    const Value* r = m.Find("result");
    return r ? ToCanonicalJson(*r) : "";
  }
  // The documents a subscription shows (its initial result), on a fresh
  // connection of the same user (`who`: a user id, or "" for anonymous),
  // so that nothing another subscription sent hides in the merge box.
  std::string Sub(std::string_view who, std::string_view name, std::string_view params,
                  std::string* error = nullptr) {
    std::unique_ptr<WsClient> c = who.empty() ? Anonymous() : As(who);
    return SubOn(*c, name, params, error);
  }
  static std::string SubOn(WsClient& c, std::string_view name, std::string_view params,
                           std::string* error = nullptr) {
    std::vector<Value> data;
    auto r = c.Subscribe(StrCat("s", ++subs_), name, params, &data);
    EXPECT_TRUE(r.ok());
    if (error != nullptr) *error = r.ok() ? ErrorText(*r) : "no answer";
    View v;
    for (const Value& m : data) EXPECT_EQ(Apply(v, m), "");
    return Canonical(v);
  }
  std::string AdminQuery(std::string_view topic) {
    return Result(Call(*admin_, "query", StrCat(R"([")", topic, R"("])")));
  }

  static inline int subs_ = 0;
  std::string dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<WsClient> admin_;
};

// Every text the caller got must be free of what it may not see.
void ExpectNoLeak(const std::string& text) {
  for (const char* secret : {"i-a1", "i-a2", "i-b1", "i-c1", "theirs", "xyzzy", "123-45", "\"b1\"",
                             "\"c1\"", "u2", "boss"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked in " << text;
  }
}

TEST_F(AccessTest, AnonymousClientsReadOnlyWhatAnyoneMay) {
  auto c = Anonymous();
  std::string error;
  EXPECT_EQ(Sub("", "notes.n", "[]", &error), "");
  EXPECT_EQ(error, "403 Access denied: no rule lets anonymous clients sub 'notes.n'");
  EXPECT_EQ(Sub("", "notes.*", "[]", &error), "");
  EXPECT_EQ(error, "403 Access denied: no rule lets anonymous clients sub 'notes.*'");
  EXPECT_EQ(Sub("", ">", "[]", &error), "");
  EXPECT_EQ(error.substr(0, 18), "403 Access denied:");
  EXPECT_EQ(ErrorText(Call(*c, "query", R"(["secret"])")),
            "403 Access denied: no rule lets anonymous clients query 'secret'");
  EXPECT_EQ(ErrorText(Call(*c, "history", R"(["notes.n"])")),
            "403 Access denied: no rule lets anonymous clients history 'notes.n'");
  EXPECT_EQ(ErrorText(Call(*c, "/notes.n/insert", R"([{"ownerId":"u1"}])")),
            "403 Access denied: no rule lets anonymous clients insert 'notes.n'");
  EXPECT_EQ(ErrorText(Call(*c, "/public.news/insert", R"([{"title":"spam"}])")),
            "403 Access denied: no rule lets anonymous clients insert 'public.news'");
  EXPECT_EQ(ErrorText(Call(*c, "publish", R"(["public.news", {"title":"spam"}])")).substr(0, 18),
            "403 Access denied:");
  EXPECT_EQ(ErrorText(Call(*c, "tx", R"([[{"op":"remove","topic":"public.news","selector":{}}]])"))
                .substr(0, 18),
            "403 Access denied:");
  // What anyone may read works, history included.
  EXPECT_EQ(Sub("", "public.news", "[]", &error), R"(n1={"noteId":"a1","title":"hello"};)");
  EXPECT_EQ(error, "");
  EXPECT_EQ(Result(Call(*c, "history", R"(["public.news"])")).find("hello") != std::string::npos,
            true);
  // A $lookup from a public topic into notes is refused, not emptied.
  EXPECT_EQ(ErrorText(Call(*c, "query", R"(["public.news", {"pipeline":[{"$lookup":
              {"from":"notes.n","localField":"noteId","foreignField":"_id","as":"note"}}]}])")),
            "403 Access denied: no rule lets anonymous clients query 'notes.n'");
  EXPECT_EQ(AdminQuery("public.news").find("spam"), std::string::npos);
}

TEST_F(AccessTest, BadTokensLeaveTheClientAnonymous) {
  auto c = Anonymous();
  const std::string none = StrCat(auth::Base64UrlEncode(R"({"alg":"none"})"), ".",
                                  auth::Base64UrlEncode(Claims("u1")), ".");
  for (const std::string& jwt :
       {Jwt(Claims("u1", R"("roles":["admin"])"), R"({"alg":"HS256"})",
            "another-secret-of-more-than-32-bytes"),
        Jwt(StrCat(R"({"sub":"u1","iss":"idp","aud":"app","exp":)", Now() - 3600, "}")),
        Jwt(StrCat(R"({"sub":"u1","iss":"idp","aud":"other","exp":)", Now() + 600, "}")), none}) {
    Value r = Call(*c, "login", StrCat(R"([{"jwt":")", jwt, R"("}])"));
    EXPECT_EQ(ErrorText(r).substr(0, 3), "403") << jwt;
    std::string error;
    EXPECT_EQ(SubOn(*c, "notes.n", "[]", &error), "");
    EXPECT_EQ(error, "403 Access denied: no rule lets anonymous clients sub 'notes.n'");
  }
  // A resume token after logout is dead, and so is its access.
  auto u1 = As("u1");
  Value login = Call(*u1, "login", StrCat(R"([{"jwt":")", Jwt(Claims("u1")), R"("}])"));
  const std::string token = login.FindPath("result.token")->as_string();
  ASSERT_EQ(ErrorText(Call(*u1, "logout", "[]")), "");
  EXPECT_EQ(ErrorText(Call(*c, "login", StrCat(R"([{"resume":")", token, R"("}])"))).substr(0, 3), "403");
  EXPECT_EQ(ErrorText(Call(*c, "/notes.n/insert", R"([{"ownerId":"u1"}])")).substr(0, 3), "403");
  // Over HTTP too.
  auto h = HttpFetch(server_->port(), "GET", "/api/v1/topics/notes.n", "", "application/json",
                     StrCat("Bearer ", token));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 401);
}

TEST_F(AccessTest, RowFiltersAndHiddenFieldsBoundEveryRead) {
  auto u1 = As("u1");
  std::string all;
  std::string error;
  const std::string mine =
      R"(a1={"ownerId":"u1","text":"mine"};a2={"ownerId":"u1","text":"mine too"};)";
  all += Sub("u1", "notes.n", "[]", &error);
  EXPECT_EQ(all, mine);
  EXPECT_EQ(error, "");
  // Asking for another's documents gives nothing, however it is asked.
  EXPECT_EQ(Sub("u1", "notes.n", R"([{"filter":{"ownerId":"u2"}}])"), "");
  EXPECT_EQ(Sub("u1", "notes.n", R"([{"filter":{"$or":[{"ownerId":"u2"},{"_id":"b1"}]}}])"), "");
  EXPECT_EQ(Sub("u1", "notes.*", "[]"), mine);
  // A filter or a query on a hidden field is refused; sort, fields and
  // pipeline stages see it as missing.
  for (const char* q : {R"([{"filter":{"internal":"i-a1"}}])",
                        R"([{"filter":{"$and":[{"internal":{"$exists":true}}]}}])"}) {
    EXPECT_EQ(Sub("u1", "notes.n", q, &error), "");
    EXPECT_EQ(error, "403 Access denied: field 'internal' of 'notes.n' is hidden");
    all += error;
  }
  all += Sub("u1", "notes.n", R"([{"fields":{"internal":1,"text":1},"sort":{"internal":-1}}])");
  Value grouped = Call(*u1, "query", R"(["notes.n", {"pipeline":[
      {"$group":{"_id":"$internal","n":{"$sum":1}}}]}])");
  all += ToJson(grouped);
  EXPECT_EQ(Result(grouped), R"([{"_id":null,"n":2}])");
  Value queried = Call(*u1, "query", R"(["notes.n", {"filter":{"text":{"$regex":"^the"}}}])");
  all += ToJson(queried);
  EXPECT_EQ(Result(queried), "[]");
  EXPECT_EQ(Sub("u1", "profiles", "[]"), R"(p1={"name":"Ann"};)");
  // $lookup joins only what the caller may read of the other topic.
  Value joined = Call(*u1, "query", R"(["public.news", {"pipeline":[{"$lookup":
      {"from":"notes.n","localField":"noteId","foreignField":"_id","as":"note"}}]}])");
  EXPECT_EQ(
      Result(joined),
      R"([{"_id":"n1","note":[{"_id":"a1","ownerId":"u1","text":"mine"}],"noteId":"a1","title":"hello"}])");
  auto u2 = As("u2");
  joined = Call(*u2, "query", R"(["public.news", {"pipeline":[{"$lookup":
      {"from":"notes.n","localField":"noteId","foreignField":"_id","as":"note"}}]}])");
  EXPECT_EQ(Result(joined), R"([{"_id":"n1","note":[],"noteId":"a1","title":"hello"}])");
  // A live $lookup joining on a hidden field joins nothing.
  all += Sub("u1", "public.news", R"([{"pipeline":[{"$lookup":
      {"from":"notes.n","localField":"title","foreignField":"internal","as":"x"}}]}])");
  EXPECT_EQ(ErrorText(Call(*u1, "query", R"(["public.news", {"pipeline":[{"$lookup":
      {"from":"secret","localField":"title","foreignField":"code","as":"x"}}]}])")),
            "403 Access denied: no rule lets user 'u1' query 'secret'");
  // History would show others' changes: refused under a row filter.
  EXPECT_EQ(ErrorText(Call(*u1, "history", R"(["notes.n"])")),
            "403 Access denied: the history of 'notes.n' is not available under a row filter");
  EXPECT_EQ(ErrorText(Call(*u1, "history", R"(["profiles"])")),
            "403 Access denied: no rule lets user 'u1' history 'profiles'");
  ExpectNoLeak(all);
  // The admin sees everything.
  EXPECT_NE(AdminQuery("notes.n").find("i-b1"), std::string::npos);
}

TEST_F(AccessTest, WritesStayInsideTheRowFilter) {
  auto u1 = As("u1");
  const std::string before = AdminQuery("notes.n");
  std::string all;
  auto denied = [&](std::string_view method, std::string_view params) {
    Value r = Call(*u1, method, params);
    all += ToJson(r);
    return ErrorText(r);
  };
  const std::string outside =
      "403 Access denied: the document does not satisfy the row filter of 'notes.n'";
  EXPECT_EQ(denied("/notes.n/insert", R"([{"ownerId":"u2","text":"planted"}])"), outside);
  EXPECT_EQ(denied("/notes.n/insert", R"([{"text":"no owner"}])"), outside);
  EXPECT_EQ(denied("/notes.n/insert", R"([{"ownerId":"u1","internal":"x"}])"),
            "403 Access denied: field 'internal' of 'notes.n' is hidden");
  // Others' documents do not exist for updates and removes.
  EXPECT_EQ(Result(Call(*u1, "/notes.n/update", R"([{"_id":"b1"},{"$set":{"text":"hacked"}}])")),
            "0");
  EXPECT_EQ(
      Result(Call(*u1, "/notes.n/update", R"([{},{"$set":{"text":"hacked"}},{"multi":true}])")),
      "2");
  EXPECT_EQ(Result(Call(*u1, "/notes.n/remove", R"([{"ownerId":"u2"}])")), "0");
  EXPECT_EQ(Result(Call(*u1, "/notes.n/remove", R"(["c1"])")), "0");
  // Giving a document away, or naming a hidden field, is refused.
  EXPECT_EQ(denied("/notes.n/update", R"([{"_id":"a1"},{"$set":{"ownerId":"u2"}}])"), outside);
  EXPECT_EQ(denied("/notes.n/update", R"([{"_id":"a1"},{"$unset":{"ownerId":1}}])"), outside);
  EXPECT_EQ(denied("/notes.n/update", R"([{"internal":"i-b1"},{"$set":{"text":"x"}}])"),
            "403 Access denied: field 'internal' of 'notes.n' is hidden");
  EXPECT_EQ(denied("/notes.n/update", R"([{"_id":"a1"},{"$rename":{"internal":"text"}}])"),
            "403 Access denied: field 'internal' of 'notes.n' is hidden");
  EXPECT_EQ(denied("/notes.n/remove", R"([{"internal":{"$gt":""}}])"),
            "403 Access denied: field 'internal' of 'notes.n' is hidden");
  // Publishing over another's document is refused, and so is a tx that
  // would: nothing of it is applied.
  EXPECT_EQ(denied("publish", R"(["notes.n", {"_id":"b1","ownerId":"u1","text":"stolen"}])"),
            outside);
  EXPECT_EQ(denied("tx", R"([[{"op":"insert","topic":"notes.n","doc":{"_id":"t1","ownerId":"u1"}},
                              {"op":"insert","topic":"secret","doc":{"code":"mine now"}}]])"),
            "403 Access denied: no rule lets user 'u1' insert 'secret'");
  EXPECT_EQ(denied("tx", R"([[{"op":"insert","topic":"notes.n","doc":{"_id":"t2","ownerId":"u1"}},
                              {"op":"publish","topic":"notes.n","doc":{"_id":"c1","ownerId":"u1"}}]])"),
            outside);
  // Preconditions see others' documents as absent.
  Value expect =
      Call(*u1, "tx", R"([[{"op":"expect","topic":"notes.n","id":"b1","exists":true}]])");
  EXPECT_EQ(ErrorText(expect), "\"conflict\" expected 'b1' in 'notes.n' to exist");
  // Other topics.
  EXPECT_EQ(denied("/secret/remove", R"([{}])"),
            "403 Access denied: no rule lets user 'u1' remove 'secret'");
  EXPECT_EQ(denied("/profiles/update", R"([{"_id":"p1"},{"$set":{"name":"Eve"}}])"),
            "403 Access denied: no rule lets user 'u1' update 'profiles'");
  ExpectNoLeak(all);
  // What u1 may do works: its own insert, an upsert made its own, and a
  // replacement that keeps the hidden field.
  EXPECT_EQ(ErrorText(Call(*u1, "/notes.n/insert", R"([{"_id":"a3","ownerId":"u1","text":"new"}])")), "");
  Value up = Call(*u1, "/notes.n/update",
                  R"([{"_id":"a4"},{"$set":{"text":"upserted"}},{"upsert":true}])");
  EXPECT_EQ(ErrorText(up), "");
  EXPECT_EQ(
      ErrorText(Call(*u1, "/notes.n/update", R"([{"_id":"a2"},{"ownerId":"u1","text":"replaced"}])")),
      "");
  Value after = Call(*admin_, "query", R"(["notes.n", {"sort":{"_id":1}}])");
  EXPECT_EQ(Result(after), ToCanonicalJson(*ParseJson(R"([
              {"_id":"a1","ownerId":"u1","text":"hacked","internal":"i-a1"},
              {"_id":"a2","ownerId":"u1","text":"replaced","internal":"i-a2"},
              {"_id":"a3","ownerId":"u1","text":"new"},
              {"_id":"a4","ownerId":"u1","text":"upserted"},
              {"_id":"b1","ownerId":"u2","text":"theirs","internal":"i-b1"},
              {"_id":"c1","ownerId":"boss","text":"boss","internal":"i-c1"}])")));
  EXPECT_EQ(AdminQuery("secret"), R"([{"_id":"s1","code":"xyzzy"}])");
  (void)before;
}

// A row filter sees a written document as it is stored: with the _id the
// server generated (a check before the id existed refused every
// publish of events without one).
TEST_F(AccessTest, RowFiltersSeeGeneratedIds) {
  auto u1 = As("u1");
  Value published = Call(*u1, "publish", R"(["events", [{"kind":"a"}, {"kind":"b"}]])");
  EXPECT_EQ(ErrorText(published), "");
  Value inserted = Call(*u1, "/events/insert", R"([{"kind":"c"}])");
  EXPECT_EQ(ErrorText(inserted), "");
  Value all = Call(*u1, "query", R"(["events"])");
  EXPECT_EQ(all.Find("result")->as_array().size(), 3u);
}

TEST_F(AccessTest, HttpFollowsTheSameRules) {
  const std::string u1 = StrCat("Bearer ", Jwt(Claims("u1")));
  auto get = [&](std::string_view target, std::string_view auth) {
    auto h = HttpFetch(server_->port(), "GET", target, "", "application/json", auth);
    EXPECT_TRUE(h.ok());
    return h.ok() ? StrCat(h->status, " ", h->body) : std::string("no answer");
  };
  // The listing shows what the caller may read, sizes only where it reads
  // all of it.
  EXPECT_EQ(get("/api/v1/topics", ""), R"(200 [{"name":"public.news","documents":1,"writes":1}])");
  std::string listed = get("/api/v1/topics", u1);
  EXPECT_EQ(listed, R"(200 [{"name":"notes.n"},{"name":"profiles","documents":1,"writes":1},)"
                    R"({"name":"public.news","documents":1,"writes":1}])");
  EXPECT_EQ(
      get("/api/v1/topics/notes.n", u1),
      R"(200 [{"_id":"a1","ownerId":"u1","text":"mine"},{"_id":"a2","ownerId":"u1","text":"mine too"}])");
  EXPECT_EQ(
      get("/api/v1/topics/notes.n?q=%7B%22filter%22%3A%7B%22internal%22%3A1%7D%7D", u1),
      R"(403 {"error":403,"reason":"Access denied: field 'internal' of 'notes.n' is hidden"})");
  EXPECT_EQ(get("/api/v1/topics/secret", u1),
            R"(403 {"error":403,"reason":"Access denied: no rule lets user 'u1' query 'secret'"})");
  EXPECT_EQ(
      get("/api/v1/topics/secret", ""),
      R"(403 {"error":403,"reason":"Access denied: no rule lets anonymous clients query 'secret'"})");
  auto post = [&](std::string_view target, std::string_view body, std::string_view auth) {
    auto h = HttpFetch(server_->port(), "POST", target, body, "application/json", auth);
    EXPECT_TRUE(h.ok());
    return h.ok() ? h->status : 0;
  };
  EXPECT_EQ(post("/api/v1/topics/secret/publish", R"({"code":"x"})", u1), 403);
  EXPECT_EQ(post("/api/v1/topics/notes.n/publish", R"({"ownerId":"u2"})", u1), 403);
  EXPECT_EQ(post("/api/v1/tx", R"({"ops":[{"op":"remove","topic":"notes.n","selector":{}}]})", u1),
            200);  // removes u1's own notes only
  EXPECT_EQ(AdminQuery("notes.n").find("\"a1\""), std::string::npos);
  EXPECT_NE(AdminQuery("notes.n").find("\"b1\""), std::string::npos);
  // An API key is a service credential: its scopes govern, not the rules.
  const std::string key = "Bearer key-of-the-backend-0123456789";
  EXPECT_NE(get("/api/v1/topics/secret", key).find("xyzzy"), std::string::npos);
  EXPECT_EQ(post("/api/v1/topics/secret/publish", R"({"code":"from the backend"})", key), 200);
  ExpectNoLeak(listed);
}

TEST_F(AccessTest, ALoginChangesWhatLiveSubscriptionsShow) {
  auto c = As("u1");
  std::vector<Value> data;
  ASSERT_EQ(MsgOf(*c->Subscribe("notes", "notes.n", "[]", &data)), "ready");
  ASSERT_EQ(data.size(), 2u);
  ASSERT_EQ(ErrorText(Call(*c, "login", StrCat(R"([{"jwt":")", Jwt(Claims("u2")), R"("}])"), &data)), "");
  // The difference, whether it came with the login's reply or after it.
  std::vector<std::string> kinds;
  for (size_t i = 2; i < data.size(); ++i) {
    kinds.push_back(MsgOf(data[i]) + ":" + data[i].Find("id")->as_string());
  }
  while (kinds.size() < 3) {
    auto m = c->ReadJson();
    ASSERT_TRUE(m.ok()) << m.status();
    kinds.push_back(MsgOf(*m) + ":" + m->Find("id")->as_string());
  }
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds, (std::vector<std::string>{"added:b1", "removed:a1", "removed:a2"}));
  // A change to u1's note is no longer sent to this client; u2's is.
  ASSERT_EQ(ErrorText(Call(*admin_, "/notes.n/update", R"([{"_id":"a1"},{"$set":{"text":"x"}}])")), "");
  ASSERT_EQ(ErrorText(Call(*admin_, "/notes.n/update", R"([{"_id":"b1"},{"$set":{"text":"y"}}])")), "");
  auto m = c->ReadJson();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(ToJson(*m),
            R"({"msg":"changed","collection":"notes.n","id":"b1","fields":{"text":"y"}})");
}

TEST_F(AccessTest, ReloadedRulesApplyToLiveSubscriptionsWithoutDroppingConnections) {
  auto c = As("u1");
  std::vector<Value> initial;
  auto ready = c->Subscribe("notes", "notes.n", "[]", &initial);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(MsgOf(*ready), "ready");
  ASSERT_EQ(initial.size(), 2u);
  auto pub = c->Subscribe("pub", "profiles", "[]");
  ASSERT_EQ(MsgOf(*pub), "ready");
  // Now users see every note but not its text, and no profiles.
  WriteRules(R"({"rules": [
    {"topics": "notes.*", "who": "user", "allow": ["read"], "hide": ["text", "internal"]}]})");
  ASSERT_TRUE(server_->ReloadRules().ok());
  View view;
  for (const Value& m : initial) ASSERT_EQ(Apply(view, m), "");
  bool nosub = false;
  ASSERT_TRUE(WaitUntil([&] {
    auto m = c->ReadJson(std::chrono::milliseconds(50));
    if (!m.ok()) return false;
    if (MsgOf(*m) == "nosub") {
      EXPECT_EQ(m->Find("id")->as_string(), "pub");
      EXPECT_EQ(ErrorText(*m), "403 Access denied: no rule lets user 'u1' sub 'profiles'");
      nosub = true;
    } else if (m->Find("collection") != nullptr &&
               m->Find("collection")->as_string() == "notes.n") {
      EXPECT_EQ(Apply(view, *m), "");
    }
    return nosub && view.size() == 4;
  }));
  EXPECT_EQ(Canonical(view), R"(a1={"ownerId":"u1"};a2={"ownerId":"u1"};b1={"ownerId":"u2"};)"
                             R"(c1={"ownerId":"boss"};)");
  // A broken file changes nothing.
  WriteRules(R"({"rules": [{"topics": "notes.*", "allow": ["fly"]}]})");
  absl::Status bad = server_->ReloadRules();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.message()).find("unknown action 'fly'"), std::string::npos) << bad;
  EXPECT_EQ(ErrorText(Call(*c, "query", R"(["notes.n"])")), "");
  EXPECT_FALSE(c->closed());
}

}  // namespace
}  // namespace ddp::testing

// Row filters, randomized and differential: many users, each with live
// subscriptions under a row filter bound to them ({owner: "$user.sub"},
// and {team: {$in: "$user.teams"}} from an array claim), some with a
// filter of their own on top. An admin inserts, updates (moving documents
// between owners and teams) and removes at random; users write too,
// inside and outside their rights. A model of the data (every write's
// expected outcome predicted from it) is the reference: after each round
// every subscriber's view, built only from the messages it received, must
// equal the model filtered for that user, and the model must equal what
// the admin reads back.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "server/server.h"
#include "tests/server/test_jwt.h"
#include "tests/server/test_server_options.h"
#include "tests/support/ddp_view.h"
#include "tests/support/ws_client.h"

namespace ddp::testing {
namespace {

constexpr int kUsers = 12;
constexpr int kTeams = 4;
constexpr int kRounds = 20;
constexpr int kOpsPerRound = 30;

struct Doc {
  std::string owner;
  std::string team;
  int64_t n = 0;
};

struct Subscriber {
  std::string user;
  std::string topic;
  bool own_filter = false;  // adds {n: {$gt: 50}}
  std::unique_ptr<WsClient> client;
  View view;
};

class RowFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("row_filter_test");
    std::ofstream(dir_ + "/rules.json") << R"({"rules": [
      {"topics": ["docs", "team"], "who": {"roles": ["admin"]}, "allow": ["read", "write"]},
      {"topics": "docs", "who": "user", "allow": ["read", "update", "insert"],
       "filter": {"owner": "$user.sub"}},
      {"topics": "team", "who": "user", "allow": ["sub", "query"],
       "filter": {"team": {"$in": "$user.teams"}}}]})";
    ServerOptions o = TestServerOptions(dir_ + "/data");
    UseTestJwt(o);
    o.rules_file = dir_ + "/rules.json";
    server_ = std::make_unique<Server>(o);
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<WsClient> Login(std::string_view sub, std::string_view extra) {
    auto c = WsClient::Open(server_->port());
    EXPECT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE((*c)->DdpConnect().ok());
    auto r = (*c)->Call("login", StrCat(R"([{"jwt":")", Jwt(Claims(sub, extra)), R"("}])"));
    EXPECT_TRUE(r.ok() && r->Find("error") == nullptr) << (r.ok() ? ToJson(*r) : "no answer");
    return std::move(*c);
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
  std::map<std::string, Doc> model_team_;  // the "team" topic
};

std::string Expected(const std::map<std::string, Doc>& model, const Subscriber& s,
                     const std::vector<std::set<std::string>>& teams) {
  View v;
  int user = std::stoi(s.user.substr(1));
  for (const auto& [id, d] : model) {
    bool mine = s.topic == "docs" ? d.owner == s.user : teams[user].contains(d.team);
    if (!mine || (s.own_filter && d.n <= 50)) continue;
    Object o;
    o.Append("owner", Value(d.owner));
    o.Append("team", Value(d.team));
    o.Append("n", Value(d.n));
    v[id] = std::move(o);
  }
  return Canonical(v);
}

TEST_F(RowFilterTest, LiveResultsEqualTheModelFilteredPerUser) {
  std::mt19937 rng(20261203);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  // Each user belongs to one or two teams (an array claim).
  std::vector<std::set<std::string>> teams(kUsers);
  std::vector<Subscriber> subs;
  for (int u = 0; u < kUsers; ++u) {
    teams[u].insert(StrCat("t", pick(kTeams)));
    if (pick(2) == 0) teams[u].insert(StrCat("t", pick(kTeams)));
    std::string claim = "\"teams\":[";
    bool first = true;
    for (const std::string& t : teams[u]) {
      claim += StrCat(first ? "" : ",", "\"", t, "\"");
      first = false;
    }
    claim += "]";
    for (auto [topic, own] :
         {std::pair{"docs", false}, std::pair{"docs", true}, std::pair{"team", false}}) {
      Subscriber s;
      s.user = StrCat("u", u);
      s.topic = topic;
      s.own_filter = own;
      s.client = Login(s.user, claim);
      std::vector<Value> data;
      auto ready =
          s.client->Subscribe("s", topic, own ? R"([{"filter":{"n":{"$gt":50}}}])" : "[]", &data);
      ASSERT_TRUE(ready.ok());
      ASSERT_EQ(MsgOf(*ready), "ready") << ToJson(*ready);
      for (const Value& m : data) ASSERT_EQ(Apply(s.view, m), "");
      subs.push_back(std::move(s));
    }
  }
  auto admin = Login("root", R"("roles":["admin"])");
  std::vector<std::unique_ptr<WsClient>> writers;
  for (int u = 0; u < kUsers; ++u) writers.push_back(Login(StrCat("u", u), ""));

  std::map<std::string, Doc> model;
  int next_id = 0;
  int denied = 0, invisible = 0, applied_by_users = 0;
  auto random_id = [&]() -> std::string {
    if (model.empty() || pick(8) == 0) return StrCat("missing", pick(5));
    auto it = model.begin();
    std::advance(it, pick(static_cast<int>(model.size())));
    return it->first;
  };
  auto call = [&](WsClient& c, std::string_view method, const std::string& params) {
    auto r = c.Call(method, params);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Value();
  };
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kOpsPerRound; ++i) {
      const std::string topic = pick(2) == 0 ? "docs" : "team";
      const int op = pick(10);
      if (op < 3) {  // admin insert
        std::string id = StrCat("d", next_id++);
        Doc d{StrCat("u", pick(kUsers)), StrCat("t", pick(kTeams)), pick(100)};
        Value r = call(*admin, StrCat("/", topic, "/insert"),
                       StrCat(R"([{"_id":")", id, R"(","owner":")", d.owner, R"(","team":")",
                              d.team, R"(","n":)", d.n, "}]"));
        ASSERT_EQ(r.Find("error"), nullptr) << ToJson(r);
        if (topic == "docs")
          model[id] = d;
        else
          model_team_[id] = d;
      } else if (op < 6) {  // admin update: move between owners or teams, or change n
        auto& m = topic == "docs" ? model : model_team_;
        if (m.empty()) continue;
        auto it = m.begin();
        std::advance(it, pick(static_cast<int>(m.size())));
        Doc& d = it->second;
        std::string set;
        switch (pick(3)) {
          case 0:
            d.owner = StrCat("u", pick(kUsers));
            set = StrCat(R"("owner":")", d.owner, "\"");
            break;
          case 1:
            d.team = StrCat("t", pick(kTeams));
            set = StrCat(R"("team":")", d.team, "\"");
            break;
          default:
            d.n = pick(100);
            set = StrCat(R"("n":)", d.n);
            break;
        }
        Value r = call(*admin, StrCat("/", topic, "/update"),
                       StrCat(R"([{"_id":")", it->first, R"("},{"$set":{)", set, "}}]"));
        ASSERT_EQ(ToJson(*r.Find("result")), "1");
      } else if (op < 7) {  // admin remove
        auto& m = topic == "docs" ? model : model_team_;
        if (m.empty()) continue;
        auto it = m.begin();
        std::advance(it, pick(static_cast<int>(m.size())));
        Value r = call(*admin, StrCat("/", topic, "/remove"), StrCat(R"([")", it->first, R"("])"));
        ASSERT_EQ(ToJson(*r.Find("result")), "1");
        m.erase(it);
      } else {  // a user writes to docs: its own documents only
        const int u = pick(kUsers);
        const std::string user = StrCat("u", u);
        std::string id = random_id();
        if (pick(2) == 0) {  // half the time one of its own, when it has one
          std::vector<std::string> own;
          for (const auto& [k, d] : model) {
            if (d.owner == user) own.push_back(k);
          }
          if (!own.empty()) id = own[pick(static_cast<int>(own.size()))];
        }
        auto found = model.find(id);
        const bool visible = found != model.end() && found->second.owner == user;
        if (pick(2) == 0) {
          // Change n: applies to its own document, and to nothing else.
          int64_t n = pick(100);
          Value r = call(*writers[u], "/docs/update",
                         StrCat(R"([{"_id":")", id, R"("},{"$set":{"n":)", n, "}}]"));
          ASSERT_EQ(r.Find("error"), nullptr) << ToJson(r);
          ASSERT_EQ(ToJson(*r.Find("result")), visible ? "1" : "0") << id << " by " << user;
          if (visible) {
            found->second.n = n;
            ++applied_by_users;
          } else {
            ++invisible;
          }
        } else {
          // Give it away, or plant one for someone else: always refused.
          std::string other = StrCat("u", (u + 1 + pick(kUsers - 1)) % kUsers);
          Value r =
              pick(2) == 0
                  ? call(*writers[u], "/docs/update",
                         StrCat(R"([{"_id":")", id, R"("},{"$set":{"owner":")", other, R"("}}])"))
                  : call(*writers[u], "/docs/insert",
                         StrCat(R"([{"owner":")", other, R"(","team":"t0","n":1}])"));
          const Value* e = r.Find("error");
          if (e != nullptr) {
            ASSERT_EQ(ToJson(*e->Find("error")), "403") << ToJson(r);
            ++denied;
          } else {
            // An update of a document the user cannot see matches nothing.
            ASSERT_EQ(ToJson(*r.Find("result")), "0") << ToJson(r);
            ASSERT_FALSE(visible);
            ++invisible;
          }
        }
      }
    }
    // The model is what is stored...
    for (auto [topic, m] : {std::pair{"docs", &model}, std::pair{"team", &model_team_}}) {
      Value all = call(*admin, "query", StrCat(R"([")", topic, R"(", {"sort":{"_id":1}}])"));
      View stored;
      for (const Value& d : all.Find("result")->as_array()) {
        Object o = d.as_object();
        std::string id = o.Find("_id")->as_string();
        o.Erase("_id");
        stored[id] = std::move(o);
      }
      View expected;
      for (const auto& [id, d] : *m) {
        Object o;
        o.Append("owner", Value(d.owner));
        o.Append("team", Value(d.team));
        o.Append("n", Value(d.n));
        expected[id] = std::move(o);
      }
      ASSERT_EQ(Canonical(stored), Canonical(expected)) << topic << " round " << round;
    }
    // ...and every subscriber sees exactly its share of it.
    for (Subscriber& s : subs) {
      const std::string want = Expected(s.topic == "docs" ? model : model_team_, s, teams);
      std::string problem;
      bool equal = WaitUntil([&] {
        while (true) {
          if (Canonical(s.view) == want) return true;
          auto m = s.client->ReadJson(std::chrono::milliseconds(20));
          if (!m.ok()) return false;
          problem = Apply(s.view, *m);
          if (!problem.empty()) return true;
        }
      });
      ASSERT_EQ(problem, "") << s.user << " " << s.topic;
      ASSERT_TRUE(equal) << s.user << " " << s.topic << (s.own_filter ? " (n > 50)" : "")
                         << " round " << round << "\n got  " << Canonical(s.view) << "\n want "
                         << want;
    }
  }
  // The run exercised every kind of outcome.
  EXPECT_GT(denied, 10);
  EXPECT_GT(invisible, 10);
  EXPECT_GT(applied_by_users, 5);
  // One evaluation per distinct filter value: each user's two queries on
  // docs, and one per distinct set of teams (users of the same teams share).
  std::set<std::set<std::string>> team_sets(teams.begin(), teams.end());
  EXPECT_EQ(server_->engine().live_stats().evaluations.load(),
            static_cast<int64_t>(2 * kUsers + team_sets.size()));
  EXPECT_EQ(server_->engine().live_query_count(), static_cast<size_t>(3 * kUsers));
}

}  // namespace
}  // namespace ddp::testing

// The rules file: what it accepts, what it refuses (with the part named),
// and the decisions it makes for callers, without a server.
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "server/access/rules.h"

namespace ddp::access {
namespace {

std::string ParseError(std::string_view json) {
  absl::StatusOr<std::shared_ptr<const Rules>> r = Rules::Parse(json);
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(AccessRules, RefusesBadFilesNamingThePart) {
  EXPECT_EQ(ParseError("[]"), "rules: expected a JSON object");
  EXPECT_EQ(ParseError("{}"), "rules: a \"rules\" array is required");
  EXPECT_EQ(ParseError(R"({"rules":[], "extra":1})"),
            "rules: unknown key 'extra' (rolesClaim, rules)");
  EXPECT_EQ(ParseError(R"({"rules":[{"allow":["read"]}]})"), "rules[0].topics: required");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a"}]})"),
            "rules[0].allow: required (the actions the rule allows)");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a..b","allow":"read"}]})").substr(0, 30),
            "rules[0].topics: invalid topic");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a","allow":["fly"]}]})"),
            "rules[0].allow: unknown action 'fly' (sub query history insert update remove "
            "publish tx read write)");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a","allow":"read","who":"admins"}]})"),
            R"(rules[0].who: expected "anyone", "user" or {"roles": [...]})");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a","allow":"read","who":{"roles":[]}}]})"),
            "rules[0].who.roles: names no role");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a","allow":"read","filter":{"x":{"$bad":1}}}]})"),
            "rules[0].filter: invalid selector: unknown operator: $bad");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a","allow":"read","hide":["_id"]}]})"),
            "rules[0].hide: _id cannot be hidden");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a","allow":"read","hide":["a..b"]}]})"),
            "rules[0].hide: 'a..b' is not a field path");
  EXPECT_EQ(ParseError(R"({"rules":[{"topics":"a","allow":"read","colour":"red"}]})"),
            "rules[0]: unknown key 'colour' (topics, who, allow, filter, hide)");
  EXPECT_EQ(ParseError("{").substr(0, 7), "rules: ");
}

TEST(AccessRules, TheFirstRuleThatAllowsDecides) {
  auto rules = Rules::Parse(R"({"rolesClaim": "groups", "rules": [
    {"topics": "t.*", "who": {"roles": ["ops"]}, "allow": "write"},
    {"topics": ["t.*", "u"], "who": "user", "allow": ["read", "insert"],
     "filter": {"owner": "$user.sub", "org": "$user.org.id", "tags": {"$in": "$user.tags"}},
     "hide": ["secret"]},
    {"topics": "t.public", "allow": "sub"}]})");
  ASSERT_TRUE(rules.ok()) << rules.status();
  UserIdentity ops{"o1", ParseJson(R"({"groups":["ops"]})")->as_object(), "", 0};
  UserIdentity ann{"ann", ParseJson(R"({"org":{"id":7},"tags":["x","y"]})")->as_object(), "", 0};
  UserIdentity bob{"bob", Object(), "", 0};

  auto decide = [&](const UserIdentity* u, std::string_view target, Action a) {
    absl::StatusOr<Grant> g = (*rules)->Decide(Caller{u}, target, a);
    if (!g.ok()) return std::string(g.status().message());
    return g->filter ? ToJson(*g->filter) : std::string("all");
  };
  EXPECT_EQ(decide(&ops, "t.a", Action::kRemove), "all");
  // ops is a user too: the second rule lets it read its own.
  EXPECT_EQ(decide(&ops, "t.a", Action::kQuery),
            R"({"_id":{"$in":[]}})");  // no org or tags claim: nothing is its own
  EXPECT_EQ(decide(&ann, "t.a", Action::kSub),
            R"({"owner":"ann","org":7,"tags":{"$in":["x","y"]}})");
  EXPECT_EQ(decide(&ann, "u", Action::kInsert),
            R"({"owner":"ann","org":7,"tags":{"$in":["x","y"]}})");
  EXPECT_EQ(decide(&ann, "t.a", Action::kRemove),
            "Access denied: no rule lets user 'ann' remove 't.a'");
  EXPECT_EQ(decide(&bob, "t.a", Action::kQuery), R"({"_id":{"$in":[]}})");
  EXPECT_EQ(decide(nullptr, "t.public", Action::kSub), "all");
  EXPECT_EQ(decide(nullptr, "t.public", Action::kQuery),
            "Access denied: no rule lets anonymous clients query 't.public'");
  // Patterns: inside one rule, or refused when they span rules.
  EXPECT_EQ(decide(&ann, "t.*", Action::kSub),
            R"({"owner":"ann","org":7,"tags":{"$in":["x","y"]}})");
  EXPECT_EQ(
      decide(&ann, ">", Action::kSub),
      "Access denied: '>' spans topics under different access rules (sub each part on its own)");
  EXPECT_EQ(
      decide(nullptr, "t.*", Action::kSub),
      "Access denied: 't.*' spans topics under different access rules (sub each part on its own)");
}

TEST(AccessRules, PathsMeetWhenOneHoldsTheOther) {
  EXPECT_TRUE(PathsMeet("a", "a"));
  EXPECT_TRUE(PathsMeet("a", "a.b"));
  EXPECT_TRUE(PathsMeet("a.b.c", "a.b"));
  EXPECT_FALSE(PathsMeet("a", "ab"));
  EXPECT_FALSE(PathsMeet("a.b", "a.c"));
}

}  // namespace
}  // namespace ddp::access

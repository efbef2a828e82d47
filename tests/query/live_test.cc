// Scripted live-query cases: the behaviours the randomized test cannot
// reach (window closing, lateness, emit "final"), and exact expectations
// for messages of a few common queries.
#include "query/live/plan.h"

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"

namespace ddp::query {
namespace {

Value J(std::string_view json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  return v.ok() ? *v : Value();
}

class Harness {
 public:
  explicit Harness(std::string_view query, std::string_view target = "t") {
    auto plan = LivePlan::Parse(target, J(query), LiveLimits());
    EXPECT_TRUE(plan.ok()) << plan.status();
    eval_ = std::make_unique<LiveEvaluation>(*plan);
  }
  // Applies one change and returns the messages, one line each.
  std::vector<std::string> Put(std::string_view id, std::string_view doc) {
    DocPtr after = std::make_shared<const Object>(J(doc).as_object());
    DocPtr before = docs_.contains(std::string(id)) ? docs_[std::string(id)] : nullptr;
    docs_[std::string(id)] = after;
    return Apply({DocDelta{std::string(id), std::string(id), "", before, after}});
  }
  std::vector<std::string> Remove(std::string_view id) {
    DocPtr before = docs_[std::string(id)];
    docs_.erase(std::string(id));
    return Apply({DocDelta{std::string(id), std::string(id), "", before, nullptr}});
  }
  std::vector<std::string> Apply(std::vector<DocDelta> batch) {
    LiveDeltas out;
    absl::Status s = eval_->ApplySource("t", batch, &out);
    EXPECT_TRUE(s.ok()) << s;
    last_status_ = s;
    std::vector<std::string> lines;
    for (const LiveDelta& d : out) lines.push_back(Line(d));
    return lines;
  }
  static std::string Line(const LiveDelta& d) {
    static const char* kKinds[] = {"added", "changed", "removed", "addedBefore", "movedBefore"};
    std::string s = StrCat(kKinds[static_cast<int>(d.kind)], " ", d.id);
    if (!d.fields.empty()) {
      s += ' ';
      s += ToJson(Value(d.fields));
    }
    if (!d.cleared.empty()) s += " cleared";
    if (d.kind == LiveDelta::Kind::kAddedBefore || d.kind == LiveDelta::Kind::kMovedBefore) {
      s += " before ";
      s += d.before.value_or("null");
    }
    return s;
  }
  LiveEvaluation& eval() { return *eval_; }
  absl::Status last_status_;

 private:
  std::unique_ptr<LiveEvaluation> eval_;
  std::map<std::string, DocPtr> docs_;
};

using Lines = std::vector<std::string>;

TEST(LiveTest, SortedLimitedWindowRefillsAndOrders) {
  Harness h(R"({"sort":{"score":-1},"limit":2,"ordered":true})");
  EXPECT_EQ(h.Put("a", R"({"_id":"a","score":1})"), Lines{"addedBefore a {\"score\":1} before null"});
  EXPECT_EQ(h.Put("b", R"({"_id":"b","score":5})"), Lines{"addedBefore b {\"score\":5} before a"});
  // c enters at the top; a falls out of the window.
  EXPECT_EQ(h.Put("c", R"({"_id":"c","score":9})"),
            (Lines{"removed a", "addedBefore c {\"score\":9} before b"}));
  // c drops below b: changed, then moved.
  EXPECT_EQ(h.Put("c", R"({"_id":"c","score":4})"),
            (Lines{"changed c {\"score\":4}", "movedBefore b before c"}));
  // b leaves: the window refills with a from the rest.
  EXPECT_EQ(h.Remove("b"), (Lines{"removed b", "addedBefore a {\"score\":1} before null"}));
}

TEST(LiveTest, UnorderedWindowUsesAddedAndRemovedOnly) {
  Harness h(R"({"sort":{"score":-1},"limit":1})");
  EXPECT_EQ(h.Put("a", R"({"_id":"a","score":1})"), Lines{"added a {\"score\":1}"});
  Lines out = h.Put("b", R"({"_id":"b","score":2})");
  std::sort(out.begin(), out.end());  // no order among unordered messages
  EXPECT_EQ(out, (Lines{"added b {\"score\":2}", "removed a"}));
}

TEST(LiveTest, GroupRetractsExactly) {
  Harness h(R"({"pipeline":[{"$group":{"_id":"$sym","qty":{"$sum":"$q"},"n":{"$count":{}},"hi":{"$max":"$p"}}}]})");
  EXPECT_EQ(h.Put("1", R"({"_id":"1","sym":"A","q":10,"p":5})"),
            Lines{"added A {\"qty\":10,\"n\":1,\"hi\":5}"});
  EXPECT_EQ(h.Put("2", R"({"_id":"2","sym":"A","q":5,"p":7})"),
            Lines{"changed A {\"qty\":15,\"n\":2,\"hi\":7}"});
  // Moving a trade to another symbol retracts it from A.
  Lines moved = h.Put("2", R"({"_id":"2","sym":"B","q":5,"p":7})");
  std::sort(moved.begin(), moved.end());
  EXPECT_EQ(moved, (Lines{"added B {\"qty\":5,\"n\":1,\"hi\":7}", "changed A {\"qty\":10,\"n\":1,\"hi\":5}"}));
  EXPECT_EQ(h.Remove("1"), Lines{"removed A"});
  // A non-string key keeps its value in `_key`.
  Harness k(R"({"pipeline":[{"$group":{"_id":{"s":"$sym"},"n":{"$count":{}}}}]})");
  EXPECT_EQ(k.Put("1", R"({"_id":"1","sym":"A"})"),
            Lines{"added ~{\"s\":t4:\"A\",} {\"n\":1,\"_key\":{\"s\":\"A\"}}"});
}

TEST(LiveTest, TumblingWindowsCloseAndFreeze) {
  Harness h(R"({"pipeline":[{"$window":{"on":"t","tumbling":10,"allowedLateness":10}},
                            {"$group":{"_id":"$k","n":{"$count":{}}}}]})");
  auto added = h.Put("1", R"({"_id":"1","k":"x","t":3})");
  ASSERT_EQ(added.size(), 1u);
  EXPECT_NE(added[0].find("\"n\":1"), std::string::npos);
  EXPECT_NE(added[0].find("\"start\":0,\"end\":10"), std::string::npos) << added[0];
  // t=16 moves the watermark to 16: [0,10) is still open (it closes at 10 + 10)...
  EXPECT_EQ(h.Put("2", R"({"_id":"2","k":"x","t":16})").size(), 1u);
  EXPECT_EQ(h.Put("3", R"({"_id":"3","k":"x","t":4})").size(), 1u);  // ...so this counts
  // t=20 closes [0,10): a late event for it is dropped...
  EXPECT_EQ(h.Put("4", R"({"_id":"4","k":"x","t":21})").size(), 1u);
  EXPECT_TRUE(h.Put("5", R"({"_id":"5","k":"x","t":1})").empty());
  // ...and so is an update of a document in it (frozen).
  EXPECT_TRUE(h.Put("1", R"({"_id":"1","k":"x","t":2,"extra":true})").empty());
  // A removal still retracts (retention cleans old windows up).
  EXPECT_EQ(h.Remove("3").size(), 1u);
}

TEST(LiveTest, EmitFinalReleasesAWindowOnceWhenItCloses) {
  Harness h(R"({"pipeline":[{"$window":{"on":"t","tumbling":10,"emit":"final"}},
                            {"$group":{"_id":null,"n":{"$count":{}},"s":{"$sum":"$v"}}}]})");
  EXPECT_TRUE(h.Put("1", R"({"_id":"1","t":1,"v":1})").empty());
  EXPECT_TRUE(h.Put("2", R"({"_id":"2","t":5,"v":2})").empty());
  EXPECT_TRUE(h.Put("2", R"({"_id":"2","t":6,"v":3})").empty());
  // An event at 10 closes [0,10): one result with both documents.
  Lines out = h.Put("3", R"({"_id":"3","t":10,"v":100})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("\"n\":2,\"s\":4"), std::string::npos) << out[0];
  EXPECT_EQ(h.eval().size(), 1u);
}

TEST(LiveTest, SessionWindowsMergeAndSplit) {
  Harness h(R"({"pipeline":[{"$window":{"on":"t","session":{"gap":10},"allowedLateness":1000}},
                            {"$group":{"_id":"$u","n":{"$count":{}}}}]})");
  h.Put("1", R"({"_id":"1","u":"ann","t":0})");
  h.Put("2", R"({"_id":"2","u":"ann","t":30})");
  EXPECT_EQ(h.eval().size(), 2u);  // two sessions
  h.Put("3", R"({"_id":"3","u":"ann","t":15})");  // 15 apart on both sides: a third session
  EXPECT_EQ(h.eval().size(), 3u);
  h.Put("3", R"({"_id":"3","u":"ann","t":8})");  // 8 after 0: joins the first session
  EXPECT_EQ(h.eval().size(), 2u);
  h.Put("4", R"({"_id":"4","u":"ann","t":20})");  // 12 after 8 and 10 before 30: alone
  auto docs = h.eval().Documents();
  ASSERT_EQ(docs.size(), 3u);
  h.Remove("4");
  EXPECT_EQ(h.eval().size(), 2u);
  h.Put("5", R"({"_id":"5","u":"ann","t":17})");  // 9 after 8: {0, 8, 17}; 13 before 30
  docs = h.eval().Documents();
  ASSERT_EQ(docs.size(), 2u);
  int64_t total = 0;
  for (auto& d : docs) total += d.doc.Find("n")->as_int();
  EXPECT_EQ(total, 4);
}

// orders $lookup customers (cust -> _id) as c.
std::shared_ptr<const LivePlan> OrdersJoinCustomers() {
  auto plan = LivePlan::Parse(
      "orders",
      J(R"({"pipeline":[{"$lookup":{"from":"customers","localField":"cust","foreignField":"_id","as":"c"}}]})"),
      LiveLimits());
  EXPECT_TRUE(plan.ok()) << plan.status();
  return *plan;
}

DocPtr doc(std::string_view json) { return std::make_shared<const Object>(J(json).as_object()); }

TEST(LiveTest, LookupFollowsBothSides) {
  LiveEvaluation eval(OrdersJoinCustomers());
  LiveDeltas out;
  ASSERT_TRUE(eval.ApplySource("orders", {DocDelta{"o1", "o1", "", nullptr, doc(R"({"_id":"o1","cust":"k"})")}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ToJson(Value(out[0].fields)), R"({"cust":"k","c":[]})");
  out.clear();
  ASSERT_TRUE(eval.ApplyForeign("customers", {DocDelta{"k", "k", "", nullptr, doc(R"({"_id":"k","name":"Kim"})")}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, LiveDelta::Kind::kChanged);
  EXPECT_EQ(ToJson(Value(out[0].fields)), R"({"c":[{"_id":"k","name":"Kim"}]})");
  out.clear();
  ASSERT_TRUE(eval.ApplyForeign("customers", {DocDelta{"k", "k", "", doc(R"({"_id":"k","name":"Kim"})"), nullptr}}, &out).ok());
  EXPECT_EQ(ToJson(Value(out[0].fields)), R"({"c":[]})");
}

// Changes as the engine passes them (key and topic filled in) go through the
// operators without a copy; either way the evaluation keeps no document
// alive beyond its result.
TEST(LiveTest, EvaluationHoldsOnlyItsResult) {
  auto plan = LivePlan::Parse("t", J(R"({"filter":{"n":{"$gte":1}}})"), LiveLimits());
  ASSERT_TRUE(plan.ok());
  LiveEvaluation eval(*plan);
  DocPtr a1 = doc(R"({"_id":"a","n":1})"), a2 = doc(R"({"_id":"a","n":2})"), b = doc(R"({"_id":"b","n":0})");
  LiveDeltas out;
  // As the engine sends them (key == id, topic set) ...
  ASSERT_TRUE(eval.ApplySource("t", {DocDelta{"a", "a", "t", nullptr, a1}, DocDelta{"b", "b", "t", nullptr, b}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, LiveDelta::Kind::kAdded);
  EXPECT_EQ(a1.use_count(), 2);  // the result holds it
  EXPECT_EQ(b.use_count(), 1);   // filtered out: nothing holds it
  // ... and without key and topic: the same messages.
  out.clear();
  ASSERT_TRUE(eval.ApplySource("t", {DocDelta{"", "a", "", a1, a2}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, LiveDelta::Kind::kChanged);
  EXPECT_EQ(ToJson(Value(out[0].fields)), R"({"n":2})");
  EXPECT_EQ(a1.use_count(), 1);
  EXPECT_EQ(a2.use_count(), 2);
  out.clear();
  ASSERT_TRUE(eval.ApplySource("t", {DocDelta{"a", "a", "t", a2, nullptr}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, LiveDelta::Kind::kRemoved);
  EXPECT_EQ(a2.use_count(), 1);
  EXPECT_EQ(eval.size(), 0u);
}

// A local update that keeps its join value keeps its place in the join
// index; one that changes it moves.
TEST(LiveTest, LookupLocalUpdatesKeepOrMoveTheirJoin) {
  LiveEvaluation eval(OrdersJoinCustomers());
  LiveDeltas out;
  ASSERT_TRUE(eval.ApplyForeign("customers", {DocDelta{"k", "k", "customers", nullptr, doc(R"({"_id":"k","name":"Kim"})")},
                                              DocDelta{"m", "m", "customers", nullptr, doc(R"({"_id":"m","name":"Max"})")}}, &out).ok());
  ASSERT_TRUE(eval.ApplySource("orders", {DocDelta{"o1", "o1", "orders", nullptr, doc(R"({"_id":"o1","cust":"k","q":1})")}}, &out).ok());
  out.clear();
  // Same customer, other quantity: only q changes.
  ASSERT_TRUE(eval.ApplySource("orders", {DocDelta{"o1", "o1", "orders", doc(R"({"_id":"o1","cust":"k","q":1})"),
                                                   doc(R"({"_id":"o1","cust":"k","q":2})")}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ToJson(Value(out[0].fields)), R"({"q":2})");
  out.clear();
  // The join still follows k ...
  ASSERT_TRUE(eval.ApplyForeign("customers", {DocDelta{"k", "k", "customers", doc(R"({"_id":"k","name":"Kim"})"),
                                                       doc(R"({"_id":"k","name":"Kit"})")}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ToJson(Value(out[0].fields)), R"({"c":[{"_id":"k","name":"Kit"}]})");
  out.clear();
  // ... until the order moves to m; then k's changes no longer reach it.
  ASSERT_TRUE(eval.ApplySource("orders", {DocDelta{"o1", "o1", "orders", doc(R"({"_id":"o1","cust":"k","q":2})"),
                                                   doc(R"({"_id":"o1","cust":"m","q":2})")}}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ToJson(Value(out[0].fields)), R"({"cust":"m","c":[{"_id":"m","name":"Max"}]})");
  out.clear();
  ASSERT_TRUE(eval.ApplyForeign("customers", {DocDelta{"k", "k", "customers", doc(R"({"_id":"k","name":"Kit"})"),
                                                       doc(R"({"_id":"k","name":"Kai"})")}}, &out).ok());
  EXPECT_TRUE(out.empty());
  // A change on the joined side that leaves the join as it was says nothing.
  ASSERT_TRUE(eval.ApplyForeign("customers", {DocDelta{"m", "m", "customers", doc(R"({"_id":"m","name":"Max"})"),
                                                       doc(R"({"_id":"m","name":"Max"})")}}, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(LiveTest, InvalidQueriesNameTheProblem) {
  struct Case {
    const char* query;
    const char* part;
  };
  const Case cases[] = {
      {R"({"pipeline":[{"$frob":{}}]})", "pipeline[0] $frob"},
      {R"({"pipeline":[{"$group":{"n":{"$sum":1}}}]})", "needs an _id"},
      {R"({"pipeline":[{"$group":{"_id":null,"n":{"$median":"$x"}}}]})", "$median"},
      {R"({"pipeline":[{"$window":{"on":"t","tumbling":10}}]})", "must be followed by a $group"},
      {R"({"pipeline":[{"$window":{"on":"t","tumbling":-1}},{"$group":{"_id":null}}]})", "tumbling"},
      {R"({"pipeline":[{"$lookup":{"from":"a.*","localField":"x","foreignField":"y","as":"z"}}]})", "topic name"},
      {R"({"pipeline":[{"$partition":{"by":"k","count":2,"index":2}}]})", "index"},
      {R"({"pipeline":[{"$project":{"a":1,"b":0}}]})", "cannot mix"},
      {R"({"pipeline":[{"$addFields":{"x":{"$nope":1}}}]})", "$nope"},
      {R"({"pipeline":[{"$limit":0}]})", "$limit"},
      {R"({"filter":{"$bad":1}})", "filter"},
      {R"({"bogus":1})", "bogus"},
      {R"({"limit":1000000000})", "max_result"},
  };
  for (const Case& c : cases) {
    auto plan = LivePlan::Parse("t", J(c.query), LiveLimits());
    ASSERT_FALSE(plan.ok()) << c.query;
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().message().find(c.part), std::string::npos)
        << c.query << ": " << plan.status();
  }
  LiveLimits tight;
  tight.max_stages = 1;
  tight.max_lookups = 0;
  auto p = LivePlan::Parse("t", J(R"({"pipeline":[{"$match":{}},{"$match":{}}]})"), tight);
  EXPECT_NE(p.status().message().find("max_stages"), std::string::npos);
  p = LivePlan::Parse("t", J(R"({"pipeline":[{"$lookup":{"from":"a","localField":"x","foreignField":"y","as":"z"}}]})"), tight);
  EXPECT_NE(p.status().message().find("max_lookups"), std::string::npos);
}

TEST(LiveTest, LimitsStopTheEvaluation) {
  LiveLimits limits;
  limits.max_groups = 2;
  auto plan = LivePlan::Parse("t", J(R"({"pipeline":[{"$group":{"_id":"$g"}}]})"), limits);
  ASSERT_TRUE(plan.ok());
  LiveEvaluation eval(*plan);
  LiveDeltas out;
  std::vector<DocDelta> batch;
  for (int i = 0; i < 3; ++i) {
    std::string id = StrCat("d", i);
    batch.push_back(DocDelta{id, id, "", nullptr,
                             std::make_shared<const Object>(Object{{"_id", Value(id)}, {"g", Value(i)}})});
  }
  absl::Status s = eval.ApplySource("t", batch, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("max_groups"), std::string::npos);
}

TEST(LiveTest, CanonicalFormIgnoresKeyOrderWhereItDoesNotMatter) {
  auto a = LivePlan::Parse("t", J(R"({"filter":{"a":1,"b":2},"limit":3})"), LiveLimits());
  auto b = LivePlan::Parse("t", J(R"({"limit":3,"filter":{"b":2,"a":1}})"), LiveLimits());
  auto c = LivePlan::Parse("t", J(R"({"filter":{"a":{"x":1,"y":2}}})"), LiveLimits());
  auto d = LivePlan::Parse("t", J(R"({"filter":{"a":{"y":2,"x":1}}})"), LiveLimits());
  EXPECT_EQ((*a)->canonical, (*b)->canonical);
  EXPECT_NE((*c)->canonical, (*d)->canonical);  // object equality is order-sensitive
}

}  // namespace
}  // namespace ddp::query

namespace ddp::query {
namespace {

// A result of 20k documents: its index grows a step at a time
// (incremental_map.h) while changes and removals keep arriving, some for
// documents still in the old table. Every message must be what a fresh
// evaluation would say, and the result must end equal to the model.
TEST(LiveTest, ALargeResultStaysExactWhileItsIndexGrows) {
  Harness h(R"({})");
  std::map<std::string, int> model;
  for (int i = 0; i < 20000; ++i) {
    std::string id = StrCat("d", i);
    ASSERT_EQ(h.Put(id, StrCat(R"({"_id":")", id, R"(","n":)", i, "}")),
              Lines{StrCat("added ", id, R"( {"n":)", i, "}")});
    model[id] = i;
    if (i % 7 == 3) {  // change an older document
      std::string old = StrCat("d", i / 2);
      if (model.contains(old)) {
        ASSERT_EQ(h.Put(old, StrCat(R"({"_id":")", old, R"(","n":)", -i, "}")),
                  Lines{StrCat("changed ", old, R"( {"n":)", -i, "}")});
        model[old] = -i;
      }
    }
    if (i % 11 == 5) {  // remove an older one
      std::string old = StrCat("d", i / 3);
      if (model.contains(old)) {
        ASSERT_EQ(h.Remove(old), Lines{StrCat("removed ", old)});
        model.erase(old);
      }
    }
  }
  ASSERT_EQ(h.eval().size(), model.size());
  std::map<std::string, int> seen;
  for (const LiveDelta& d : h.eval().Snapshot()) seen[d.id] = static_cast<int>(d.fields.Find("n")->as_int());
  EXPECT_EQ(seen, model);
}

}  // namespace
}  // namespace ddp::query

// Projection (field selection) and Sort with MongoDB semantics
// (https://www.mongodb.com/docs/manual/tutorial/project-fields-from-query-results/,
// https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/).
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "protocol/value.h"
#include "query/projection.h"
#include "query/sort.h"

namespace ddp::query {
namespace {

Value J(std::string_view json) {
  absl::StatusOr<Value> v = ParseJson(json);
  if (!v.ok()) {
    ADD_FAILURE() << "bad JSON in test: " << json << ": " << v.status();
    return Value();
  }
  return *std::move(v);
}

// The JSON of `doc` projected with `fields`, or "error: ...".
std::string Project(std::string_view fields, std::string_view doc) {
  absl::StatusOr<Projection> p = Projection::Compile(J(fields));
  if (!p.ok()) return "error: " + std::string(p.status().message());
  Value d = J(doc);
  if (!d.is_object()) return "not an object";
  return ToJson(Value(p->Apply(d.as_object())));
}

::testing::AssertionResult ProjectionFails(std::string_view fields, std::string_view part) {
  absl::StatusOr<Projection> p = Projection::Compile(J(fields));
  if (p.ok()) return ::testing::AssertionFailure() << fields << " compiled, expected an error";
  if (p.status().code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << fields << ": wrong code: " << p.status();
  }
  if (std::string(p.status().message()).find(part) == std::string::npos) {
    return ::testing::AssertionFailure()
           << fields << ": message '" << p.status().message() << "' lacks '" << part << "'";
  }
  return ::testing::AssertionSuccess();
}

// The `_id`s of `docs` in the order `spec` sorts them, comma-separated.
std::string Order(std::string_view spec, const std::vector<std::string_view>& docs) {
  absl::StatusOr<Sort> sort = Sort::Compile(J(spec));
  if (!sort.ok()) return "error: " + std::string(sort.status().message());
  std::vector<Value> values;
  for (std::string_view d : docs) values.push_back(J(d));
  std::sort(values.begin(), values.end(),
            [&](const Value& a, const Value& b) { return sort->Less(a, b); });
  std::string out;
  for (const Value& v : values) {
    if (!out.empty()) out += ",";
    const Value* id = v.Find("_id");
    out += id != nullptr && id->is_string() ? id->as_string() : "?";
  }
  return out;
}

int Sign(int c) { return c < 0 ? -1 : (c > 0 ? 1 : 0); }

int CompareDocs(std::string_view spec, std::string_view a, std::string_view b) {
  absl::StatusOr<Sort> sort = Sort::Compile(J(spec));
  EXPECT_TRUE(sort.ok()) << spec << ": " << sort.status();
  if (!sort.ok()) return 99;
  return Sign(sort->Compare(J(a), J(b)));
}

::testing::AssertionResult SortFails(const Value& spec, std::string_view part) {
  absl::StatusOr<Sort> s = Sort::Compile(spec);
  if (s.ok()) return ::testing::AssertionFailure() << ToJson(spec) << " compiled";
  if (s.status().code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << ToJson(spec) << ": wrong code: " << s.status();
  }
  if (std::string(s.status().message()).find(part) == std::string::npos) {
    return ::testing::AssertionFailure()
           << ToJson(spec) << ": message '" << s.status().message() << "' lacks '" << part << "'";
  }
  return ::testing::AssertionSuccess();
}

// ------------------------------------------------------------ Projection

TEST(ProjectionTest, EmptyOrNullKeepsEverything) {
  absl::StatusOr<Projection> p = Projection::Compile(J("{}"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->keeps_all());
  EXPECT_EQ(Project("{}", R"({"_id":"x","a":1,"b":{"c":2}})"), R"({"_id":"x","a":1,"b":{"c":2}})");
  absl::StatusOr<Projection> n = Projection::Compile(Value());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_TRUE(n->keeps_all());
  Projection d;
  EXPECT_TRUE(d.keeps_all());
  EXPECT_EQ(ToJson(Value(d.Apply(J(R"({"_id":"x","a":1})").as_object()))), R"({"_id":"x","a":1})");
  absl::StatusOr<Projection> some = Projection::Compile(J(R"({"a":1})"));
  ASSERT_TRUE(some.ok());
  EXPECT_FALSE(some->keeps_all());
}

TEST(ProjectionTest, Inclusion) {
  EXPECT_EQ(Project(R"({"a":1})", R"({"_id":"x","a":1,"b":2})"), R"({"_id":"x","a":1})");
  EXPECT_EQ(Project(R"({"a":1,"c":1})", R"({"_id":"x","a":1,"b":2,"c":3})"),
            R"({"_id":"x","a":1,"c":3})");
  // Document order, not projection order.
  EXPECT_EQ(Project(R"({"c":1,"a":1})", R"({"_id":"x","a":1,"b":2,"c":3})"),
            R"({"_id":"x","a":1,"c":3})");
  // true and any non-zero number include.
  EXPECT_EQ(Project(R"({"a":true,"c":2})", R"({"_id":"x","a":1,"b":2,"c":3})"),
            R"({"_id":"x","a":1,"c":3})");
  EXPECT_EQ(Project(R"({"a":1.0})", R"({"_id":"x","a":1,"b":2})"), R"({"_id":"x","a":1})");
  // Whole values, whatever their type.
  EXPECT_EQ(Project(R"({"a":1})", R"({"_id":"x","a":[1,{"b":2}],"c":3})"),
            R"({"_id":"x","a":[1,{"b":2}]})");
  // Missing fields are simply absent.
  EXPECT_EQ(Project(R"({"z":1})", R"({"_id":"x","a":1})"), R"({"_id":"x"})");
  EXPECT_EQ(Project(R"({"a":1})", R"({"b":1})"), R"({})");
}

TEST(ProjectionTest, IdIsIncludedUnlessExcluded) {
  // _id leads the result even when it is not first in the document.
  EXPECT_EQ(Project(R"({"a":1})", R"({"b":2,"a":1,"_id":"x"})"), R"({"_id":"x","a":1})");
  EXPECT_EQ(Project(R"({"a":1,"_id":1})", R"({"b":2,"a":1,"_id":"x"})"), R"({"_id":"x","a":1})");
  EXPECT_EQ(Project(R"({"_id":0,"a":1})", R"({"_id":"x","a":1,"b":2})"), R"({"a":1})");
  EXPECT_EQ(Project(R"({"a":1,"_id":false})", R"({"_id":"x","a":1,"b":2})"), R"({"a":1})");
  // Only _id named.
  EXPECT_EQ(Project(R"({"_id":0})", R"({"_id":"x","a":1,"b":2})"), R"({"a":1,"b":2})");
  EXPECT_EQ(Project(R"({"_id":1})", R"({"_id":"x","a":1,"b":2})"), R"({"_id":"x"})");
  // With exclusions.
  EXPECT_EQ(Project(R"({"a":0})", R"({"_id":"x","a":1,"b":2})"), R"({"_id":"x","b":2})");
  EXPECT_EQ(Project(R"({"_id":0,"a":0})", R"({"_id":"x","a":1,"b":2})"), R"({"b":2})");
  EXPECT_EQ(Project(R"({"a":0,"_id":0})", R"({"_id":"x","a":1,"b":2})"), R"({"b":2})");
}

TEST(ProjectionTest, Exclusion) {
  EXPECT_EQ(Project(R"({"a":0})", R"({"_id":"x","a":1,"b":2,"c":3})"),
            R"({"_id":"x","b":2,"c":3})");
  EXPECT_EQ(Project(R"({"a":false,"c":0})", R"({"_id":"x","a":1,"b":2,"c":3})"),
            R"({"_id":"x","b":2})");
  EXPECT_EQ(Project(R"({"z":0})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":1})");
}

TEST(ProjectionTest, DottedPathsIntoSubDocuments) {
  EXPECT_EQ(Project(R"({"a.b":1})", R"({"_id":"x","a":{"b":1,"c":2},"d":3})"),
            R"({"_id":"x","a":{"b":1}})");
  EXPECT_EQ(Project(R"({"a.b":1,"a.c":1})", R"({"_id":"x","a":{"b":1,"c":2,"d":3}})"),
            R"({"_id":"x","a":{"b":1,"c":2}})");
  EXPECT_EQ(Project(R"({"a.b.c":1})", R"({"_id":"x","a":{"b":{"c":1,"d":2},"e":3}})"),
            R"({"_id":"x","a":{"b":{"c":1}}})");
  // The parent exists without the field: an empty sub-document.
  EXPECT_EQ(Project(R"({"a.b":1})", R"({"_id":"x","a":{"c":1}})"), R"({"_id":"x","a":{}})");
  // The parent is a scalar: dropped by inclusion, kept by exclusion.
  EXPECT_EQ(Project(R"({"a.b":1})", R"({"_id":"x","a":5})"), R"({"_id":"x"})");
  EXPECT_EQ(Project(R"({"a.b":0})", R"({"_id":"x","a":5})"), R"({"_id":"x","a":5})");
  EXPECT_EQ(Project(R"({"a.b":0})", R"({"_id":"x","a":{"b":1,"c":2},"d":3})"),
            R"({"_id":"x","a":{"c":2},"d":3})");
  EXPECT_EQ(Project(R"({"a.b":0,"a.c":0})", R"({"_id":"x","a":{"b":1,"c":2,"d":3}})"),
            R"({"_id":"x","a":{"d":3}})");
}

TEST(ProjectionTest, DottedPathsIntoArraysOfDocuments) {
  // Inclusion keeps the field in each document element; scalar elements
  // are dropped, documents without the field become {}.
  EXPECT_EQ(Project(R"({"a.b":1})", R"({"_id":"x","a":[{"b":1,"c":2},{"c":3},5]})"),
            R"({"_id":"x","a":[{"b":1},{}]})");
  EXPECT_EQ(Project(R"({"a.b.c":1})", R"({"_id":"x","a":[{"b":[{"c":1,"d":2}]}]})"),
            R"({"_id":"x","a":[{"b":[{"c":1}]}]})");
  // Exclusion removes the field from each document element; scalars stay.
  EXPECT_EQ(Project(R"({"a.b":0})", R"({"_id":"x","a":[{"b":1,"c":2},{"c":3},5]})"),
            R"({"_id":"x","a":[{"c":2},{"c":3},5]})");
  EXPECT_EQ(Project(R"({"a.b":1})", R"({"_id":"x","a":[]})"), R"({"_id":"x","a":[]})");
}

TEST(ProjectionTest, Errors) {
  EXPECT_TRUE(ProjectionFails(R"({"a":1,"b":0})", "cannot mix inclusion and exclusion"));
  EXPECT_TRUE(ProjectionFails(R"({"a":0,"b":true})", "cannot mix inclusion and exclusion"));
  EXPECT_TRUE(ProjectionFails(R"({"a.b":1,"c":0})", "cannot mix"));
  EXPECT_TRUE(ProjectionFails(R"({"a":"x"})", "'a'"));
  EXPECT_TRUE(ProjectionFails(R"({"a":null})", "must be 1, 0, true or false"));
  EXPECT_TRUE(ProjectionFails(R"({"a":{"$slice":1}})", "'a'"));
  EXPECT_TRUE(ProjectionFails(R"({"a":[1]})", "'a'"));
  EXPECT_TRUE(ProjectionFails(R"({"$a":1})", "'$a'"));
  EXPECT_TRUE(ProjectionFails(R"({"":1})", "invalid field"));
  EXPECT_TRUE(ProjectionFails(R"({"a..b":1})", "'a..b'"));
  EXPECT_TRUE(ProjectionFails(R"({"a.":1})", "'a.'"));
  absl::StatusOr<Projection> p = Projection::Compile(Value(1));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(p.status().message()).find("must be an object"), std::string::npos);
}

// ------------------------------------------------------------------ Sort

TEST(SortTest, SingleKeyAscendingAndDescending) {
  std::vector<std::string_view> docs = {R"({"_id":"b","n":2})", R"({"_id":"c","n":3})",
                                        R"({"_id":"a","n":1.5})", R"({"_id":"d","n":-1})"};
  EXPECT_EQ(Order(R"({"n":1})", docs), "d,a,b,c");
  EXPECT_EQ(Order(R"({"n":-1})", docs), "c,b,a,d");
  EXPECT_EQ(Order(R"({"n":1.0})", docs), "d,a,b,c");
  EXPECT_EQ(Order(R"({"n":-1.0})", docs), "c,b,a,d");
  std::vector<std::string_view> strings = {R"({"_id":"1","s":"b"})", R"({"_id":"2","s":"B"})",
                                           R"({"_id":"3","s":"a"})", R"({"_id":"4","s":"ab"})"};
  // Bytewise: uppercase before lowercase, prefixes first.
  EXPECT_EQ(Order(R"({"s":1})", strings), "2,3,4,1");
}

TEST(SortTest, MultipleKeys) {
  std::vector<std::string_view> docs = {
      R"({"_id":"1","a":1,"b":"x"})", R"({"_id":"2","a":1,"b":"y"})",
      R"({"_id":"3","a":0,"b":"z"})", R"({"_id":"4","a":1,"b":"w"})"};
  EXPECT_EQ(Order(R"({"a":1,"b":-1})", docs), "3,2,1,4");
  EXPECT_EQ(Order(R"({"a":-1,"b":1})", docs), "4,1,2,3");
  EXPECT_EQ(Order(R"({"b":1,"a":1})", docs), "4,1,2,3");
}

TEST(SortTest, DottedPaths) {
  std::vector<std::string_view> docs = {R"({"_id":"1","p":{"q":2}})", R"({"_id":"2","p":{"q":1}})",
                                        R"({"_id":"3","p":{"r":0}})", R"({"_id":"4","p":5})"};
  // Missing (and unreachable) sorts as null, first ascending.
  EXPECT_EQ(Order(R"({"p.q":1})", docs), "3,4,2,1");
  EXPECT_EQ(Order(R"({"p.q":-1})", docs), "1,2,3,4");
}

TEST(SortTest, CrossTypeOrder) {
  std::vector<std::string_view> docs = {
      R"({"_id":"r","a":{"$regexp":"x","$flags":""}})",
      R"({"_id":"dt","a":{"$date":0}})",
      R"({"_id":"t","a":true})",
      R"({"_id":"f","a":false})",
      R"({"_id":"oid","a":{"$type":"oid","$value":"0123456789abcdef01234567"}})",
      R"({"_id":"bin","a":{"$binary":"AA=="}})",
      R"({"_id":"o","a":{"x":1}})",
      R"({"_id":"s","a":"str"})",
      R"({"_id":"i","a":5})",
      R"({"_id":"d","a":2.5})",
      R"({"_id":"n","a":null})",
      R"({"_id":"m"})",
  };
  // null (and missing) < numbers < strings < objects < binary < ObjectId <
  // booleans < dates < regular expressions. Ties fall back to _id ascending.
  EXPECT_EQ(Order(R"({"a":1})", docs), "m,n,d,i,s,o,bin,oid,f,t,dt,r");
  EXPECT_EQ(Order(R"({"a":-1})", docs), "r,dt,t,f,oid,bin,o,s,i,d,m,n");
}

TEST(SortTest, IntsAndDoublesCompareByValue) {
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"1","a":2})", R"({"_id":"2","a":1.5})"), 1);
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"1","a":1})", R"({"_id":"2","a":1.0})"), -1);
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"2","a":1})", R"({"_id":"1","a":1.0})"), 1);
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"1","a":9007199254740993})",
                        R"({"_id":"2","a":9007199254740992.0})"),
            1);
}

TEST(SortTest, MissingSortsAsNull) {
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"1"})", R"({"_id":"2","a":null})"), -1);
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"2"})", R"({"_id":"1","a":null})"), 1);
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"2"})", R"({"_id":"1","a":0})"), -1);
  EXPECT_EQ(CompareDocs(R"({"a":-1})", R"({"_id":"1"})", R"({"_id":"2","a":0})"), 1);
}

TEST(SortTest, ArraysSortByMinAscendingAndMaxDescending) {
  std::vector<std::string_view> docs = {R"({"_id":"A","a":[1,5]})", R"({"_id":"B","a":[3]})",
                                        R"({"_id":"C","a":2})", R"({"_id":"D","a":[0,9]})",
                                        R"({"_id":"E","a":[4,"z"]})"};
  // Keys ascending (smallest element): A 1, B 3, C 2, D 0, E 4.
  EXPECT_EQ(Order(R"({"a":1})", docs), "D,A,C,B,E");
  // Keys descending (largest element): A 5, B 3, C 2, D 9, E "z".
  EXPECT_EQ(Order(R"({"a":-1})", docs), "E,D,A,B,C");

  // Through arrays of documents; an element without the field is null,
  // which is the smallest key ascending and loses descending.
  std::vector<std::string_view> nested = {R"({"_id":"1","a":[{"b":1},{"c":1}]})",
                                          R"({"_id":"2","a":[{"b":0},{"b":3}]})",
                                          R"({"_id":"3","a":{"b":2}})"};
  EXPECT_EQ(Order(R"({"a.b":1})", nested), "1,2,3");
  EXPECT_EQ(Order(R"({"a.b":-1})", nested), "2,3,1");

  absl::StatusOr<Sort> asc = Sort::Compile(J(R"({"a":1})"));
  ASSERT_TRUE(asc.ok());
  EXPECT_EQ(asc->size(), 1u);
  EXPECT_EQ(asc->KeyOf(J(R"({"a":[7,3,5]})"), 0), Value(3));
  EXPECT_EQ(asc->KeyOf(J(R"({"b":1})"), 0), Value());
  absl::StatusOr<Sort> desc = Sort::Compile(J(R"({"a":-1})"));
  ASSERT_TRUE(desc.ok());
  EXPECT_EQ(desc->KeyOf(J(R"({"a":[7,3,5]})"), 0), Value(7));
  EXPECT_EQ(desc->KeyOf(J(R"({"a":"s"})"), 0), Value("s"));
}

TEST(SortTest, IdBreaksTies) {
  std::vector<std::string_view> docs = {R"({"_id":"c","a":1})", R"({"_id":"a","a":1})",
                                        R"({"_id":"b","a":0})", R"({"_id":"d","a":1.0})"};
  EXPECT_EQ(Order(R"({"a":1})", docs), "b,a,c,d");
  EXPECT_EQ(Order(R"({"a":-1})", docs), "a,c,d,b");
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"x","a":1})", R"({"_id":"x","a":1})"), 0);
  // With no keys: by _id.
  Sort by_id;
  EXPECT_TRUE(by_id.empty());
  EXPECT_LT(by_id.Compare(J(R"({"_id":"a","z":9})"), J(R"({"_id":"b","z":1})")), 0);
  EXPECT_GT(by_id.Compare(J(R"({"_id":"b"})"), J(R"({"_id":"a"})")), 0);
  EXPECT_EQ(Order("{}", docs), "a,b,c,d");
  absl::StatusOr<Sort> null_spec = Sort::Compile(Value());
  ASSERT_TRUE(null_spec.ok());
  EXPECT_TRUE(null_spec->empty());
  // An explicit descending _id key.
  EXPECT_EQ(Order(R"({"_id":-1})", docs), "d,c,b,a");
}

TEST(SortTest, InvalidSpecs) {
  EXPECT_TRUE(SortFails(J(R"({"a":2})"), "the value of 'a' must be 1 or -1"));
  EXPECT_TRUE(SortFails(J(R"({"a":0})"), "must be 1 or -1"));
  EXPECT_TRUE(SortFails(J(R"({"a":"asc"})"), "must be 1 or -1"));
  EXPECT_TRUE(SortFails(J(R"({"a":true})"), "must be 1 or -1"));
  EXPECT_TRUE(SortFails(J(R"({"a":{"$meta":"textScore"}})"), "must be 1 or -1"));
  EXPECT_TRUE(SortFails(J(R"({"b":1,"a":-2})"), "'a'"));
  EXPECT_TRUE(SortFails(J(R"({"$a":1})"), "bad field '$a'"));
  EXPECT_TRUE(SortFails(J(R"({"":1})"), "bad field"));
  EXPECT_TRUE(SortFails(Value(5), "must be an object"));
  EXPECT_TRUE(SortFails(J(R"([["a",1]])"), "must be an object"));
}

}  // namespace
}  // namespace ddp::query

namespace ddp::query {
namespace {

TEST(ProjectionTest, PathCollisionsAreErrors) {
  EXPECT_TRUE(ProjectionFails(R"({"a":1,"a.b":1})", "collision"));
  EXPECT_TRUE(ProjectionFails(R"({"a.b":1,"a":1})", "collision"));
  EXPECT_TRUE(ProjectionFails(R"({"a.b":0,"a":0})", "collision"));
}

TEST(SortTest, EmptyArraySortsBelowNullAndMissing) {
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"2","a":[]})", R"({"_id":"1"})"), -1);
  EXPECT_EQ(CompareDocs(R"({"a":1})", R"({"_id":"2","a":[]})", R"({"_id":"1","a":null})"), -1);
  EXPECT_EQ(CompareDocs(R"({"a":-1})", R"({"_id":"2","a":[]})", R"({"_id":"1","a":null})"), 1);
  EXPECT_EQ(Order(R"({"a":1})", {R"({"_id":"x","a":1})", R"({"_id":"y"})", R"({"_id":"z","a":[]})"}),
            "z,y,x");
}

}  // namespace
}  // namespace ddp::query

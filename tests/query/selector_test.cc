// Selector::Compile + Matches against MongoDB's documented query semantics
// (https://www.mongodb.com/docs/manual/reference/operator/query/), which
// minimongo follows.
#include "query/selector.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "protocol/value.h"

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

// Compiles `selector` and reports whether it matches `doc`. A compile error
// fails the assertion whichever outcome was expected.
::testing::AssertionResult Matches(std::string_view selector, std::string_view doc) {
  absl::StatusOr<Selector> s = Selector::Compile(J(selector));
  if (!s.ok()) {
    return ::testing::AssertionFailure() << "compiling " << selector << ": " << s.status();
  }
  if (s->Matches(J(doc))) return ::testing::AssertionSuccess() << selector << " matches " << doc;
  return ::testing::AssertionFailure() << selector << " does not match " << doc;
}

::testing::AssertionResult DoesNotMatch(std::string_view selector, std::string_view doc) {
  absl::StatusOr<Selector> s = Selector::Compile(J(selector));
  if (!s.ok()) {
    return ::testing::AssertionFailure() << "compiling " << selector << ": " << s.status();
  }
  if (!s->Matches(J(doc))) {
    return ::testing::AssertionSuccess() << selector << " does not match " << doc;
  }
  return ::testing::AssertionFailure() << selector << " unexpectedly matches " << doc;
}

// Compile must fail with InvalidArgument and a message containing `part`.
::testing::AssertionResult CompileValueFails(const Value& selector, std::string_view part) {
  absl::StatusOr<Selector> s = Selector::Compile(selector);
  if (s.ok()) {
    return ::testing::AssertionFailure() << ToJson(selector) << " compiled, expected an error";
  }
  if (s.status().code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << ToJson(selector) << ": wrong code: " << s.status();
  }
  if (std::string(s.status().message()).find(part) == std::string::npos) {
    return ::testing::AssertionFailure() << ToJson(selector) << ": message '"
                                         << s.status().message() << "' lacks '" << part << "'";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult CompileFails(std::string_view selector, std::string_view part) {
  return CompileValueFails(J(selector), part);
}

// ------------------------------------------------------------------ basics

TEST(SelectorTest, EmptySelectorMatchesEverything) {
  absl::StatusOr<Selector> s = Selector::Compile(J("{}"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->matches_all());
  EXPECT_TRUE(s->Matches(J("{}")));
  EXPECT_TRUE(s->Matches(J(R"({"_id":"x","a":[1,{"b":2}]})")));
  EXPECT_FALSE(s->id().has_value());
  EXPECT_TRUE(s->equalities().empty());

  Selector default_selector;
  EXPECT_TRUE(default_selector.matches_all());
  EXPECT_TRUE(default_selector.Matches(J(R"({"a":1})")));

  absl::StatusOr<Selector> null_selector = Selector::Compile(Value());
  ASSERT_TRUE(null_selector.ok()) << null_selector.status();
  EXPECT_TRUE(null_selector->matches_all());
  EXPECT_TRUE(null_selector->Matches(J(R"({"a":1})")));

  absl::StatusOr<Selector> non_empty = Selector::Compile(J(R"({"a":1})"));
  ASSERT_TRUE(non_empty.ok());
  EXPECT_FALSE(non_empty->matches_all());
}

TEST(SelectorTest, StringSelectorMeansId) {
  absl::StatusOr<Selector> s = Selector::Compile(Value("abc"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->matches_all());
  EXPECT_TRUE(s->Matches(J(R"({"_id":"abc","a":1})")));
  EXPECT_FALSE(s->Matches(J(R"({"_id":"abd"})")));
  EXPECT_FALSE(s->Matches(J(R"({"a":"abc"})")));
  ASSERT_TRUE(s->id().has_value());
  EXPECT_EQ(*s->id(), "abc");
  ASSERT_EQ(s->equalities().size(), 1u);
  EXPECT_EQ(s->equalities()[0].first, "_id");
  EXPECT_EQ(s->equalities()[0].second, Value("abc"));
}

TEST(SelectorTest, NonObjectSelectorIsAnError) {
  EXPECT_TRUE(CompileValueFails(Value(5), "a selector must be an object"));
  EXPECT_TRUE(CompileValueFails(J("[1]"), "a selector must be an object"));
}

// --------------------------------------------------------------- equality

TEST(SelectorTest, ScalarEquality) {
  EXPECT_TRUE(Matches(R"({"a":1})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":1})", R"({"a":1.0})"));
  EXPECT_TRUE(Matches(R"({"a":1.0})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":1})", R"({"a":2})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":1})", R"({"a":"1"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":1})", R"({"a":true})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":1})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":"x"})", R"({"a":"x"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":"x"})", R"({"a":"X"})"));
  EXPECT_TRUE(Matches(R"({"a":false})", R"({"a":false})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":false})", R"({"a":0})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":false})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$date":5}})", R"({"a":{"$date":5}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$date":5}})", R"({"a":5})"));
  // Several fields: all must match.
  EXPECT_TRUE(Matches(R"({"a":1,"b":"x"})", R"({"a":1,"b":"x","c":3})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":1,"b":"x"})", R"({"a":1,"b":"y"})"));
}

TEST(SelectorTest, EmbeddedDocumentEqualityIsExactAndOrdered) {
  EXPECT_TRUE(Matches(R"({"a":{"b":1,"c":2}})", R"({"a":{"b":1,"c":2}})"));
  EXPECT_TRUE(Matches(R"({"a":{"b":1,"c":2}})", R"({"a":{"b":1.0,"c":2}})"));
  // Field order matters, and extra fields prevent a match.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"b":1,"c":2}})", R"({"a":{"c":2,"b":1}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"b":1,"c":2}})", R"({"a":{"b":1,"c":2,"d":3}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"b":1}})", R"({"a":{"b":1,"c":2}})"));
  EXPECT_TRUE(Matches(R"({"a":{}})", R"({"a":{}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{}})", R"({"a":{"b":1}})"));
  // An element of an array may equal the embedded document.
  EXPECT_TRUE(Matches(R"({"a":{"b":1}})", R"({"a":[{"b":2},{"b":1}]})"));
}

TEST(SelectorTest, EqualityAgainstArrays) {
  // A scalar matches any element.
  EXPECT_TRUE(Matches(R"({"a":1})", R"({"a":[3,1,2]})"));
  EXPECT_TRUE(Matches(R"({"a":2})", R"({"a":[1,2.0]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":4})", R"({"a":[1,2,3]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":1})", R"({"a":[]})"));
  // Only one level of arrays is traversed.
  EXPECT_TRUE(DoesNotMatch(R"({"a":1})", R"({"a":[[1]]})"));
  // An array matches the whole array (exact order) or an element that is an
  // array.
  EXPECT_TRUE(Matches(R"({"a":[1,2]})", R"({"a":[1,2]})"));
  EXPECT_TRUE(Matches(R"({"a":[1,2]})", R"({"a":[1.0,2]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":[1,2]})", R"({"a":[2,1]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":[1,2]})", R"({"a":[1,2,3]})"));
  EXPECT_TRUE(Matches(R"({"a":[1,2]})", R"({"a":[[1,2],3]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":[1]})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":[]})", R"({"a":[]})"));
  EXPECT_TRUE(Matches(R"({"a":[]})", R"({"a":[1,[]]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":[]})", R"({"a":[1]})"));
}

TEST(SelectorTest, NullMatchesNullAndMissing) {
  EXPECT_TRUE(Matches(R"({"a":null})", R"({"a":null})"));
  EXPECT_TRUE(Matches(R"({"a":null})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":null})", R"({"b":1})"));
  EXPECT_TRUE(Matches(R"({"a":null})", R"({"a":[1,null]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":null})", R"({"a":0})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":null})", R"({"a":false})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":null})", R"({"a":[1,2]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":null})", R"({"a":[]})"));
  // Dotted: missing on the way counts as null.
  EXPECT_TRUE(Matches(R"({"a.b":null})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a.b":null})", R"({"a":{}})"));
  EXPECT_TRUE(Matches(R"({"a.b":null})", R"({"a":5})"));
  EXPECT_TRUE(Matches(R"({"a.b":null})", R"({"a":{"b":null}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":null})", R"({"a":{"b":1}})"));
  // One array element without the field is enough.
  EXPECT_TRUE(Matches(R"({"a.b":null})", R"({"a":[{"b":1},{"c":2}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":null})", R"({"a":[{"b":1},{"b":2}]})"));
}

TEST(SelectorTest, EjsonRegexInEquality) {
  EXPECT_TRUE(Matches(R"({"a":{"$regexp":"^a","$flags":""}})", R"({"a":"abc"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regexp":"^a","$flags":""}})", R"({"a":"Abc"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$regexp":"^a","$flags":"i"}})", R"({"a":"Abc"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regexp":"^a","$flags":"i"}})", R"({"a":"bA"})"));
  // Matches any element of an array; never non-strings or missing fields.
  EXPECT_TRUE(Matches(R"({"a":{"$regexp":"^a","$flags":""}})", R"({"a":["x","ab"]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regexp":"1","$flags":""}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regexp":"","$flags":""}})", R"({})"));
  // A stored regular expression equals the same regular expression.
  EXPECT_TRUE(
      Matches(R"({"a":{"$regexp":"^a","$flags":"i"}})", R"({"a":{"$regexp":"^a","$flags":"i"}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regexp":"^a","$flags":"i"}})",
                           R"({"a":{"$regexp":"^a","$flags":""}})"));
}

// ----------------------------------------------------------- dotted paths

TEST(SelectorTest, DottedPathsIntoDocuments) {
  EXPECT_TRUE(Matches(R"({"a.b.c":1})", R"({"a":{"b":{"c":1}}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b.c":1})", R"({"a":{"b":{"c":2}}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":1})", R"({"a":5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":1})", R"({"a":"b"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":1})", R"({})"));
}

TEST(SelectorTest, DottedPathsThroughArraysOfDocuments) {
  EXPECT_TRUE(Matches(R"({"a.b":1})", R"({"a":[{"b":1},{"b":2}]})"));
  EXPECT_TRUE(Matches(R"({"a.b":2})", R"({"a":[{"b":1},{"b":2}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":3})", R"({"a":[{"b":1},{"b":2}]})"));
  // The leaf may be an array too.
  EXPECT_TRUE(Matches(R"({"a.b":2})", R"({"a":[{"b":[1,2]}]})"));
  EXPECT_TRUE(Matches(R"({"a.b":[1,2]})", R"({"a":[{"b":[1,2]}]})"));
  // Nested arrays of documents.
  EXPECT_TRUE(Matches(R"({"a.b.c":1})", R"({"a":[{"b":[{"c":0},{"c":1}]}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b.c":5})", R"({"a":[{"b":[{"c":0},{"c":1}]}]})"));
  // Scalars inside the array are skipped.
  EXPECT_TRUE(Matches(R"({"a.b":1})", R"({"a":[5,"x",{"b":1}]})"));
}

TEST(SelectorTest, NumericPathSteps) {
  EXPECT_TRUE(Matches(R"({"a.1":2})", R"({"a":[1,2]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.0":2})", R"({"a":[1,2]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.2":2})", R"({"a":[1,2]})"));
  EXPECT_TRUE(Matches(R"({"a.0.b":1})", R"({"a":[{"b":1},{"b":2}]})"));
  EXPECT_TRUE(Matches(R"({"a.1.b":2})", R"({"a":[{"b":1},{"b":2}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.0.b":2})", R"({"a":[{"b":1},{"b":2}]})"));
  // A numeric step on an object is a field name.
  EXPECT_TRUE(Matches(R"({"a.0":5})", R"({"a":{"0":5}})"));
  EXPECT_TRUE(Matches(R"({"a.0.b":5})", R"({"a":{"0":{"b":5}}})"));
  // Both readings: the index and the field of the elements.
  EXPECT_TRUE(Matches(R"({"a.0":7})", R"({"a":[{"0":7}]})"));
  // Operators after an index.
  EXPECT_TRUE(Matches(R"({"a.1":{"$gt":1}})", R"({"a":[1,2]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.0":{"$gt":1}})", R"({"a":[1,2]})"));
}

// ------------------------------------------------------------- comparison

TEST(SelectorTest, EqAndNe) {
  EXPECT_TRUE(Matches(R"({"a":{"$eq":1}})", R"({"a":1.0})"));
  EXPECT_TRUE(Matches(R"({"a":{"$eq":1}})", R"({"a":[0,1]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$eq":1}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$eq":null}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$eq":[1,2]}})", R"({"a":[1,2]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$eq":[1,2]}})", R"({"a":[[1,2],3]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$eq":[1,2]}})", R"({"a":[2,1]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$eq":{"b":1}}})", R"({"a":{"b":1}})"));
  // $eq with a regex compares regexes, it does not match a pattern (MongoDB
  // documents this; minimongo differs): {a: /^x/} is the pattern form.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$eq":{"$regexp":"^x","$flags":""}}})", R"({"a":"xy"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$eq":{"$regexp":"^x","$flags":""}}})",
                      R"({"a":{"$regexp":"^x","$flags":""}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$regexp":"^x","$flags":""}})", R"({"a":"xy"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$ne":{"$regexp":"^x","$flags":""}}})", R"({"a":"xy"})"));

  EXPECT_TRUE(Matches(R"({"a":{"$ne":1}})", R"({"a":2})"));
  EXPECT_TRUE(Matches(R"({"a":{"$ne":1}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$ne":1}})", R"({"a":"1"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$ne":1}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$ne":1}})", R"({"a":1.0})"));
  // No element may equal the value.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$ne":1}})", R"({"a":[1,2]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$ne":1}})", R"({"a":[2,3]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$ne":[1,2]}})", R"({"a":[1,2]})"));
  // $ne null: the field exists and is not null.
  EXPECT_TRUE(Matches(R"({"a":{"$ne":null}})", R"({"a":0})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$ne":null}})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$ne":null}})", R"({"a":null})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":{"$ne":2}})", R"({"a":[{"b":1},{"b":2}]})"));
}

TEST(SelectorTest, RangeOperatorsOnNumbers) {
  EXPECT_TRUE(Matches(R"({"a":{"$gt":1}})", R"({"a":2})"));
  EXPECT_TRUE(Matches(R"({"a":{"$gt":1}})", R"({"a":1.5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1}})", R"({"a":1.0})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1}})", R"({"a":0})"));
  EXPECT_TRUE(Matches(R"({"a":{"$gte":1}})", R"({"a":1.0})"));
  EXPECT_TRUE(Matches(R"({"a":{"$gte":1.0}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gte":1}})", R"({"a":0.999})"));
  EXPECT_TRUE(Matches(R"({"a":{"$lt":1}})", R"({"a":0.5})"));
  EXPECT_TRUE(Matches(R"({"a":{"$lt":1}})", R"({"a":-3})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$lt":1}})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":{"$lte":1}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$lte":1}})", R"({"a":1.01})"));
  // Large integers compare exactly.
  EXPECT_TRUE(Matches(R"({"a":{"$gt":9007199254740992}})", R"({"a":9007199254740993})"));
  // Missing fields never satisfy a numeric range.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$lt":1}})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1}})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$lt":1}})", R"({"a":null})"));
  // Any element of an array.
  EXPECT_TRUE(Matches(R"({"a":{"$gt":1}})", R"({"a":[0,2]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":5}})", R"({"a":[0,2]})"));
  // Two conditions may be satisfied by different elements.
  EXPECT_TRUE(Matches(R"({"a":{"$gt":1,"$lt":3}})", R"({"a":2})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1,"$lt":3}})", R"({"a":4})"));
  EXPECT_TRUE(Matches(R"({"a":{"$gt":1,"$lt":3}})", R"({"a":[0,5]})"));
  // Through arrays of documents.
  EXPECT_TRUE(Matches(R"({"a.b":{"$gte":2}})", R"({"a":[{"b":1},{"b":2}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":{"$gte":3}})", R"({"a":[{"b":1},{"b":2}]})"));
}

TEST(SelectorTest, RangeOperatorsStayWithinTheTypeBracket) {
  // A string is never greater or smaller than a number, and vice versa.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1}})", R"({"a":"2"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$lt":1}})", R"({"a":"0"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":"a"}})", R"({"a":5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$lt":"z"}})", R"({"a":5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1}})", R"({"a":true})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1}})", R"({"a":{"$date":5}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":1}})", R"({"a":{"b":2}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":0}})", R"({"a":["1"]})"));
  // Strings compare bytewise.
  EXPECT_TRUE(Matches(R"({"a":{"$gt":"a"}})", R"({"a":"b"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$gt":"a"}})", R"({"a":"aa"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":"a"}})", R"({"a":"A"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$lte":"abc"}})", R"({"a":"abc"})"));
  // Dates.
  EXPECT_TRUE(Matches(R"({"a":{"$gt":{"$date":1000}}})", R"({"a":{"$date":2000}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":{"$date":1000}}})", R"({"a":{"$date":1000}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":{"$date":1000}}})", R"({"a":2000})"));
  // Booleans.
  EXPECT_TRUE(Matches(R"({"a":{"$gt":false}})", R"({"a":true})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":false}})", R"({"a":1})"));
  // Null: $gte/$lte null match null and missing.
  EXPECT_TRUE(Matches(R"({"a":{"$gte":null}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$lte":null}})", R"({"a":null})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":null}})", R"({"a":null})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gte":null}})", R"({"a":0})"));
}

TEST(SelectorTest, InAndNin) {
  EXPECT_TRUE(Matches(R"({"a":{"$in":[1,"x"]}})", R"({"a":"x"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[1,"x"]}})", R"({"a":1.0})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$in":[1,"x"]}})", R"({"a":2})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$in":[1,"x"]}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[1,"x"]}})", R"({"a":[3,1]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$in":[1,"x"]}})", R"({"a":[3,4]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[[1,2]]}})", R"({"a":[1,2]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[{"b":1}]}})", R"({"a":{"b":1}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$in":[]}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$in":[]}})", R"({})"));
  // null in $in matches missing and null.
  EXPECT_TRUE(Matches(R"({"a":{"$in":[null]}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[null,5]}})", R"({"a":null})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[null,5]}})", R"({"a":5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$in":[null]}})", R"({"a":0})"));
  // Regular expressions in $in.
  EXPECT_TRUE(Matches(R"({"a":{"$in":[{"$regexp":"^x","$flags":""},5]}})", R"({"a":"xyz"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[{"$regexp":"^x","$flags":"i"},5]}})", R"({"a":"XYZ"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[{"$regexp":"^x","$flags":""},5]}})", R"({"a":5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$in":[{"$regexp":"^x","$flags":""},5]}})", R"({"a":"axy"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$in":[{"$regexp":"^x","$flags":""}]}})", R"({"a":["b","xb"]})"));
  // Dotted paths.
  EXPECT_TRUE(Matches(R"({"a.b":{"$in":[2,3]}})", R"({"a":[{"b":1},{"b":2}]})"));

  EXPECT_TRUE(Matches(R"({"a":{"$nin":[1,2]}})", R"({"a":3})"));
  EXPECT_TRUE(Matches(R"({"a":{"$nin":[1,2]}})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$nin":[1,2]}})", R"({"a":2.0})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$nin":[1,2]}})", R"({"a":[3,1]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$nin":[1,2]}})", R"({"a":[3,4]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$nin":[]}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$nin":[null]}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$nin":[null]}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$nin":[{"$regexp":"^x","$flags":""}]}})", R"({"a":"xy"})"));
}

// ---------------------------------------------------------------- logical

TEST(SelectorTest, AndOrNor) {
  EXPECT_TRUE(Matches(R"({"$and":[{"a":1},{"b":2}]})", R"({"a":1,"b":2})"));
  EXPECT_TRUE(DoesNotMatch(R"({"$and":[{"a":1},{"b":2}]})", R"({"a":1,"b":3})"));
  EXPECT_TRUE(Matches(R"({"$and":[{"a":{"$gt":1}},{"a":{"$lt":5}}]})", R"({"a":3})"));
  EXPECT_TRUE(DoesNotMatch(R"({"$and":[{"a":{"$gt":1}},{"a":{"$lt":5}}]})", R"({"a":7})"));

  EXPECT_TRUE(Matches(R"({"$or":[{"a":1},{"b":2}]})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"$or":[{"a":1},{"b":2}]})", R"({"b":2})"));
  EXPECT_TRUE(DoesNotMatch(R"({"$or":[{"a":1},{"b":2}]})", R"({"a":2,"b":1})"));
  EXPECT_TRUE(Matches(R"({"$or":[{}]})", R"({"a":2})"));
  // Combined with fields: both apply.
  EXPECT_TRUE(Matches(R"({"c":3,"$or":[{"a":1},{"b":2}]})", R"({"a":1,"c":3})"));
  EXPECT_TRUE(DoesNotMatch(R"({"c":3,"$or":[{"a":1},{"b":2}]})", R"({"a":1,"c":4})"));

  EXPECT_TRUE(Matches(R"({"$nor":[{"a":1},{"b":2}]})", R"({"a":2,"b":1})"));
  EXPECT_TRUE(Matches(R"({"$nor":[{"a":1},{"b":2}]})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"$nor":[{"a":1},{"b":2}]})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"$nor":[{"a":1},{"b":2}]})", R"({"b":2})"));

  // Nesting.
  const char* nested = R"({"$and":[{"$or":[{"a":1},{"a":2}]},{"$nor":[{"b":3}]}]})";
  EXPECT_TRUE(Matches(nested, R"({"a":2,"b":4})"));
  EXPECT_TRUE(DoesNotMatch(nested, R"({"a":2,"b":3})"));
  EXPECT_TRUE(DoesNotMatch(nested, R"({"a":5})"));
}

TEST(SelectorTest, Not) {
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$gt":5}}})", R"({"a":3})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$not":{"$gt":5}}})", R"({"a":6})"));
  // Documents without the field, or with a value of another type, match.
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$gt":5}}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$gt":5}}})", R"({"a":"x"})"));
  // No element may satisfy the inner condition.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$not":{"$gt":5}}})", R"({"a":[1,6]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$gt":5}}})", R"({"a":[1,2]})"));
  // Several operators: not (all of them).
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$gt":1,"$lt":5}}})", R"({"a":7})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$not":{"$gt":1,"$lt":5}}})", R"({"a":3})"));
  // With a regular expression.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$not":{"$regexp":"^a","$flags":""}}})", R"({"a":"abc"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$regexp":"^a","$flags":""}}})", R"({"a":"xyz"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$regexp":"^a","$flags":""}}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$regexp":"^a","$flags":""}}})", R"({"a":5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$not":{"$regexp":"^a","$flags":"i"}}})", R"({"a":"ABC"})"));
  // With $regex inside.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$not":{"$regex":"^a"}}})", R"({"a":"abc"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$regex":"^a"}}})", R"({"a":"bcd"})"));
  // With $in and $exists.
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$in":[1,2]}}})", R"({"a":3})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$not":{"$in":[1,2]}}})", R"({"a":2})"));
  EXPECT_TRUE(Matches(R"({"a":{"$not":{"$exists":true}}})", R"({})"));
}

// --------------------------------------------------------------- elements

TEST(SelectorTest, Exists) {
  EXPECT_TRUE(Matches(R"({"a":{"$exists":true}})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":{"$exists":true}})", R"({"a":null})"));
  EXPECT_TRUE(Matches(R"({"a":{"$exists":true}})", R"({"a":[]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$exists":true}})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$exists":true}})", R"({"b":1})"));
  EXPECT_TRUE(Matches(R"({"a":{"$exists":false}})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$exists":false}})", R"({"a":null})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$exists":false}})", R"({"a":0})"));
  // Non-boolean operands: 0 is false, other numbers true.
  EXPECT_TRUE(Matches(R"({"a":{"$exists":0}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$exists":1}})", R"({"a":false})"));
  // Dotted paths.
  EXPECT_TRUE(Matches(R"({"a.b":{"$exists":true}})", R"({"a":{"b":1}})"));
  EXPECT_TRUE(Matches(R"({"a.b":{"$exists":true}})", R"({"a":[{"c":1},{"b":1}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":{"$exists":true}})", R"({"a":[{"c":1}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":{"$exists":true}})", R"({"a":5})"));
  EXPECT_TRUE(Matches(R"({"a.b":{"$exists":false}})", R"({"a":5})"));
  EXPECT_TRUE(Matches(R"({"a.1":{"$exists":true}})", R"({"a":[0,1]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.2":{"$exists":true}})", R"({"a":[0,1]})"));
}

TEST(SelectorTest, TypeByName) {
  EXPECT_TRUE(Matches(R"({"a":{"$type":"double"}})", R"({"a":1.5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"double"}})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"int"}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"int"}})", R"({"a":5000000000})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"long"}})", R"({"a":5000000000})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"long"}})", R"({"a":5})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"string"}})", R"({"a":"x"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"string"}})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"object"}})", R"({"a":{"b":1}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"bool"}})", R"({"a":false})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"null"}})", R"({"a":null})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"null"}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"date"}})", R"({"a":{"$date":0}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"regex"}})", R"({"a":{"$regexp":"x","$flags":""}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"binData"}})", R"({"a":{"$binary":"AA=="}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"objectId"}})",
                      R"({"a":{"$type":"oid","$value":"0123456789abcdef01234567"}})"));
  // Missing fields have no type.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"string"}})", R"({})"));
}

TEST(SelectorTest, TypeByCodeAndAliases) {
  EXPECT_TRUE(Matches(R"({"a":{"$type":1}})", R"({"a":2.5})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":2}})", R"({"a":"x"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":2}})", R"({"a":2})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":3}})", R"({"a":{}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":8}})", R"({"a":true})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":9}})", R"({"a":{"$date":1}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":10}})", R"({"a":null})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":16}})", R"({"a":7})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":18}})", R"({"a":8000000000})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":2.0}})", R"({"a":"x"})"));
  // "number" covers ints, longs and doubles.
  EXPECT_TRUE(Matches(R"({"a":{"$type":"number"}})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"number"}})", R"({"a":1.5})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"number"}})", R"({"a":8000000000})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"number"}})", R"({"a":"1"})"));
  // A list of types matches any of them.
  EXPECT_TRUE(Matches(R"({"a":{"$type":["string","bool"]}})", R"({"a":true})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":["string",16]}})", R"({"a":3})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":["string","bool"]}})", R"({"a":3})"));
}

TEST(SelectorTest, TypeWithArrays) {
  // "array" matches an array field, even an empty one.
  EXPECT_TRUE(Matches(R"({"a":{"$type":"array"}})", R"({"a":[1,2]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"array"}})", R"({"a":[]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":4}})", R"({"a":[]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"array"}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"array"}})", R"({})"));
  // Other types match elements of an array field.
  EXPECT_TRUE(Matches(R"({"a":{"$type":"string"}})", R"({"a":[1,"x"]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$type":"number"}})", R"({"a":["x",2]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"bool"}})", R"({"a":[1,"x"]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$type":"string"}})", R"({"a":[]})"));
  // Through arrays of documents.
  EXPECT_TRUE(Matches(R"({"a.b":{"$type":"string"}})", R"({"a":[{"b":1},{"b":"x"}]})"));
}

TEST(SelectorTest, RegexOperator) {
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"b"}})", R"({"a":"abc"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"^a.c$"}})", R"({"a":"abc"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":"^b"}})", R"({"a":"abc"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":"^A"}})", R"({"a":"abc"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":"1"}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":""}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"^x"}})", R"({"a":["y","xz"]})"));
  EXPECT_TRUE(Matches(R"({"a.b":{"$regex":"^x"}})", R"({"a":[{"b":"y"},{"b":"xz"}]})"));
  // Options: i, m, s.
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"^A","$options":"i"}})", R"({"a":"abc"})"));
  EXPECT_TRUE(Matches(R"({"a":{"$options":"i","$regex":"^A"}})", R"({"a":"abc"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":"^b"}})", "{\"a\":\"a\\nb\"}"));
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"^b","$options":"m"}})", "{\"a\":\"a\\nb\"}"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":"a.b"}})", "{\"a\":\"a\\nb\"}"));
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"a.b","$options":"s"}})", "{\"a\":\"a\\nb\"}"));
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"^B$","$options":"im"}})", "{\"a\":\"a\\nb\"}"));
  // The regular expression may be an EJSON regex, with its flags.
  EXPECT_TRUE(Matches(R"({"a":{"$regex":{"$regexp":"^A","$flags":"i"}}})", R"({"a":"abc"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":{"$regexp":"^A","$flags":""}}})", R"({"a":"abc"})"));
  // Combined with other operators.
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"^a","$ne":"ab"}})", R"({"a":"ac"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":"^a","$ne":"ab"}})", R"({"a":"ab"})"));
  // Character classes, alternation, quantifiers (RE2 syntax shared with JS).
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"^(foo|bar)\\d{2}$"}})", R"({"a":"bar42"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$regex":"^(foo|bar)\\d{2}$"}})", R"({"a":"bar4"})"));
}

TEST(SelectorTest, Mod) {
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4,0]}})", R"({"a":8})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$mod":[4,0]}})", R"({"a":7})"));
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4,3]}})", R"({"a":7})"));
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4,0]}})", R"({"a":-8})"));
  // The remainder has the sign of the dividend (truncated division).
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4,-1]}})", R"({"a":-5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$mod":[4,3]}})", R"({"a":-5})"));
  // Doubles in the document are truncated toward zero.
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4,1]}})", R"({"a":5.5})"));
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4,-1]}})", R"({"a":-5.9})"));
  // Non-integer divisor and remainder are truncated too.
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4.5,0]}})", R"({"a":8})"));
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4,1.9]}})", R"({"a":5})"));
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[-1,0]}})", R"({"a":7})"));
  // Non-numbers and missing fields never match; arrays match by element.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$mod":[4,0]}})", R"({"a":"8"})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$mod":[4,0]}})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$mod":[4,0]}})", R"({"a":null})"));
  EXPECT_TRUE(Matches(R"({"a":{"$mod":[4,0]}})", R"({"a":[1,12]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$mod":[4,0]}})", R"({"a":[1,13]})"));
}

TEST(SelectorTest, Size) {
  EXPECT_TRUE(Matches(R"({"a":{"$size":2}})", R"({"a":[1,2]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$size":2.0}})", R"({"a":[1,[2,3]]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$size":2}})", R"({"a":[1]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$size":2}})", R"({"a":[1,2,3]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$size":0}})", R"({"a":[]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$size":0}})", R"({})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$size":1}})", R"({"a":5})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$size":1}})", R"({"a":"x"})"));
  // Nested arrays are not traversed: [[1,2]] has size 1.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$size":2}})", R"({"a":[[1,2]]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$size":1}})", R"({"a":[[1,2]]})"));
  // Through arrays of documents.
  EXPECT_TRUE(Matches(R"({"a.b":{"$size":2}})", R"({"a":[{"b":[1]},{"b":[1,2]}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a.b":{"$size":3}})", R"({"a":[{"b":[1]},{"b":[1,2]}]})"));
}

TEST(SelectorTest, All) {
  EXPECT_TRUE(Matches(R"({"a":{"$all":[1,2]}})", R"({"a":[2,3,1]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$all":[1,2]}})", R"({"a":[1,3]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$all":[1,2]}})", R"({})"));
  EXPECT_TRUE(Matches(R"({"a":{"$all":[1]}})", R"({"a":1})"));
  EXPECT_TRUE(Matches(R"({"a":{"$all":[1,1.0]}})", R"({"a":[1]})"));
  // An array in $all matches the whole array or an element.
  EXPECT_TRUE(Matches(R"({"a":{"$all":[[1,2]]}})", R"({"a":[1,2]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$all":[[1,2]]}})", R"({"a":[[1,2],3]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$all":[[1,2]]}})", R"({"a":[2,1]})"));
  // Empty $all matches nothing.
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$all":[]}})", R"({"a":[]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$all":[]}})", R"({"a":[1]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$all":[]}})", R"({})"));
  // Regular expressions in $all.
  EXPECT_TRUE(
      Matches(R"({"a":{"$all":[{"$regexp":"^x","$flags":""},"b"]}})", R"({"a":["b","xy"]})"));
  EXPECT_TRUE(
      DoesNotMatch(R"({"a":{"$all":[{"$regexp":"^x","$flags":""},"b"]}})", R"({"a":["b","yx"]})"));
  // Through arrays of documents.
  EXPECT_TRUE(Matches(R"({"a.b":{"$all":[1,2]}})", R"({"a":[{"b":1},{"b":2}]})"));
}

TEST(SelectorTest, AllWithElemMatch) {
  const char* sel = R"({"qty":{"$all":[{"$elemMatch":{"size":"M","num":{"$gt":50}}},)"
                    R"({"$elemMatch":{"num":100,"color":"green"}}]}})";
  EXPECT_TRUE(Matches(sel, R"({"qty":[{"size":"S","num":10,"color":"blue"},)"
                           R"({"size":"M","num":100,"color":"green"}]})"));
  EXPECT_TRUE(Matches(sel, R"({"qty":[{"size":"M","num":60,"color":"blue"},)"
                           R"({"size":"L","num":100,"color":"green"}]})"));
  EXPECT_TRUE(DoesNotMatch(sel, R"({"qty":[{"size":"M","num":60,"color":"blue"},)"
                                R"({"size":"L","num":100,"color":"red"}]})"));
  EXPECT_TRUE(DoesNotMatch(sel, R"({"qty":[{"size":"M","num":40,"color":"green"},)"
                                R"({"size":"L","num":100,"color":"green"}]})"));
}

TEST(SelectorTest, ElemMatchValueForm) {
  const char* sel = R"({"a":{"$elemMatch":{"$gte":80,"$lt":85}}})";
  EXPECT_TRUE(Matches(sel, R"({"a":[82,90]})"));
  EXPECT_TRUE(Matches(sel, R"({"a":[80]})"));
  // One element must satisfy every condition.
  EXPECT_TRUE(DoesNotMatch(sel, R"({"a":[79,86]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$gte":80,"$lt":85}})", R"({"a":[79,86]})"));
  // Only arrays.
  EXPECT_TRUE(DoesNotMatch(sel, R"({"a":82})"));
  EXPECT_TRUE(DoesNotMatch(sel, R"({})"));
  EXPECT_TRUE(DoesNotMatch(sel, R"({"a":[]})"));
  // Other operators.
  EXPECT_TRUE(Matches(R"({"a":{"$elemMatch":{"$in":[3,4]}}})", R"({"a":[1,4]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$elemMatch":{"$regex":"^x"}}})", R"({"a":["a","xb"]})"));
  EXPECT_TRUE(Matches(R"({"a":{"$elemMatch":{"$ne":1}}})", R"({"a":[1,2]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$elemMatch":{"$ne":1}}})", R"({"a":[1,1]})"));
}

TEST(SelectorTest, ElemMatchDocumentForm) {
  const char* sel = R"({"results":{"$elemMatch":{"product":"xyz","score":{"$gte":8}}}})";
  EXPECT_TRUE(Matches(sel, R"({"results":[{"product":"abc","score":10},)"
                           R"({"product":"xyz","score":9}]})"));
  EXPECT_TRUE(DoesNotMatch(sel, R"({"results":[{"product":"abc","score":10},)"
                                R"({"product":"xyz","score":5}]})"));
  // Without $elemMatch the two conditions may hold on different elements.
  EXPECT_TRUE(Matches(R"({"results.product":"xyz","results.score":{"$gte":8}})",
                      R"({"results":[{"product":"abc","score":10},{"product":"xyz","score":5}]})"));
  EXPECT_TRUE(DoesNotMatch(sel, R"({"results":{"product":"xyz","score":9}})"));
  EXPECT_TRUE(DoesNotMatch(sel, R"({"results":[1,"xyz"]})"));
  // Dotted fields inside the elements and logical operators.
  EXPECT_TRUE(Matches(R"({"a":{"$elemMatch":{"b.c":1}}})", R"({"a":[{"b":{"c":1}}]})"));
  EXPECT_TRUE(
      Matches(R"({"a":{"$elemMatch":{"$or":[{"b":1},{"c":2}]}}})", R"({"a":[{"b":0},{"c":2}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$elemMatch":{"$or":[{"b":1},{"c":2}]}}})",
                           R"({"a":[{"b":0},{"c":3}]})"));
  EXPECT_TRUE(
      Matches(R"({"a":{"$elemMatch":{"$and":[{"b":1},{"c":2}]}}})", R"({"a":[{"b":1,"c":2}]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$elemMatch":{"$and":[{"b":1},{"c":2}]}}})",
                           R"({"a":[{"b":1},{"c":2}]})"));
  // Through a dotted path to the array.
  EXPECT_TRUE(Matches(R"({"x.a":{"$elemMatch":{"b":1}}})", R"({"x":{"a":[{"b":1}]}})"));
}

TEST(SelectorTest, CommentIsIgnored) {
  EXPECT_TRUE(Matches(R"({"a":1,"$comment":"why"})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":1,"$comment":"why"})", R"({"a":2})"));
  EXPECT_TRUE(Matches(R"({"$comment":"only"})", R"({"a":2})"));
}

// ---------------------------------------------------------------- errors

TEST(SelectorTest, UnknownOperatorsAreNamed) {
  EXPECT_TRUE(CompileFails(R"({"a":{"$foo":1}})", "unknown operator: $foo"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$gt":1,"$foo":1}})", "$foo"));
  EXPECT_TRUE(CompileFails(R"({"$foo":[{"a":1}]})", "unknown top level operator: $foo"));
  EXPECT_TRUE(CompileFails(R"({"$where":"this.a == 1"})", "unsupported operator: $where"));
  EXPECT_TRUE(CompileFails(R"({"$expr":{"$eq":["$a",1]}})", "unsupported operator: $expr"));
  EXPECT_TRUE(CompileFails(R"({"$text":{"$search":"x"}})", "unsupported operator: $text"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$near":[1,2]}})", "unsupported operator: $near"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$elemMatch":{"$foo":1}}})", "$foo"));
  EXPECT_TRUE(CompileFails(R"({"$or":[{"a":{"$foo":1}}]})", "$foo"));
}

TEST(SelectorTest, OperatorsAndFieldsCannotBeMixed) {
  absl::StatusOr<Selector> s = Selector::Compile(J(R"({"a":{"$gt":1,"b":2}})"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CompileFails(R"({"a":{"$gt":1,"b":2}})", "cannot be mixed"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$gt":1,"b":2}})", "b"));
}

TEST(SelectorTest, OperandErrors) {
  EXPECT_TRUE(CompileFails(R"({"a":{"$in":5}})", "$in needs an array"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$in":{"b":1}}})", "$in needs an array"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$nin":"x"}})", "$nin needs an array"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$in":[{"$gt":1}]}})", "$in"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$all":5}})", "$all needs an array"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$all":[{"$gt":1}]}})", "$all"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$size":-1}})", "$size"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$size":1.5}})", "$size"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$size":"2"}})", "$size"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$mod":[0,1]}})", "$mod divisor cannot be 0"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$mod":[0.5,0]}})", "$mod divisor cannot be 0"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$mod":[4]}})", "$mod"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$mod":[4,1,2]}})", "$mod"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$mod":[]}})", "$mod"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$mod":4}})", "$mod"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$mod":["4",1]}})", "$mod"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$elemMatch":5}})", "$elemMatch needs an object"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$not":5}})", "$not"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$not":{"b":1}}})", "$not"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$type":"foo"}})", "unknown $type name 'foo'"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$type":99}})", "unknown $type code 99"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$type":1.5}})", "$type"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$type":true}})", "$type"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$regex":5}})", "$regex"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$regex":"x","$options":5}})", "$options"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$options":"i"}})", "$options needs a $regex"));
  EXPECT_TRUE(CompileFails(R"({"":1})", "empty field name"));
}

TEST(SelectorTest, LogicalOperatorErrors) {
  EXPECT_TRUE(CompileFails(R"({"$and":[]})", "$and needs a non-empty array"));
  EXPECT_TRUE(CompileFails(R"({"$or":[]})", "$or needs a non-empty array"));
  EXPECT_TRUE(CompileFails(R"({"$nor":[]})", "$nor needs a non-empty array"));
  EXPECT_TRUE(CompileFails(R"({"$and":{"a":1}})", "$and needs a non-empty array"));
  EXPECT_TRUE(CompileFails(R"({"$or":[1]})", "$or entries must be objects"));
  EXPECT_TRUE(CompileFails(R"({"$nor":[{"a":1},"x"]})", "$nor entries must be objects"));
}

TEST(SelectorTest, RegexErrors) {
  EXPECT_TRUE(CompileFails(R"({"a":{"$regex":"("}})", "invalid regular expression"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$regex":"[a-"}})", "invalid regular expression"));
  // RE2 has no backreferences or look-around.
  EXPECT_TRUE(CompileFails(R"({"a":{"$regex":"(a)\\1"}})", "invalid regular expression"));
  EXPECT_TRUE(CompileFails(R"j({"a":{"$regex":"a(?=b)"}})j", "invalid regular expression"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$regex":"a","$options":"x"}})",
                           "unsupported regular expression option 'x'"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$regexp":"a","$flags":"x"}})",
                           "unsupported regular expression option 'x'"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$regexp":"(","$flags":""}})", "invalid regular expression"));
  EXPECT_TRUE(
      CompileFails(R"({"a":{"$in":[{"$regexp":"(","$flags":""}]}})", "invalid regular expression"));
  EXPECT_TRUE(
      CompileFails(R"({"a":{"$not":{"$regexp":"(","$flags":""}}})", "invalid regular expression"));
  // g, y and u are accepted and ignored.
  EXPECT_TRUE(Matches(R"({"a":{"$regex":"^a","$options":"gyu"}})", R"({"a":"ab"})"));
}

TEST(SelectorTest, ErrorsAreInvalidArgument) {
  for (const char* bad : {R"({"a":{"$foo":1}})", R"({"$and":[]})", R"({"a":{"$size":-1}})",
                          R"({"a":{"$regex":"("}})"}) {
    absl::StatusOr<Selector> s = Selector::Compile(J(bad));
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(std::string(s.status().message()).rfind("invalid selector: ", 0), 0u) << s.status();
  }
}

// -------------------------------------------------------------- accessors

TEST(SelectorTest, IdAccessor) {
  auto id_of = [](std::string_view sel) -> std::optional<std::string> {
    absl::StatusOr<Selector> s = Selector::Compile(J(sel));
    EXPECT_TRUE(s.ok()) << sel << ": " << s.status();
    return s.ok() ? s->id() : std::nullopt;
  };
  EXPECT_EQ(id_of(R"({"_id":"x"})"), std::optional<std::string>("x"));
  EXPECT_EQ(id_of(R"({"a":1,"_id":"x"})"), std::optional<std::string>("x"));
  EXPECT_EQ(id_of(R"({"_id":{"$eq":"x"}})"), std::optional<std::string>("x"));
  EXPECT_EQ(id_of(R"({"$and":[{"a":1},{"_id":"x"}]})"), std::optional<std::string>("x"));
  EXPECT_EQ(id_of(R"({"_id":5})"), std::nullopt);
  EXPECT_EQ(id_of(R"({"_id":{"$in":["x"]}})"), std::nullopt);
  EXPECT_EQ(id_of(R"({"_id":{"$ne":"x"}})"), std::nullopt);
  EXPECT_EQ(id_of(R"({"$or":[{"_id":"x"}]})"), std::nullopt);
  EXPECT_EQ(id_of(R"({"a":"x"})"), std::nullopt);
  EXPECT_EQ(id_of(R"({"_id":{"$regexp":"x","$flags":""}})"), std::nullopt);
}

TEST(SelectorTest, EqualitiesAccessor) {
  absl::StatusOr<Selector> s = Selector::Compile(
      J(R"({"a":1,"b.c":"x","d":{"$gt":1},"e":{"$eq":[2]},"f":{"$regexp":"^q","$flags":""},)"
        R"("g":{"$eq":{"$regexp":"^q","$flags":""}},"$or":[{"h":1}],"$and":[{"i":true},)"
        R"({"$and":[{"j":null}]}],"k":{"l":1}})"));
  ASSERT_TRUE(s.ok()) << s.status();
  std::string got;
  for (const auto& [path, value] : s->equalities()) got += path + "=" + ToJson(value) + ";";
  EXPECT_EQ(got, R"(a=1;b.c="x";e=[2];i=true;j=null;k={"l":1};)");
}

}  // namespace
}  // namespace ddp::query

namespace ddp::query {
namespace {

TEST(SelectorTest, NaNIsOnlyEqualToNaNInRanges) {
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":{"$InfNaN":0}}})", R"({"a":1})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$lt":1}})", R"({"a":{"$InfNaN":0}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$gt":-1e308}})", R"({"a":{"$InfNaN":0}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$gte":{"$InfNaN":0}}})", R"({"a":{"$InfNaN":0}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$lte":{"$InfNaN":0}}})", R"({"a":{"$InfNaN":0}})"));
  EXPECT_TRUE(DoesNotMatch(R"({"a":{"$lt":{"$InfNaN":0}}})", R"({"a":{"$InfNaN":0}})"));
  EXPECT_TRUE(Matches(R"({"a":{"$InfNaN":0}})", R"({"a":{"$InfNaN":0}})"));
}

}  // namespace
}  // namespace ddp::query

namespace ddp::query {
namespace {

// Found by the mingo differential test: MongoDB treats an array element as
// a document with numeric keys in $elemMatch's document form.
TEST(SelectorTest, ElemMatchDocumentFormReachesIntoArrayElements) {
  EXPECT_TRUE(Matches(R"({"b":{"$elemMatch":{"0":10}}})", R"({"b":[[10]]})"));
  EXPECT_TRUE(Matches(R"({"c":{"$elemMatch":{"1":10}}})", R"({"c":[["A",10]]})"));
  EXPECT_TRUE(Matches(R"({"b":{"$elemMatch":{"1":null}}})", R"({"b":[[]]})"));
  EXPECT_TRUE(DoesNotMatch(R"({"b":{"$elemMatch":{"0":11}}})", R"({"b":[[10]]})"));
}

}  // namespace
}  // namespace ddp::query

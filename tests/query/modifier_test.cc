// Modifier::Compile + Apply / ApplyForInsert against MongoDB's update
// operators (https://www.mongodb.com/docs/manual/reference/operator/update/),
// plus ValidateDocument and SetPath.
#include "query/modifier.h"

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "protocol/json.h"
#include "protocol/value.h"

namespace ddp::query {
namespace {

constexpr int64_t kNow = 1700000000123;

Value J(std::string_view json) {
  absl::StatusOr<Value> v = ParseJson(json);
  if (!v.ok()) {
    ADD_FAILURE() << "bad JSON in test: " << json << ": " << v.status();
    return Value();
  }
  return *std::move(v);
}

Object O(std::string_view json) {
  Value v = J(json);
  if (!v.is_object()) {
    ADD_FAILURE() << "not an object: " << json;
    return Object();
  }
  return v.as_object();
}

// The JSON of the updated document, or "compile error: ..." / "error: ...".
std::string Run(std::string_view modifier, std::string_view doc, bool insert) {
  absl::StatusOr<Modifier> m = Modifier::Compile(J(modifier));
  if (!m.ok()) return "compile error: " + std::string(m.status().message());
  absl::StatusOr<Object> out = insert ? m->ApplyForInsert(O(doc), kNow) : m->Apply(O(doc), kNow);
  if (!out.ok()) {
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
    return "error: " + std::string(out.status().message());
  }
  return ToJson(Value(*std::move(out)));
}

std::string Apply(std::string_view modifier, std::string_view doc) {
  return Run(modifier, doc, false);
}
std::string Insert(std::string_view modifier, std::string_view seed) {
  return Run(modifier, seed, true);
}

// Compile must fail with InvalidArgument and a message containing `part`.
::testing::AssertionResult CompileFails(std::string_view modifier, std::string_view part) {
  absl::StatusOr<Modifier> m = Modifier::Compile(J(modifier));
  if (m.ok()) return ::testing::AssertionFailure() << modifier << " compiled, expected an error";
  if (m.status().code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << modifier << ": wrong code: " << m.status();
  }
  if (std::string(m.status().message()).find(part) == std::string::npos) {
    return ::testing::AssertionFailure()
           << modifier << ": message '" << m.status().message() << "' lacks '" << part << "'";
  }
  return ::testing::AssertionSuccess();
}

// Compile succeeds and Apply fails with InvalidArgument and a message
// containing `part`.
::testing::AssertionResult ApplyFails(std::string_view modifier, std::string_view doc,
                                      std::string_view part) {
  absl::StatusOr<Modifier> m = Modifier::Compile(J(modifier));
  if (!m.ok()) return ::testing::AssertionFailure() << modifier << ": " << m.status();
  absl::StatusOr<Object> out = m->Apply(O(doc), kNow);
  if (out.ok()) {
    return ::testing::AssertionFailure()
           << modifier << " on " << doc << " gave " << ToJson(Value(*out)) << ", expected an error";
  }
  if (out.status().code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << modifier << ": wrong code: " << out.status();
  }
  if (std::string(out.status().message()).find(part) == std::string::npos) {
    return ::testing::AssertionFailure()
           << modifier << ": message '" << out.status().message() << "' lacks '" << part << "'";
  }
  return ::testing::AssertionSuccess();
}

std::string Lower(const std::string& s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ------------------------------------------------------------------ $set

TEST(ModifierTest, SetTopLevelFields) {
  EXPECT_EQ(Apply(R"({"$set":{"a":2}})", R"({"_id":"x","a":1,"b":1})"),
            R"({"_id":"x","a":2,"b":1})");
  EXPECT_EQ(Apply(R"({"$set":{"c":[1,{"d":true}]}})", R"({"_id":"x","a":1})"),
            R"({"_id":"x","a":1,"c":[1,{"d":true}]})");
  EXPECT_EQ(Apply(R"({"$set":{"a":null}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":null})");
  EXPECT_EQ(Apply(R"({"$set":{"a":{"$date":5}}})", R"({"_id":"x"})"),
            R"({"_id":"x","a":{"$date":5}})");
  EXPECT_EQ(Apply(R"({"$set":{"a":1,"b":2}})", R"({"_id":"x"})"), R"({"_id":"x","a":1,"b":2})");
  // Fields sharing a prefix but not a path segment do not conflict.
  EXPECT_EQ(Apply(R"({"$set":{"ab":1,"a":2}})", R"({"_id":"x"})"), R"({"_id":"x","ab":1,"a":2})");
  // An empty $set changes nothing.
  EXPECT_EQ(Apply(R"({"$set":{}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":1})");
  // Setting _id to its current value is allowed.
  EXPECT_EQ(Apply(R"({"$set":{"_id":"x","a":1}})", R"({"_id":"x"})"), R"({"_id":"x","a":1})");
}

TEST(ModifierTest, SetDottedPathsCreateObjects) {
  EXPECT_EQ(Apply(R"({"$set":{"a.b.c":1}})", R"({"_id":"x"})"), R"({"_id":"x","a":{"b":{"c":1}}})");
  EXPECT_EQ(Apply(R"({"$set":{"a.c":2}})", R"({"_id":"x","a":{"b":1}})"),
            R"({"_id":"x","a":{"b":1,"c":2}})");
  EXPECT_EQ(Apply(R"({"$set":{"a.b":3}})", R"({"_id":"x","a":{"b":1,"c":2}})"),
            R"({"_id":"x","a":{"b":3,"c":2}})");
  EXPECT_EQ(Apply(R"({"$set":{"a.b":1,"a.c":2}})", R"({"_id":"x"})"),
            R"({"_id":"x","a":{"b":1,"c":2}})");
}

TEST(ModifierTest, SetNumericStepsIndexArrays) {
  EXPECT_EQ(Apply(R"({"$set":{"a.1":9}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[1,9,3]})");
  EXPECT_EQ(Apply(R"({"$set":{"a.0.b":5}})", R"({"_id":"x","a":[{"b":1},{"b":2}]})"),
            R"({"_id":"x","a":[{"b":5},{"b":2}]})");
  // Past the end: padded with nulls.
  EXPECT_EQ(Apply(R"({"$set":{"a.3":5}})", R"({"_id":"x","a":[1]})"),
            R"({"_id":"x","a":[1,null,null,5]})");
  EXPECT_EQ(Apply(R"({"$set":{"a.1":5}})", R"({"_id":"x","a":[1]})"), R"({"_id":"x","a":[1,5]})");
  EXPECT_EQ(Apply(R"({"$set":{"a.2.b":1}})", R"({"_id":"x","a":[]})"),
            R"({"_id":"x","a":[null,null,{"b":1}]})");
  // On an object a numeric step is a field name.
  EXPECT_EQ(Apply(R"({"$set":{"a.0":5}})", R"({"_id":"x","a":{}})"), R"({"_id":"x","a":{"0":5}})");
  EXPECT_EQ(Apply(R"({"$set":{"a.0":5}})", R"({"_id":"x"})"), R"({"_id":"x","a":{"0":5}})");
}

TEST(ModifierTest, SetThroughAScalarIsAnError) {
  EXPECT_TRUE(ApplyFails(R"({"$set":{"a.b":1}})", R"({"_id":"x","a":5})", "field 'b'"));
  EXPECT_TRUE(ApplyFails(R"({"$set":{"a.b":1}})", R"({"_id":"x","a":5})", "{a: 5}"));
  EXPECT_TRUE(ApplyFails(R"({"$set":{"a.b.c":1}})", R"({"_id":"x","a":{"b":"s"}})", "field 'c'"));
  EXPECT_TRUE(ApplyFails(R"({"$set":{"a.b":1}})", R"({"_id":"x","a":null})", "field 'b'"));
  // A non-numeric step into an array.
  EXPECT_TRUE(ApplyFails(R"({"$set":{"a.b":1}})", R"({"_id":"x","a":[1]})", "field 'b'"));
  EXPECT_TRUE(ApplyFails(R"({"$set":{"a.b.c":1}})", R"({"_id":"x","a":[{"b":1}]})", "field 'b'"));
  // The message says "cannot create field" (compared case-insensitively).
  absl::StatusOr<Modifier> m = Modifier::Compile(J(R"({"$set":{"a.b":1}})"));
  ASSERT_TRUE(m.ok());
  absl::StatusOr<Object> out = m->Apply(O(R"({"_id":"x","a":5})"), kNow);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(Lower(std::string(out.status().message())).find("cannot create field 'b'"),
            std::string::npos)
      << out.status();
}

// ---------------------------------------------------------------- $unset

TEST(ModifierTest, Unset) {
  EXPECT_EQ(Apply(R"({"$unset":{"a":""}})", R"({"_id":"x","a":1,"b":2})"), R"({"_id":"x","b":2})");
  EXPECT_EQ(Apply(R"({"$unset":{"a":1,"b":true}})", R"({"_id":"x","a":1,"b":2,"c":3})"),
            R"({"_id":"x","c":3})");
  EXPECT_EQ(Apply(R"({"$unset":{"a.b":1}})", R"({"_id":"x","a":{"b":1,"c":2}})"),
            R"({"_id":"x","a":{"c":2}})");
  // Missing fields and paths through scalars: no-op.
  EXPECT_EQ(Apply(R"({"$unset":{"z":1}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":1})");
  EXPECT_EQ(Apply(R"({"$unset":{"z.y":1}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":1})");
  EXPECT_EQ(Apply(R"({"$unset":{"a.b":1}})", R"({"_id":"x","a":5})"), R"({"_id":"x","a":5})");
  EXPECT_EQ(Apply(R"({"$unset":{"a.5":1}})", R"({"_id":"x","a":[1]})"), R"({"_id":"x","a":[1]})");
  // An array element becomes null; the array keeps its length.
  EXPECT_EQ(Apply(R"({"$unset":{"a.1":""}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[1,null,3]})");
  EXPECT_EQ(Apply(R"({"$unset":{"a.0.b":1}})", R"({"_id":"x","a":[{"b":1,"c":2}]})"),
            R"({"_id":"x","a":[{"c":2}]})");
}

// ----------------------------------------------------------- $inc, $mul

TEST(ModifierTest, Inc) {
  EXPECT_EQ(Apply(R"({"$inc":{"a":2}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":3})");
  EXPECT_EQ(Apply(R"({"$inc":{"a":-5}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":-4})");
  // Missing: created with the increment.
  EXPECT_EQ(Apply(R"({"$inc":{"a":2}})", R"({"_id":"x"})"), R"({"_id":"x","a":2})");
  EXPECT_EQ(Apply(R"({"$inc":{"a":2.5}})", R"({"_id":"x"})"), R"({"_id":"x","a":2.5})");
  EXPECT_EQ(Apply(R"({"$inc":{"a.b":1}})", R"({"_id":"x"})"), R"({"_id":"x","a":{"b":1}})");
  // int + double is a double; double + int stays a double.
  EXPECT_EQ(Apply(R"({"$inc":{"a":1.5}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":2.5})");
  EXPECT_EQ(Apply(R"({"$inc":{"a":1}})", R"({"_id":"x","a":1.0})"), R"({"_id":"x","a":2.0})");
  EXPECT_EQ(Apply(R"({"$inc":{"a":1}})", R"({"_id":"x","a":0.5})"), R"({"_id":"x","a":1.5})");
  // Array elements by index.
  EXPECT_EQ(Apply(R"({"$inc":{"a.1":1,"b.c":2.5}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,3],"b":{"c":2.5}})");
  // int64 overflow is refused, as MongoDB does, rather than losing precision.
  EXPECT_TRUE(ApplyFails(R"({"$inc":{"a":1}})", R"({"_id":"x","a":9223372036854775807})",
                         "would overflow"));
  EXPECT_TRUE(ApplyFails(R"({"$inc":{"a":-1}})", R"({"_id":"x","a":-9223372036854775808})",
                         "would overflow"));
}

TEST(ModifierTest, IncErrors) {
  EXPECT_TRUE(CompileFails(R"({"$inc":{"a":"1"}})", "Cannot increment with non-numeric argument"));
  EXPECT_TRUE(CompileFails(R"({"$inc":{"a":null}})", "Cannot increment with non-numeric argument"));
  EXPECT_TRUE(CompileFails(R"({"$inc":{"a":[1]}})", "Cannot increment with non-numeric argument"));
  EXPECT_TRUE(ApplyFails(R"({"$inc":{"a":1}})", R"({"_id":"x","a":"s"})",
                         "Cannot apply $inc to a value of non-numeric type"));
  EXPECT_TRUE(ApplyFails(R"({"$inc":{"a":1}})", R"({"_id":"x","a":"s"})", "'a'"));
  EXPECT_TRUE(ApplyFails(R"({"$inc":{"a":1}})", R"({"_id":"x","a":null})",
                         "Cannot apply $inc to a value of non-numeric type"));
  EXPECT_TRUE(ApplyFails(R"({"$inc":{"a":1}})", R"({"_id":"x","a":[1]})",
                         "Cannot apply $inc to a value of non-numeric type"));
  EXPECT_TRUE(ApplyFails(R"({"$inc":{"a.b":1}})", R"({"_id":"x","a":5})", "field 'b'"));
}

TEST(ModifierTest, Mul) {
  EXPECT_EQ(Apply(R"({"$mul":{"a":3}})", R"({"_id":"x","a":2})"), R"({"_id":"x","a":6})");
  EXPECT_EQ(Apply(R"({"$mul":{"a":2}})", R"({"_id":"x","a":1.5})"), R"({"_id":"x","a":3.0})");
  EXPECT_EQ(Apply(R"({"$mul":{"a":0.5}})", R"({"_id":"x","a":3})"), R"({"_id":"x","a":1.5})");
  // Missing: zero of the multiplier's type.
  EXPECT_EQ(Apply(R"({"$mul":{"a":2}})", R"({"_id":"x"})"), R"({"_id":"x","a":0})");
  EXPECT_EQ(Apply(R"({"$mul":{"a":2.5}})", R"({"_id":"x"})"), R"({"_id":"x","a":0.0})");
  EXPECT_EQ(Apply(R"({"$mul":{"a.b":2}})", R"({"_id":"x"})"), R"({"_id":"x","a":{"b":0}})");
  EXPECT_TRUE(ApplyFails(R"({"$mul":{"a":4}})", R"({"_id":"x","a":4611686018427387904})",
                         "would overflow"));

  EXPECT_TRUE(CompileFails(R"({"$mul":{"a":"2"}})", "Cannot multiply with non-numeric argument"));
  EXPECT_TRUE(ApplyFails(R"({"$mul":{"a":2}})", R"({"_id":"x","a":"s"})",
                         "Cannot apply $mul to a value of non-numeric type"));
}

// ----------------------------------------------------------- $min, $max

TEST(ModifierTest, MinMax) {
  EXPECT_EQ(Apply(R"({"$min":{"a":5}})", R"({"_id":"x","a":10})"), R"({"_id":"x","a":5})");
  EXPECT_EQ(Apply(R"({"$min":{"a":5}})", R"({"_id":"x","a":3})"), R"({"_id":"x","a":3})");
  EXPECT_EQ(Apply(R"({"$max":{"a":5}})", R"({"_id":"x","a":3})"), R"({"_id":"x","a":5})");
  EXPECT_EQ(Apply(R"({"$max":{"a":5}})", R"({"_id":"x","a":10})"), R"({"_id":"x","a":10})");
  EXPECT_EQ(Apply(R"({"$max":{"a":2.5}})", R"({"_id":"x","a":2})"), R"({"_id":"x","a":2.5})");
  // Missing: set.
  EXPECT_EQ(Apply(R"({"$min":{"a":5}})", R"({"_id":"x"})"), R"({"_id":"x","a":5})");
  EXPECT_EQ(Apply(R"({"$max":{"a.b":5}})", R"({"_id":"x"})"), R"({"_id":"x","a":{"b":5}})");
  // Equal values (1 and 1.0) leave the field as it is.
  EXPECT_EQ(Apply(R"({"$min":{"a":1.0}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":1})");
  EXPECT_EQ(Apply(R"({"$max":{"a":1}})", R"({"_id":"x","a":1.0})"), R"({"_id":"x","a":1.0})");
  // Across types: the BSON order (null < numbers < strings < ...).
  EXPECT_EQ(Apply(R"({"$min":{"a":5}})", R"({"_id":"x","a":"s"})"), R"({"_id":"x","a":5})");
  EXPECT_EQ(Apply(R"({"$max":{"a":5}})", R"({"_id":"x","a":"s"})"), R"({"_id":"x","a":"s"})");
  EXPECT_EQ(Apply(R"({"$min":{"a":null}})", R"({"_id":"x","a":1})"), R"({"_id":"x","a":null})");
  EXPECT_EQ(Apply(R"({"$max":{"a":true}})", R"({"_id":"x","a":"s"})"), R"({"_id":"x","a":true})");
  // Dates.
  EXPECT_EQ(Apply(R"({"$max":{"d":{"$date":200}}})", R"({"_id":"x","d":{"$date":100}})"),
            R"({"_id":"x","d":{"$date":200}})");
  EXPECT_EQ(Apply(R"({"$min":{"d":{"$date":200}}})", R"({"_id":"x","d":{"$date":100}})"),
            R"({"_id":"x","d":{"$date":100}})");
}

// --------------------------------------------------------------- $rename

TEST(ModifierTest, Rename) {
  EXPECT_EQ(Apply(R"({"$rename":{"a":"b"}})", R"({"_id":"x","a":1,"c":2})"),
            R"({"_id":"x","c":2,"b":1})");
  // Onto an existing field: replaces it.
  EXPECT_EQ(Apply(R"({"$rename":{"a":"b"}})", R"({"_id":"x","a":1,"b":2,"c":3})"),
            R"({"_id":"x","b":1,"c":3})");
  // Missing source: no-op (the target is left alone).
  EXPECT_EQ(Apply(R"({"$rename":{"a":"b"}})", R"({"_id":"x","b":2})"), R"({"_id":"x","b":2})");
  EXPECT_EQ(Apply(R"({"$rename":{"a.b":"c"}})", R"({"_id":"x","a":5})"), R"({"_id":"x","a":5})");
  // Nested destination and source.
  EXPECT_EQ(Apply(R"({"$rename":{"a":"x.y"}})", R"({"_id":"x","a":1})"),
            R"({"_id":"x","x":{"y":1}})");
  EXPECT_EQ(Apply(R"({"$rename":{"a.b":"c"}})", R"({"_id":"x","a":{"b":1,"d":2}})"),
            R"({"_id":"x","a":{"d":2},"c":1})");
  EXPECT_EQ(Apply(R"({"$rename":{"a.b":"a.c"}})", R"({"_id":"x","a":{"b":{"z":1}}})"),
            R"({"_id":"x","a":{"c":{"z":1}}})");
  // Several renames at once.
  EXPECT_EQ(Apply(R"({"$rename":{"a":"p","b":"q"}})", R"({"_id":"x","a":1,"b":2})"),
            R"({"_id":"x","p":1,"q":2})");
}

TEST(ModifierTest, RenameErrors) {
  EXPECT_TRUE(CompileFails(R"({"$rename":{"a":5}})", "$rename needs a string target"));
  EXPECT_TRUE(CompileFails(R"({"$rename":{"a":"a"}})", "must differ"));
  EXPECT_TRUE(CompileFails(R"({"$rename":{"a":"a.b"}})", "conflict"));
  EXPECT_TRUE(CompileFails(R"({"$rename":{"a.b":"a"}})", "conflict"));
  EXPECT_TRUE(CompileFails(R"({"$rename":{"a":"b"},"$set":{"b":1}})", "conflict"));
  EXPECT_TRUE(CompileFails(R"({"$rename":{"a":"$b"}})", "must not start with '$'"));
  EXPECT_TRUE(ApplyFails(R"({"$rename":{"a.0":"b"}})", R"({"_id":"x","a":[1]})", "array"));
  EXPECT_TRUE(ApplyFails(R"({"$rename":{"a":"b.c"}})", R"({"_id":"x","a":1,"b":5})", "field 'c'"));
  EXPECT_TRUE(ApplyFails(R"({"$rename":{"_id":"z"}})", R"({"_id":"x"})", "_id"));
}

// ------------------------------------------------------------------ $push

TEST(ModifierTest, PushPlainValues) {
  EXPECT_EQ(Apply(R"({"$push":{"a":3}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,2,3]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":1}})", R"({"_id":"x","a":[1]})"), R"({"_id":"x","a":[1,1]})");
  // Missing: a new array.
  EXPECT_EQ(Apply(R"({"$push":{"a":1}})", R"({"_id":"x"})"), R"({"_id":"x","a":[1]})");
  EXPECT_EQ(Apply(R"({"$push":{"a.b":1}})", R"({"_id":"x"})"), R"({"_id":"x","a":{"b":[1]}})");
  // An array value is pushed as one element.
  EXPECT_EQ(Apply(R"({"$push":{"a":[1,2]}})", R"({"_id":"x","a":[0]})"),
            R"({"_id":"x","a":[0,[1,2]]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"b":1}}})", R"({"_id":"x","a":[]})"),
            R"({"_id":"x","a":[{"b":1}]})");
  // Into an array element that is an array.
  EXPECT_EQ(Apply(R"({"$push":{"a.1":9}})", R"({"_id":"x","a":[[1],[2]]})"),
            R"({"_id":"x","a":[[1],[2,9]]})");
}

TEST(ModifierTest, PushEachAndPosition) {
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[3,4]}}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,2,3,4]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[]}}})", R"({"_id":"x","a":[1]})"),
            R"({"_id":"x","a":[1]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[]}}})", R"({"_id":"x"})"), R"({"_id":"x","a":[]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[[1]]}}})", R"({"_id":"x"})"),
            R"({"_id":"x","a":[[1]]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[8,9],"$position":0}}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[8,9,1,2,3]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[9],"$position":1}}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[1,9,2,3]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[9],"$position":10}}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[1,2,3,9]})");
  // Negative: counted from the end (-1 is before the last element).
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[9],"$position":-1}}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[1,2,9,3]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[9],"$position":-2}}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[1,9,2,3]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[9],"$position":-10}}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[9,1,2,3]})");
}

TEST(ModifierTest, PushSlice) {
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[4,5],"$slice":3}}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,2,4]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[4,5],"$slice":-3}}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[2,4,5]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[4,5],"$slice":0}}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[4],"$slice":10}}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,2,4]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[4],"$slice":-10}}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,2,4]})");
  // $slice alone (with an empty $each) trims the array.
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[],"$slice":-1}}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[3]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[1],"$slice":0}}})", R"({"_id":"x"})"),
            R"({"_id":"x","a":[]})");
}

TEST(ModifierTest, PushSort) {
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[3,1],"$sort":1}}})", R"({"_id":"x","a":[2]})"),
            R"({"_id":"x","a":[1,2,3]})");
  EXPECT_EQ(Apply(R"({"$push":{"a":{"$each":[3,1],"$sort":-1}}})", R"({"_id":"x","a":[2]})"),
            R"({"_id":"x","a":[3,2,1]})");
  // Across types, by the BSON order.
  EXPECT_EQ(
      Apply(R"({"$push":{"a":{"$each":["s",null,1.5],"$sort":1}}})", R"({"_id":"x","a":[1]})"),
      R"({"_id":"x","a":[null,1,1.5,"s"]})");
  // By fields of document elements.
  EXPECT_EQ(Apply(R"({"$push":{"s":{"$each":[{"n":3},{"n":1}],"$sort":{"n":1}}}})",
                  R"({"_id":"x","s":[{"n":2}]})"),
            R"({"_id":"x","s":[{"n":1},{"n":2},{"n":3}]})");
  EXPECT_EQ(Apply(R"({"$push":{"s":{"$each":[{"n":3,"m":1},{"n":1,"m":2}],"$sort":{"m":-1}}}})",
                  R"({"_id":"x","s":[{"n":2,"m":0}]})"),
            R"({"_id":"x","s":[{"n":1,"m":2},{"n":3,"m":1},{"n":2,"m":0}]})");
  EXPECT_EQ(Apply(R"({"$push":{"s":{"$each":[{"p":{"q":2}},{"p":{"q":1}}],"$sort":{"p.q":1}}}})",
                  R"({"_id":"x"})"),
            R"({"_id":"x","s":[{"p":{"q":1}},{"p":{"q":2}}]})");
  // $position, then $sort, then $slice: the top two scores.
  EXPECT_EQ(Apply(R"({"$push":{"s":{"$each":[{"n":3},{"n":1}],"$sort":{"n":-1},"$slice":2}}})",
                  R"({"_id":"x","s":[{"n":2}]})"),
            R"({"_id":"x","s":[{"n":3},{"n":2}]})");
  EXPECT_EQ(
      Apply(R"({"$push":{"a":{"$each":[5,1],"$sort":1,"$slice":-2}}})", R"({"_id":"x","a":[3,2]})"),
      R"({"_id":"x","a":[3,5]})");
}

TEST(ModifierTest, PushErrors) {
  EXPECT_TRUE(ApplyFails(R"({"$push":{"a":1}})", R"({"_id":"x","a":5})",
                         "The field 'a' must be an array but is of type int"));
  EXPECT_TRUE(ApplyFails(R"({"$push":{"a":1}})", R"({"_id":"x","a":{"b":1}})",
                         "must be an array but is of type object"));
  EXPECT_TRUE(ApplyFails(R"({"$push":{"a.b":1}})", R"({"_id":"x","a":5})", "field 'b'"));
  EXPECT_TRUE(CompileFails(R"({"$push":{"a":{"$each":5}}})", "$each needs an array"));
  EXPECT_TRUE(CompileFails(R"({"$push":{"a":{"$each":[1],"$sort":2}}})", "$sort"));
  EXPECT_TRUE(CompileFails(R"({"$push":{"a":{"$each":[1],"$sort":"x"}}})", "$sort"));
  EXPECT_TRUE(CompileFails(R"({"$push":{"a":{"$each":[1],"$position":1.5}}})",
                           "$position needs an integer"));
  EXPECT_TRUE(
      CompileFails(R"({"$push":{"a":{"$each":[1],"$slice":"2"}}})", "$slice needs an integer"));
  EXPECT_TRUE(CompileFails(R"({"$push":{"a":{"$each":[1],"$foo":2}}})", "$foo"));
  // Pushed values must be storable.
  EXPECT_TRUE(CompileFails(R"({"$push":{"a":{"$each":[{"$b":1}]}}})", "'$b'"));
  EXPECT_TRUE(CompileFails(R"({"$push":{"a":{"b.c":1}}})", "'b.c'"));
}

// -------------------------------------------------------------- $addToSet

TEST(ModifierTest, AddToSet) {
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":3}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,2,3]})");
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":2}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,2]})");
  // 1 and 1.0 are the same value.
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":1}})", R"({"_id":"x","a":[1.0]})"),
            R"({"_id":"x","a":[1.0]})");
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":1.0}})", R"({"_id":"x","a":[1]})"),
            R"({"_id":"x","a":[1]})");
  // Missing: a new array.
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":1}})", R"({"_id":"x"})"), R"({"_id":"x","a":[1]})");
  // An array value is one element.
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":[1,2]}})", R"({"_id":"x","a":[1,2]})"),
            R"({"_id":"x","a":[1,2,[1,2]]})");
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":[1,2]}})", R"({"_id":"x","a":[[1,2]]})"),
            R"({"_id":"x","a":[[1,2]]})");
  // Documents compare with their field order.
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":{"b":1,"c":2}}})", R"({"_id":"x","a":[{"b":1,"c":2}]})"),
            R"({"_id":"x","a":[{"b":1,"c":2}]})");
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":{"b":1,"c":2}}})", R"({"_id":"x","a":[{"c":2,"b":1}]})"),
            R"({"_id":"x","a":[{"c":2,"b":1},{"b":1,"c":2}]})");
  // $each: every new value once.
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":{"$each":[2,2,3,1.0]}}})", R"({"_id":"x","a":[1]})"),
            R"({"_id":"x","a":[1,2,3]})");
  EXPECT_EQ(Apply(R"({"$addToSet":{"a":{"$each":[]}}})", R"({"_id":"x"})"),
            R"({"_id":"x","a":[]})");
}

TEST(ModifierTest, AddToSetErrors) {
  EXPECT_TRUE(ApplyFails(R"({"$addToSet":{"a":1}})", R"({"_id":"x","a":5})",
                         "The field 'a' must be an array"));
  EXPECT_TRUE(CompileFails(R"({"$addToSet":{"a":{"$each":5}}})", "$each needs an array"));
  EXPECT_TRUE(CompileFails(R"({"$addToSet":{"a":{"$each":[1],"$slice":2}}})", "$slice"));
  EXPECT_TRUE(CompileFails(R"({"$addToSet":{"a":{"$each":[1],"$position":0}}})", "$position"));
}

// ------------------------------------------------------------------- $pop

TEST(ModifierTest, Pop) {
  EXPECT_EQ(Apply(R"({"$pop":{"a":1}})", R"({"_id":"x","a":[1,2,3]})"), R"({"_id":"x","a":[1,2]})");
  EXPECT_EQ(Apply(R"({"$pop":{"a":-1}})", R"({"_id":"x","a":[1,2,3]})"),
            R"({"_id":"x","a":[2,3]})");
  EXPECT_EQ(Apply(R"({"$pop":{"a":-1.0}})", R"({"_id":"x","a":[1,2]})"), R"({"_id":"x","a":[2]})");
  EXPECT_EQ(Apply(R"({"$pop":{"a":1}})", R"({"_id":"x","a":[1]})"), R"({"_id":"x","a":[]})");
  EXPECT_EQ(Apply(R"({"$pop":{"a":1}})", R"({"_id":"x","a":[]})"), R"({"_id":"x","a":[]})");
  EXPECT_EQ(Apply(R"({"$pop":{"a":1}})", R"({"_id":"x"})"), R"({"_id":"x"})");
  EXPECT_EQ(Apply(R"({"$pop":{"a.b":1}})", R"({"_id":"x","a":{"b":[1,2]}})"),
            R"({"_id":"x","a":{"b":[1]}})");

  EXPECT_TRUE(CompileFails(R"({"$pop":{"a":2}})", "$pop needs 1 or -1"));
  EXPECT_TRUE(CompileFails(R"({"$pop":{"a":0}})", "$pop needs 1 or -1"));
  EXPECT_TRUE(CompileFails(R"({"$pop":{"a":"1"}})", "$pop needs 1 or -1"));
  EXPECT_TRUE(ApplyFails(R"({"$pop":{"a":1}})", R"({"_id":"x","a":5})", "must be an array"));
}

// ------------------------------------------------------ $pull, $pullAll

TEST(ModifierTest, PullByValue) {
  EXPECT_EQ(Apply(R"({"$pull":{"a":1}})", R"({"_id":"x","a":[1,2,1.0,3]})"),
            R"({"_id":"x","a":[2,3]})");
  EXPECT_EQ(Apply(R"({"$pull":{"a":"x"}})", R"({"_id":"x","a":["x","y"]})"),
            R"({"_id":"x","a":["y"]})");
  EXPECT_EQ(Apply(R"({"$pull":{"a":5}})", R"({"_id":"x","a":[1,2]})"), R"({"_id":"x","a":[1,2]})");
  // An array value removes equal arrays only (order matters).
  EXPECT_EQ(Apply(R"({"$pull":{"a":[1,2]}})", R"({"_id":"x","a":[[1,2],[2,1],1]})"),
            R"({"_id":"x","a":[[2,1],1]})");
  // Missing: no-op.
  EXPECT_EQ(Apply(R"({"$pull":{"a":1}})", R"({"_id":"x"})"), R"({"_id":"x"})");
  EXPECT_EQ(Apply(R"({"$pull":{"a.b":1}})", R"({"_id":"x","a":5})"), R"({"_id":"x","a":5})");
  EXPECT_TRUE(ApplyFails(R"({"$pull":{"a":1}})", R"({"_id":"x","a":5})", "must be an array"));
}

TEST(ModifierTest, PullByCondition) {
  EXPECT_EQ(Apply(R"({"$pull":{"a":{"$gte":6}}})", R"({"_id":"x","a":[3,6,7,2]})"),
            R"({"_id":"x","a":[3,2]})");
  EXPECT_EQ(Apply(R"({"$pull":{"a":{"$in":["x","y"]}}})", R"({"_id":"x","a":["x","z","y"]})"),
            R"({"_id":"x","a":["z"]})");
  EXPECT_EQ(Apply(R"({"$pull":{"a":{"$gt":1,"$lt":5}}})", R"({"_id":"x","a":[0,2,4,6]})"),
            R"({"_id":"x","a":[0,6]})");
  EXPECT_EQ(
      Apply(R"({"$pull":{"a":{"$regexp":"^x","$flags":""}}})", R"({"_id":"x","a":["xa","b",1]})"),
      R"({"_id":"x","a":["b",1]})");
  EXPECT_EQ(
      Apply(R"({"$pull":{"a":{"$regex":"^X","$options":"i"}}})", R"({"_id":"x","a":["xa","b"]})"),
      R"({"_id":"x","a":["b"]})");
  EXPECT_EQ(Apply(R"({"$pull":{"a":{"$elemMatch":{"$gt":1}}}})", R"({"_id":"x","a":[[1],[2],3]})"),
            R"({"_id":"x","a":[[1],3]})");
  EXPECT_TRUE(CompileFails(R"({"$pull":{"a":{"$foo":1}}})", "$foo"));
}

TEST(ModifierTest, PullByDocumentCondition) {
  // The condition is a query on each element: extra fields don't matter.
  EXPECT_EQ(Apply(R"({"$pull":{"r":{"score":8}}})",
                  R"({"_id":"x","r":[{"score":8,"item":"A"},{"score":7,"item":"B"}]})"),
            R"({"_id":"x","r":[{"score":7,"item":"B"}]})");
  EXPECT_EQ(Apply(R"({"$pull":{"r":{"score":8,"item":"B"}}})",
                  R"({"_id":"x","r":[{"score":8,"item":"A"},{"score":8,"item":"B"}]})"),
            R"({"_id":"x","r":[{"score":8,"item":"A"}]})");
  EXPECT_EQ(Apply(R"({"$pull":{"r":{"score":{"$gt":7}}}})",
                  R"({"_id":"x","r":[{"score":8},{"score":7},{"score":9}]})"),
            R"({"_id":"x","r":[{"score":7}]})");
  EXPECT_EQ(
      Apply(R"({"$pull":{"r":{"p.q":1}}})", R"({"_id":"x","r":[{"p":{"q":1}},{"p":{"q":2}}]})"),
      R"({"_id":"x","r":[{"p":{"q":2}}]})");
  // Scalars cannot match a condition on fields.
  EXPECT_EQ(Apply(R"({"$pull":{"r":{"score":8}}})", R"({"_id":"x","r":[8,{"score":8}]})"),
            R"({"_id":"x","r":[8]})");
  // Array fields of the elements are searched as in a query.
  EXPECT_EQ(Apply(R"({"$pull":{"r":{"tags":"t"}}})",
                  R"({"_id":"x","r":[{"tags":["s","t"]},{"tags":["u"]}]})"),
            R"({"_id":"x","r":[{"tags":["u"]}]})");
}

TEST(ModifierTest, PullAll) {
  EXPECT_EQ(Apply(R"({"$pullAll":{"a":[0,5]}})", R"({"_id":"x","a":[0,2,5,5,1,0.0]})"),
            R"({"_id":"x","a":[2,1]})");
  EXPECT_EQ(Apply(R"({"$pullAll":{"a":[[1]]}})", R"({"_id":"x","a":[[1],1]})"),
            R"({"_id":"x","a":[1]})");
  EXPECT_EQ(Apply(R"({"$pullAll":{"a":[{"b":1}]}})", R"({"_id":"x","a":[{"b":1},{"b":1,"c":2}]})"),
            R"({"_id":"x","a":[{"b":1,"c":2}]})");
  EXPECT_EQ(Apply(R"({"$pullAll":{"a":[]}})", R"({"_id":"x","a":[1]})"), R"({"_id":"x","a":[1]})");
  EXPECT_EQ(Apply(R"({"$pullAll":{"a":[1]}})", R"({"_id":"x"})"), R"({"_id":"x"})");
  EXPECT_TRUE(CompileFails(R"({"$pullAll":{"a":5}})", "$pullAll needs an array"));
  EXPECT_TRUE(
      ApplyFails(R"({"$pullAll":{"a":[1]}})", R"({"_id":"x","a":"s"})", "must be an array"));
}

// --------------------------------------------------------- $currentDate

TEST(ModifierTest, CurrentDate) {
  EXPECT_EQ(Apply(R"({"$currentDate":{"d":true}})", R"({"_id":"x"})"),
            R"({"_id":"x","d":{"$date":1700000000123}})");
  EXPECT_EQ(Apply(R"({"$currentDate":{"d":true,"e.f":{"$type":"date"}}})", R"({"_id":"x","d":1})"),
            R"({"_id":"x","d":{"$date":1700000000123},"e":{"f":{"$date":1700000000123}}})");
  absl::StatusOr<Modifier> m = Modifier::Compile(J(R"({"$currentDate":{"d":true}})"));
  ASSERT_TRUE(m.ok());
  absl::StatusOr<Object> out = m->Apply(O(R"({"_id":"x"})"), 42);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->Find("d")->is_date());
  EXPECT_EQ(out->Find("d")->as_date().millis, 42);

  EXPECT_TRUE(CompileFails(R"({"$currentDate":{"d":1}})", "$currentDate"));
  EXPECT_TRUE(CompileFails(R"({"$currentDate":{"d":false}})", "$currentDate"));
  EXPECT_TRUE(CompileFails(R"({"$currentDate":{"d":{"$type":"string"}}})", "$currentDate"));
}

// --------------------------------------------------------- $setOnInsert

TEST(ModifierTest, SetOnInsertOnlyWhenInserting) {
  const char* mod = R"({"$set":{"a":1},"$setOnInsert":{"b":2,"c.d":3}})";
  EXPECT_EQ(Apply(mod, R"({"_id":"s"})"), R"({"_id":"s","a":1})");
  EXPECT_EQ(Insert(mod, R"({"_id":"s"})"), R"({"_id":"s","a":1,"b":2,"c":{"d":3}})");
  // The seed (selector equalities) is kept and updated.
  EXPECT_EQ(Insert(R"({"$inc":{"n":1}})", R"({"_id":"s","k":"v","n":4})"),
            R"({"_id":"s","k":"v","n":5})");
  EXPECT_EQ(Insert(R"({"$push":{"l":1}})", R"({"_id":"s"})"), R"({"_id":"s","l":[1]})");
  EXPECT_EQ(Insert(R"({"$currentDate":{"t":true}})", R"({"_id":"s"})"),
            R"({"_id":"s","t":{"$date":1700000000123}})");
}

// ---------------------------------------------------------- replacement

TEST(ModifierTest, ReplacementKeepsId) {
  absl::StatusOr<Modifier> m = Modifier::Compile(J(R"({"a":1})"));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->is_replacement());
  absl::StatusOr<Modifier> op = Modifier::Compile(J(R"({"$set":{"a":1}})"));
  ASSERT_TRUE(op.ok());
  EXPECT_FALSE(op->is_replacement());

  EXPECT_EQ(Apply(R"({"a":1})", R"({"_id":"x","b":2})"), R"({"_id":"x","a":1})");
  EXPECT_EQ(Apply(R"({"a":{"b":[1]},"c":null})", R"({"_id":"x","b":2})"),
            R"({"_id":"x","a":{"b":[1]},"c":null})");
  // The same _id may be repeated; it stays first.
  EXPECT_EQ(Apply(R"({"a":1,"_id":"x"})", R"({"_id":"x","b":2})"), R"({"_id":"x","a":1})");
  // An empty replacement leaves only the _id.
  EXPECT_EQ(Apply(R"({})", R"({"_id":"x","a":1})"), R"({"_id":"x"})");
  // Upsert: the seed's _id.
  EXPECT_EQ(Insert(R"({"a":1})", R"({"_id":"s","k":"v"})"), R"({"_id":"s","a":1})");
}

TEST(ModifierTest, ReplacementErrors) {
  EXPECT_TRUE(ApplyFails(R"({"a":1,"_id":"y"})", R"({"_id":"x","b":2})", "_id"));
  EXPECT_TRUE(CompileFails(R"({"a.b":1})", "'a.b'"));
  EXPECT_TRUE(CompileFails(R"({"a":{"$x":1}})", "'$x'"));
  EXPECT_TRUE(CompileFails(R"({"a":[{"b.c":1}]})", "'b.c'"));
}

// --------------------------------------------------------------- _id

TEST(ModifierTest, IdIsImmutable) {
  EXPECT_TRUE(ApplyFails(R"({"$set":{"_id":"y"}})", R"({"_id":"x"})", "_id"));
  EXPECT_TRUE(ApplyFails(R"({"$set":{"_id":"y"}})", R"({"_id":"x"})", "immutable"));
  EXPECT_TRUE(ApplyFails(R"({"$unset":{"_id":1}})", R"({"_id":"x"})", "immutable"));
  EXPECT_TRUE(ApplyFails(R"({"$set":{"_id":5}})", R"({"_id":"x"})", "immutable"));
  // $setOnInsert is skipped by Apply, so it cannot touch the _id there.
  EXPECT_EQ(Apply(R"({"$setOnInsert":{"_id":"y"}})", R"({"_id":"x"})"), R"({"_id":"x"})");
}

// ------------------------------------------------------------ conflicts

TEST(ModifierTest, ConflictingPaths) {
  EXPECT_TRUE(CompileFails(R"({"$set":{"a":1},"$inc":{"a":1}})", "conflict"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a":1},"$inc":{"a":1}})",
                           "Updating the path 'a' would create a conflict at 'a'"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a":1,"a.b":2}})",
                           "Updating the path 'a.b' would create a conflict at 'a'"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a.b":2,"a":1}})", "conflict"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a.b.c":1},"$unset":{"a.b":1}})", "conflict"));
  EXPECT_TRUE(CompileFails(R"({"$push":{"a":1},"$pull":{"a":2}})", "conflict"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a":1},"$setOnInsert":{"a":2}})", "conflict"));
  // Siblings do not conflict.
  EXPECT_EQ(Apply(R"({"$set":{"a.b":1},"$unset":{"a.c":1}})", R"({"_id":"x","a":{"c":3}})"),
            R"({"_id":"x","a":{"b":1}})");
  EXPECT_EQ(Apply(R"({"$set":{"a.b":1},"$inc":{"a.c":1}})", R"({"_id":"x"})"),
            R"({"_id":"x","a":{"b":1,"c":1}})");
}

// ------------------------------------------------------ modifier errors

TEST(ModifierTest, MalformedModifiers) {
  EXPECT_TRUE(
      CompileFails(R"({"$set":{"a":1},"b":2})", "cannot mix update operators and plain fields"));
  EXPECT_TRUE(CompileFails(R"({"b":2,"$set":{"a":1}})", "cannot mix"));
  EXPECT_TRUE(CompileFails(R"({"$foo":{"a":1}})", "$foo"));
  EXPECT_TRUE(CompileFails(R"({"$foo":{"a":1}})", "unknown modifier $foo"));
  EXPECT_TRUE(CompileFails(R"({"$bit":{"a":{"and":1}}})", "$bit"));
  EXPECT_TRUE(CompileFails(R"({"$set":5})", "modifier $set needs an object"));
  EXPECT_TRUE(CompileFails(R"({"$set":[]})", "$set"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a.$.b":1}})", "positional"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a.$.b":1}})", "a.$.b"));
  EXPECT_TRUE(CompileFails(R"({"$inc":{"a.$":1}})", "positional"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a.$[].b":1}})", "positional"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a.$[i]":1}})", "positional"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"$a":1}})", "must not start with '$'"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a.$b":1}})", "must not start with '$'"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a..b":1}})", "empty part"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"":1}})", "empty field name"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a":{"$x":1}}})", "'$x'"));
  EXPECT_TRUE(CompileFails(R"({"$set":{"a":{"b.c":1}}})", "'b.c'"));
  EXPECT_TRUE(CompileFails(R"({"$setOnInsert":{"a":[{"$x":1}]}})", "'$x'"));
  absl::StatusOr<Modifier> m = Modifier::Compile(Value(5));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
}

// ----------------------------------------------------- ValidateDocument

TEST(ValidateDocumentTest, AcceptsStorableDocuments) {
  EXPECT_TRUE(ValidateDocument(J(R"({"_id":"x","a":{"b":[{"c":1}],"d":{"$date":1}}})")).ok());
  EXPECT_TRUE(ValidateDocument(J(R"({"a":1})")).ok());
  EXPECT_TRUE(ValidateDocument(J(R"({})")).ok());
  EXPECT_TRUE(ValidateDocument(J(R"({"a$":1,"b":"$c"})")).ok());
}

TEST(ValidateDocumentTest, RejectsBadNamesAtAnyDepth) {
  auto fails = [](std::string_view json, std::string_view part) -> ::testing::AssertionResult {
    absl::Status s = ValidateDocument(J(json));
    if (s.ok()) return ::testing::AssertionFailure() << json << " accepted";
    if (s.code() != absl::StatusCode::kInvalidArgument) {
      return ::testing::AssertionFailure() << json << ": " << s;
    }
    if (std::string(s.message()).find(part) == std::string::npos) {
      return ::testing::AssertionFailure() << json << ": '" << s.message() << "' lacks " << part;
    }
    return ::testing::AssertionSuccess();
  };
  EXPECT_TRUE(fails(R"({"$a":1})", "'$a'"));
  EXPECT_TRUE(fails(R"({"a.b":1})", "'a.b'"));
  EXPECT_TRUE(fails(R"({"a":{"$b":1}})", "'$b'"));
  EXPECT_TRUE(fails(R"({"a":{"b":{"c.d":1}}})", "'c.d'"));
  EXPECT_TRUE(fails(R"({"a":[1,{"$b":1}]})", "'$b'"));
  EXPECT_TRUE(fails(R"({"a":[[{"x.y":1}]]})", "'x.y'"));
  // _id must be a string.
  EXPECT_TRUE(fails(R"({"_id":5})", "_id"));
  EXPECT_TRUE(fails(R"({"_id":null})", "_id"));
  EXPECT_TRUE(fails(R"({"_id":{"a":1}})", "_id"));
  EXPECT_TRUE(fails(R"({"_id":{"$type":"oid","$value":"0123456789abcdef01234567"}})", "_id"));
  // Not an object.
  EXPECT_FALSE(ValidateDocument(Value(5)).ok());
  EXPECT_FALSE(ValidateDocument(J("[]")).ok());
}

// ---------------------------------------------------------------- SetPath

TEST(SetPathTest, CreatesObjectsOnTheWay) {
  Value doc = J(R"({"_id":"x"})");
  ASSERT_TRUE(SetPath(doc, "a", Value(1)).ok());
  ASSERT_TRUE(SetPath(doc, "b.c.d", Value("v")).ok());
  ASSERT_TRUE(SetPath(doc, "b.e", J("[1]")).ok());
  ASSERT_TRUE(SetPath(doc, "a", Value(2)).ok());
  EXPECT_EQ(ToJson(doc), R"({"_id":"x","a":2,"b":{"c":{"d":"v"},"e":[1]}})");
}

TEST(SetPathTest, IndexesArraysAndRejectsScalars) {
  Value doc = J(R"({"l":[0]})");
  ASSERT_TRUE(SetPath(doc, "l.2", Value(5)).ok());
  EXPECT_EQ(ToJson(doc), R"({"l":[0,null,5]})");
  absl::Status s = SetPath(doc, "l.0.x", Value(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  Value scalar = J(R"({"a":5})");
  s = SetPath(scalar, "a.b", Value(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(Lower(std::string(s.message())).find("cannot create field 'b'"), std::string::npos)
      << s;
  EXPECT_EQ(ToJson(scalar), R"({"a":5})");
}

}  // namespace
}  // namespace ddp::query

namespace ddp::query {
namespace {

// Cases that once deviated from MongoDB (found in review).
TEST(ModifierTest, PullConditionsFollowQuerySemantics) {
  EXPECT_EQ(Apply(R"({"$pull":{"r":{"$or":[{"score":8},{"item":"B"}]}}})",
                  R"({"_id":"x","r":[{"score":8,"item":"A"},{"score":7,"item":"B"},{"score":1,"item":"C"}]})"),
            R"({"_id":"x","r":[{"score":1,"item":"C"}]})");
  EXPECT_EQ(Apply(R"({"$pull":{"r":{"score":7,"$or":[{"item":"B"},{"item":"Z"}]}}})",
                  R"({"_id":"x","r":[{"score":8,"item":"A"},{"score":7,"item":"B"},{"score":1,"item":"C"}]})"),
            R"({"_id":"x","r":[{"score":8,"item":"A"},{"score":1,"item":"C"}]})");
  // A document condition only removes documents.
  EXPECT_EQ(Apply(R"({"$pull":{"a":{"b":null}}})", R"({"_id":"x","a":[1,{"b":null},{"c":1},"s"]})"),
            R"({"_id":"x","a":[1,"s"]})");
  EXPECT_EQ(Apply(R"({"$pull":{"a":{}}})", R"({"_id":"x","a":[{"b":1},1,[]]})"),
            R"({"_id":"x","a":[1,[]]})");
  EXPECT_EQ(Apply(R"({"$pull":{"a":{"b":1}}})", R"({"_id":"x","a":[[{"b":1}],{"b":1}]})"),
            R"({"_id":"x","a":[[{"b":1}]]})");
}

TEST(ModifierTest, ReplacementUpsertPutsIdFirst) {
  absl::StatusOr<Modifier> m = Modifier::Compile(J(R"({"a":1,"_id":"y"})"));
  ASSERT_TRUE(m.ok());
  absl::StatusOr<Object> out = m->ApplyForInsert(Object(), kNow);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(ToJson(Value(*out)), R"({"_id":"y","a":1})");
}

}  // namespace
}  // namespace ddp::query

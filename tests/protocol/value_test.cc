#include "protocol/value.h"

#include <cmath>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "protocol/json.h"

namespace ddp {
namespace {

Value J(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : Value();
}

TEST(ValueTest, IntAndDoubleStayApart) {
  EXPECT_TRUE(Value(1).is_int());
  EXPECT_TRUE(Value(1.0).is_double());
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_TRUE(Equivalent(Value(1), Value(1.0)));
}

TEST(ValueTest, ObjectKeepsOrderAndSetReplacesInPlace) {
  Object o;
  o.Set("b", 1);
  o.Set("a", 2);
  o.Set("b", 3);
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o.at(0).key, "b");
  EXPECT_EQ(*o.Find("b"), Value(3));
  EXPECT_TRUE(o.Erase("b"));
  EXPECT_FALSE(o.Erase("b"));
  EXPECT_EQ(o.at(0).key, "a");
}

TEST(ValueTest, FindPathWalksObjectsAndArrayIndexes) {
  Value v = J(R"({"a":{"b":[10,{"c":"x"}]},"d":null})");
  EXPECT_EQ(*v.FindPath("a.b.0"), Value(10));
  EXPECT_EQ(*v.FindPath("a.b.1.c"), Value("x"));
  EXPECT_TRUE(v.FindPath("d")->is_null());
  EXPECT_EQ(v.FindPath("a.b.2"), nullptr);
  EXPECT_EQ(v.FindPath("a.b.c"), nullptr);
  EXPECT_EQ(v.FindPath("a.b.-1"), nullptr);
  EXPECT_EQ(v.FindPath("a.b.+1"), nullptr);
  EXPECT_EQ(v.FindPath("a.x"), nullptr);
  EXPECT_EQ(v.FindPath("d.e"), nullptr);
}

TEST(ValueTest, StrictEqualityIsOrderAndBitExact) {
  EXPECT_NE(J(R"({"a":1,"b":2})"), J(R"({"b":2,"a":1})"));
  double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Value(nan), Value(nan));
  EXPECT_NE(Value(0.0), Value(-0.0));
  EXPECT_EQ(J(R"([1,"a",{"x":[true]}])"), J(R"([1,"a",{"x":[true]}])"));
}

TEST(ValueTest, HashAgreesWithEquality) {
  absl::flat_hash_set<Value> set;
  set.insert(J(R"({"a":[1,2]})"));
  set.insert(J(R"({"a":[1,2]})"));
  set.insert(J(R"({"a":[1,2.0]})"));
  set.insert(Value(Date{5}));
  set.insert(Value(5));
  EXPECT_EQ(set.size(), 4u);
  EXPECT_TRUE(set.contains(J(R"({"a":[1,2]})")));
}

// MongoDB's cross-type order: every value in the table is strictly less
// than the ones after it.
TEST(ValueTest, CompareFollowsMongoTypeOrder) {
  double inf = std::numeric_limits<double>::infinity();
  std::vector<Value> ordered = {
      Value(),
      Value(std::numeric_limits<double>::quiet_NaN()),
      Value(-inf),
      Value(std::numeric_limits<int64_t>::min()),
      Value(-1.5),
      Value(-1),
      Value(0),
      Value(0.5),
      Value(1),
      Value(9007199254740993LL),  // 2^53 + 1: above the nearest double 2^53
      Value(9007199254740994.0),
      Value(std::numeric_limits<int64_t>::max()),
      Value(9223372036854775808.0),  // 2^63
      Value(inf),
      Value(""),
      Value("A"),
      Value("a"),
      Value("ab"),
      Value("\xc3\xa9"),  // é: bytes above ASCII
      J(R"({})"),
      J(R"({"a":1})"),
      J(R"({"a":1,"b":1})"),
      J(R"({"b":0})"),    // members compare by type before name
      J(R"({"a":"x"})"),
      J(R"([])"),
      J(R"([1])"),
      J(R"([1,2])"),
      J(R"([2])"),
      Value(Binary{"z"}),
      Value(Binary{"ab"}),
      Value(ObjectId{"000000000000000000000001"}),
      Value(ObjectId{"ff0000000000000000000000"}),
      Value(false),
      Value(true),
      Value(Date{-1}),
      Value(Date{0}),
      Value(Regex{"a", ""}),
      Value(Regex{"a", "i"}),
      Value(Custom{"t", Box<Value>(Value(1))}),
  };
  for (size_t i = 0; i < ordered.size(); ++i) {
    EXPECT_EQ(Compare(ordered[i], ordered[i]), 0) << ToJson(ordered[i]);
    for (size_t j = i + 1; j < ordered.size(); ++j) {
      EXPECT_LT(Compare(ordered[i], ordered[j]), 0)
          << ToJson(ordered[i]) << " vs " << ToJson(ordered[j]);
      EXPECT_GT(Compare(ordered[j], ordered[i]), 0)
          << ToJson(ordered[j]) << " vs " << ToJson(ordered[i]);
    }
  }
}

TEST(ValueTest, CompareNumbersAcrossIntAndDouble) {
  EXPECT_EQ(Compare(Value(3), Value(3.0)), 0);
  EXPECT_LT(Compare(Value(3), Value(3.000001)), 0);
  EXPECT_GT(Compare(Value(-3), Value(-3.000001)), 0);
  EXPECT_EQ(Compare(Value(std::numeric_limits<double>::quiet_NaN()),
                    Value(std::numeric_limits<double>::quiet_NaN())),
            0);
  EXPECT_EQ(Compare(Value(0.0), Value(-0.0)), 0);
  // 2^53 + 1 is not representable as a double; the int must not be rounded.
  EXPECT_GT(Compare(Value(int64_t{9007199254740993}), Value(9007199254740992.0)), 0);
}

}  // namespace
}  // namespace ddp

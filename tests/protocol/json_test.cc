#include "protocol/json.h"

#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace ddp {
namespace {

// Every text here is in canonical wire form: parse + serialize gives it back
// byte for byte.
TEST(JsonTest, RoundTripsEveryType) {
  const char* texts[] = {
      "null",
      "true",
      "false",
      "0",
      "-42",
      "9223372036854775807",
      "-9223372036854775808",
      "1.0",
      "-0.0",
      "0.1",
      "1.5e300",
      "2.2250738585072014e-308",
      R"("")",
      R"("plain")",
      R"("quote \" backslash \\ newline \n tab \t ctrl \u0001")",
      R"("unicode é 日本 😀")",
      "[]",
      "{}",
      R"([1,"a",null,true,[],{}])",
      R"({"z":1,"a":2,"m":{"y":[1,2.0]}})",
      R"({"$date":1700000000123})",
      R"({"$date":-5})",
      R"({"$binary":"AAECAwQ="})",
      R"({"$binary":""})",
      R"({"$binary":"+/+/"})",
      R"({"$type":"oid","$value":"0123456789abcdef01234567"})",
      R"({"$type":"Decimal","$value":"1.25"})",
      R"({"$type":"Point","$value":{"x":1,"y":[2]}})",
      R"({"$InfNaN":1})",
      R"({"$InfNaN":-1})",
      R"({"$InfNaN":0})",
      R"({"$regexp":"^a.*b$","$flags":"im"})",
      R"({"$escape":{"$date":5}})",
      R"({"$escape":{"$type":"oid","$value":"x"}})",
      R"({"$escape":{"$escape":{"a":1}}})",
      R"({"$escape":{"$regexp":"a","$flags":{"$date":7}}})",
      R"({"a":{"$escape":{"$binary":"AA=="}},"b":{"$date":1}})",
      R"({"$date":1,"other":2})",
      R"({"$set":{"a":1}})",
  };
  for (const char* text : texts) {
    auto v = ParseJson(text);
    ASSERT_TRUE(v.ok()) << text << ": " << v.status();
    EXPECT_EQ(ToJson(*v), text);
    auto again = ParseJson(ToJson(*v));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *v) << text;
  }
}

TEST(JsonTest, EjsonTypesAreInterpreted) {
  EXPECT_EQ(*ParseJson(R"({"$date":5})"), Value(Date{5}));
  EXPECT_EQ(*ParseJson(R"({"$binary":"AAE="})"), Value(Binary{std::string("\0\1", 2)}));
  EXPECT_EQ(*ParseJson(R"({"$type":"oid","$value":"0123456789ABCDEF01234567"})"),
            Value(ObjectId{"0123456789abcdef01234567"}));
  EXPECT_TRUE(std::isnan(ParseJson(R"({"$InfNaN":0})")->as_double()));
  EXPECT_EQ(ParseJson(R"({"$InfNaN":-1})")->as_double(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(*ParseJson(R"({"$regexp":"a","$flags":"i"})"), Value(Regex{"a", "i"}));
  // An escaped object keeps its keys literally; its values are still EJSON.
  Value e = *ParseJson(R"({"$escape":{"$date":{"$date":3}}})");
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(*e.Find("$date"), Value(Date{3}));
  // Nested inside arrays and objects.
  Value n = *ParseJson(R"([{"t":{"$date":9}}])");
  EXPECT_EQ(*n.FindPath("0.t"), Value(Date{9}));
  // Serializing a plain object that looks like EJSON escapes it.
  Object o;
  o.Set("$date", Value(1));
  EXPECT_EQ(ToJson(Value(o)), R"({"$escape":{"$date":1}})");
}

TEST(JsonTest, NumbersKeepTheirKind) {
  EXPECT_TRUE(ParseJson("1")->is_int());
  EXPECT_TRUE(ParseJson("1.0")->is_double());
  EXPECT_TRUE(ParseJson("1e2")->is_double());
  // Beyond int64: becomes a double rather than failing.
  auto big = ParseJson("18446744073709551615");
  ASSERT_TRUE(big.ok());
  EXPECT_TRUE(big->is_double());
  // Integers on both sides of the 18-digit fast path convert exactly.
  EXPECT_EQ(ParseJson("123456789012345678")->as_int(), 123456789012345678);
  EXPECT_EQ(ParseJson("-123456789012345678")->as_int(), -123456789012345678);
  EXPECT_EQ(ParseJson("999999999999999999")->as_int(), 999999999999999999);
  EXPECT_EQ(ParseJson("9223372036854775807")->as_int(), INT64_MAX);
  EXPECT_EQ(ParseJson("-0")->as_int(), 0);
  EXPECT_EQ(ParseJson("[0,-7,42]")->as_array()[1].as_int(), -7);
  auto bigger = ParseJson("123456789012345678901234567890");
  ASSERT_TRUE(bigger.ok());
  EXPECT_TRUE(bigger->is_double());
}

// RapidJSON 1.1.0's full-precision number parser crashes or loops on some of
// these (found by `make fuzz`); ours converts with std::from_chars.
TEST(JsonTest, NumbersConvertExactlyAndSafely) {
  std::string many_zeros = "0." + std::string(400, '0') + "1";
  auto tiny = ParseJson(many_zeros);
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(tiny->as_double(), 0.0);
  EXPECT_EQ(ParseJson("0e100")->as_double(), 0.0);
  EXPECT_EQ(ParseJson("1e-400")->as_double(), 0.0);
  EXPECT_TRUE(std::signbit(ParseJson("-1e-400")->as_double()));
  EXPECT_EQ(ParseJson("128.74836467836484838364836483643636483648e-336")->as_double(), 0.0);
  EXPECT_EQ(ParseJson("2.220446049250313e-16")->as_double(), 2.220446049250313e-16);
  EXPECT_EQ(ParseJson("0.184467440737095516159")->as_double(), 0.184467440737095516159);
  EXPECT_EQ(ParseJson("5e-324")->as_double(), 5e-324);
  EXPECT_EQ(ParseJson("1.7976931348623157e308")->as_double(), 1.7976931348623157e308);
  EXPECT_EQ(ParseJson("-9223372036854775808")->as_int(), INT64_MIN);
  EXPECT_EQ(ParseJson("-9223372036854775809")->as_double(), -9223372036854775808.0);
  for (const char* huge : {"1e400", "-1e400", "1.8e308", "1e99999999999999999999",
                           "100000000000000000000000000000e300"}) {
    auto v = ParseJson(huge);
    ASSERT_FALSE(v.ok()) << huge;
    // RapidJSON rejects some of these itself ("Number too big to be stored
    // in double"), from_chars the rest.
    EXPECT_NE(v.status().message().find("double"), std::string::npos) << v.status();
  }
  EXPECT_EQ(ParseJson("1e-99999999999999999999")->as_double(), 0.0);
  EXPECT_EQ(ParseJson("0.00001e-330")->as_double(), 0.0);
}

TEST(JsonTest, DuplicateKeysLastWinsAtFirstPosition) {
  Value v = *ParseJson(R"({"a":1,"b":2,"a":3})");
  EXPECT_EQ(ToJson(v), R"({"a":3,"b":2})");
}

TEST(JsonTest, CanonicalFormSortsKeysAtEveryLevel) {
  Value a = *ParseJson(R"({"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]})");
  Value b = *ParseJson(R"({"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}})");
  EXPECT_EQ(ToCanonicalJson(a), ToCanonicalJson(b));
  EXPECT_EQ(ToCanonicalJson(a), R"({"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}})");
}

struct BadCase {
  const char* name;
  std::string text;
  const char* expect;  // substring of the error message
};

TEST(JsonTest, MalformedInputGetsAClearError) {
  std::string deep(101, '[');
  deep += std::string(101, ']');
  std::string deep_obj;
  for (int i = 0; i < 200; ++i) deep_obj += R"({"a":)";
  deep_obj += "1" + std::string(200, '}');
  std::vector<BadCase> cases = {
      {"empty", "", "invalid JSON"},
      {"garbage", "hello", "invalid JSON"},
      {"trailing", "{} {}", "invalid JSON"},
      {"unterminated", R"({"a":1)", "invalid JSON"},
      {"single quotes", "{'a':1}", "invalid JSON"},
      {"trailing comma", "[1,]", "invalid JSON"},
      {"NaN literal", "NaN", "invalid JSON"},
      {"huge exponent", "1e400", "double"},
      {"leading zero", "012", "invalid JSON"},
      {"bare minus", "-", "invalid JSON"},
      {"bare exponent", "1e", "invalid JSON"},
      {"invalid utf8", "\"\xff\xfe\"", "invalid JSON"},
      {"overlong utf8", "\"\xc0\xaf\"", "invalid JSON"},
      {"lone surrogate", R"("\ud800")", "invalid JSON"},
      {"raw control char", "\"a\x01b\"", "invalid JSON"},
      {"nul after value", std::string("{}\0x", 4), "NUL"},
      {"nul inside string", std::string("\"a\0b\"", 5), "invalid JSON"},
      {"too deep arrays", deep, "nesting deeper than 100"},
      {"too deep objects", deep_obj, "nesting deeper than 100"},
      {"bad $date", R"({"$date":"yesterday"})", "$date"},
      {"bad $binary", R"({"$binary":"***"})", "$binary"},
      {"bad oid", R"({"$type":"oid","$value":"xyz"})", "ObjectID"},
      {"bad $type", R"({"$type":5,"$value":1})", "$type"},
      {"bad $regexp", R"({"$regexp":1,"$flags":""})", "$regexp"},
      {"bad $escape", R"({"$escape":5})", "$escape"},
      {"bad $InfNaN", R"({"$InfNaN":"x"})", "$InfNaN"},
  };
  for (const BadCase& c : cases) {
    auto v = ParseJson(c.text);
    ASSERT_FALSE(v.ok()) << c.name;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(v.status().message().find(c.expect), std::string::npos)
        << c.name << ": " << v.status();
  }
}

TEST(JsonTest, LimitsAreConfigurable) {
  JsonLimits limits;
  limits.max_depth = 2;
  limits.max_string_bytes = 4;
  limits.max_text_bytes = 20;
  EXPECT_TRUE(ParseJson("[[1]]", limits).ok());
  EXPECT_FALSE(ParseJson("[[[1]]]", limits).ok());
  EXPECT_TRUE(ParseJson(R"(["abcd"])", limits).ok());
  auto long_string = ParseJson(R"(["abcde"])", limits);
  ASSERT_FALSE(long_string.ok());
  EXPECT_NE(long_string.status().message().find("exceeds the limit of 4"), std::string::npos);
  EXPECT_FALSE(ParseJson(R"({"abcde":1})", limits).ok());  // keys too
  auto long_text = ParseJson(R"([1,2,3,4,5,6,7,8,9,10,11])", limits);
  ASSERT_FALSE(long_text.ok());
  EXPECT_NE(long_text.status().message().find("bytes exceeds"), std::string::npos);
}

TEST(JsonTest, StringEscapingIsValidJson) {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  std::string text = ToJson(Value(all));
  auto back = ParseJson(text);
  ASSERT_TRUE(back.ok()) << text;
  EXPECT_EQ(back->as_string(), all);
  std::string with_nul("a\0b", 3);
  EXPECT_EQ(ToJson(Value(with_nul)), R"("a\u0000b")");
  EXPECT_EQ(ParseJson(R"("a\u0000b")")->as_string(), with_nul);
}

// Found by fuzz_json (tests/fuzz/seeds/json/lone-surrogate): a \u escape
// of half a UTF-16 pair must not decode into bytes that are not UTF-8.
TEST(JsonTest, UnpairedSurrogateEscapesAreRefused) {
  for (const char* text : {R"("\udccc")", R"("a\udc00b")", R"({"\udfff":1})", R"("\ud83d")",
                           R"("\ud83d\u0041")", R"(["x", "\ude00\ud83d"])"}) {
    auto v = ParseJson(text);
    EXPECT_FALSE(v.ok()) << text;
  }
  // A proper pair is one code point, written back as its UTF-8.
  auto pair = ParseJson(R"("\ud83d\ude00")");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->as_string(), "\xf0\x9f\x98\x80");
  auto back = ParseJson(ToJson(*pair));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->as_string(), pair->as_string());
  // Characters next to the surrogate range (U+D7FF, U+E000) stay accepted.
  EXPECT_EQ(ParseJson(R"("\ud7ff\ue000")")->as_string(), "\xed\x9f\xbf\xee\x80\x80");
}

// The writer skips eight bytes at a time: escapes at every position of a
// block, next to multi-byte UTF-8, must still come out right.
TEST(JsonTest, StringEscapingAtEveryPosition) {
  const std::vector<std::string> pieces = {"a", "Z", " ", "\"", "\\", "\n", "\x01", "\x1f",
                                           "\x7f", "\xc3\xa9", "\xe2\x82\xac", std::string(1, '\0')};
  std::mt19937 rng(7);
  for (int round = 0; round < 5000; ++round) {
    std::string s;
    int len = static_cast<int>(rng() % 40);
    for (int k = 0; k < len; ++k) s += pieces[rng() % pieces.size()];
    std::string text;
    AppendJsonString(s, &text);
    for (char c : text) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << text;
    auto back = ParseJson(text);
    ASSERT_TRUE(back.ok()) << text;
    ASSERT_EQ(back->as_string(), s);
  }
}

TEST(JsonTest, ParseJsonObjectReusesTheTarget) {
  Object top;
  auto r = ParseJsonObject(R"({"a":1,"b":{"$date":5},"a":2})", &top);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(*r);
  EXPECT_EQ(ToJson(Value(top)), R"({"a":2,"b":{"$date":5}})");
  EXPECT_TRUE(top.Find("b")->is_date());
  // Valid JSON that is not an object at the top: false, and the target
  // holds nothing of the previous parse.
  for (const char* text : {"[1,2]", "7", "\"x\"", R"({"$date":5})", R"({"$escape":{"$date":1}, "$x":1})"}) {
    auto not_object = ParseJsonObject(text, &top);
    ASSERT_TRUE(not_object.ok()) << text;
    if (std::string_view(text).find("$x") != std::string_view::npos) {
      EXPECT_TRUE(*not_object) << text;  // two keys: a plain object
      continue;
    }
    EXPECT_FALSE(*not_object) << text;
    EXPECT_TRUE(top.empty()) << text;
  }
  // `$escape` at the top stays an object with literal keys.
  r = ParseJsonObject(R"({"$escape":{"$date":1}})", &top);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(*r);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top.at(0).key, "$date");
  EXPECT_TRUE(top.at(0).value.is_int());
  // Errors are ParseJson's, and leave the target empty.
  auto bad = ParseJsonObject(R"({"a":1,"b":)", &top);
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(top.empty());
  bad = ParseJsonObject(R"({"a":{"$date":"x"}})", &top);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("$date"), std::string::npos);
}

}  // namespace
}  // namespace ddp

#include "protocol/ddp_message.h"

#include "common/strings.h"
#include "gtest/gtest.h"

namespace ddp {
namespace {

// Each text is what our encoder writes for the message it decodes to.
TEST(DdpMessageTest, EveryMessageRoundTrips) {
  const char* texts[] = {
      R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})",
      R"({"msg":"connect","session":"abc","version":"pre2","support":["pre2"]})",
      R"({"msg":"connect","session":"abc","version":"1","support":["1"],"receivedCount":42})",
      R"({"msg":"disconnect"})",
      R"({"msg":"connected","session":"Ab3kWqz9PmNtRx7Yc"})",
      R"({"msg":"failed","version":"1"})",
      R"({"msg":"ping"})",
      R"({"msg":"ping","id":"7"})",
      R"({"msg":"pong"})",
      R"({"msg":"pong","id":"7"})",
      R"({"msg":"sub","id":"s1","name":"chat.room1","params":[{"filter":{"a":{"$gt":1}}}]})",
      R"({"msg":"sub","id":"s2","name":"pub","params":[]})",
      R"({"msg":"unsub","id":"s1"})",
      R"({"msg":"nosub","id":"s1"})",
      R"({"msg":"nosub","id":"s1","error":{"isClientSafe":true,"error":404,"reason":"Subscription 'x' not found","message":"Subscription 'x' not found [404]","errorType":"Meteor.Error"}})",
      R"({"msg":"ready","subs":["s1","s2"]})",
      R"({"msg":"added","collection":"c","id":"d1","fields":{"a":1,"t":{"$date":5}}})",
      R"({"msg":"added","collection":"c","id":"d1"})",
      R"({"msg":"changed","collection":"c","id":"d1","fields":{"a":2},"cleared":["b","c"]})",
      R"({"msg":"changed","collection":"c","id":"d1","cleared":["b"]})",
      R"({"msg":"changed","collection":"c","id":"d1","fields":{"x":[1,2]}})",
      R"({"msg":"removed","collection":"c","id":"d1"})",
      R"({"msg":"addedBefore","collection":"c","id":"d1","fields":{"a":1},"before":"d2"})",
      R"({"msg":"addedBefore","collection":"c","id":"d1","before":null})",
      R"({"msg":"movedBefore","collection":"c","id":"d1","before":"d0"})",
      R"({"msg":"movedBefore","collection":"c","id":"d1","before":null})",
      R"({"msg":"method","method":"/c/insert","params":[{"_id":"x","b":{"$binary":"AA=="}}],"id":"1"})",
      R"({"msg":"method","method":"m","params":[],"id":"2","randomSeed":"seed"})",
      R"({"msg":"result","id":"1","result":"x"})",
      R"({"msg":"result","id":"1"})",
      R"({"msg":"result","id":"1","result":null})",
      R"({"msg":"result","id":"1","error":{"isClientSafe":true,"error":"conflict","reason":"r","message":"r [conflict]","errorType":"Meteor.Error"}})",
      R"({"msg":"updated","methods":["1","2"]})",
      R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":"x"}})",
      R"({"msg":"error","reason":"Parse error"})",
  };
  for (const char* text : texts) {
    auto m = DecodeMessage(std::string_view(text));
    ASSERT_TRUE(m.ok()) << text << ": " << m.status();
    EXPECT_EQ(EncodeMessage(*m), text);
  }
}

TEST(DdpMessageTest, UnknownFieldsAreIgnoredAndOrderDoesNotMatter) {
  auto m = DecodeMessage(std::string_view(
      R"({"extra":[1],"id":"9","name":"p","msg":"sub","params":[1],"more":{"x":1}})"));
  ASSERT_TRUE(m.ok()) << m.status();
  auto& sub = std::get<SubMsg>(*m);
  EXPECT_EQ(sub.id, "9");
  EXPECT_EQ(sub.name, "p");
  ASSERT_EQ(sub.params.size(), 1u);
  EXPECT_EQ(EncodeMessage(*m), R"({"msg":"sub","id":"9","name":"p","params":[1]})");
}

TEST(DdpMessageTest, FastPathEncodersMatchGeneric) {
  Object fields{{"a", Value(1)}, {"s", Value("x")}};
  EXPECT_EQ(EncodeAdded("c", "i", fields), EncodeMessage(AddedMsg{"c", "i", fields}));
  EXPECT_EQ(EncodeChanged("c", "i", fields, {"z"}),
            EncodeMessage(ChangedMsg{"c", "i", fields, {"z"}}));
  EXPECT_EQ(EncodeRemoved("c", "i"), EncodeMessage(RemovedMsg{"c", "i"}));
  // Empty fields are omitted.
  EXPECT_EQ(EncodeAdded("c", "i", Object()), R"({"msg":"added","collection":"c","id":"i"})");
  // A field set that would read back as EJSON is escaped, as Meteor does.
  Object looks_like_date{{"$date", Value(1)}};
  EXPECT_EQ(EncodeAdded("c", "i", looks_like_date),
            R"({"msg":"added","collection":"c","id":"i","fields":{"$escape":{"$date":1}}})");
}

TEST(DdpMessageTest, ConnectIsDecodedEvenWhenMalformed) {
  auto m = DecodeMessage(std::string_view(R"({"msg":"connect","version":1,"support":"1"})"));
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(std::get<ConnectMsg>(*m).well_formed);
  auto good = DecodeMessage(std::string_view(R"({"msg":"connect","version":"1","support":["1"]})"));
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(std::get<ConnectMsg>(*good).well_formed);
}

TEST(DdpMessageTest, ReceivedCountIsANonNegativeIntegerOrAbsent) {
  auto count = [](std::string_view field) -> std::optional<uint64_t> {
    auto m = DecodeMessage(std::string_view(StrCat(
        R"({"msg":"connect","session":"s","version":"1","support":["1"],"receivedCount":)", field,
        "}")));
    EXPECT_TRUE(m.ok());
    return m.ok() ? std::get<ConnectMsg>(*m).received_count : std::nullopt;
  };
  EXPECT_EQ(count("0"), 0u);
  EXPECT_EQ(count("17"), 17u);
  EXPECT_EQ(count("17.0"), 17u);
  EXPECT_EQ(count("-1"), std::nullopt);
  EXPECT_EQ(count("1.5"), std::nullopt);
  EXPECT_EQ(count("1e300"), std::nullopt);
  EXPECT_EQ(count(R"("3")"), std::nullopt);
  EXPECT_EQ(count("null"), std::nullopt);
}

struct ErrorCase {
  std::string text;
  std::string_view reason;
};

TEST(DdpMessageTest, MalformedMessagesGetTheExactReason) {
  std::vector<ErrorCase> cases = {
      {"not json", kParseError},
      {"\"\xff\"", kParseError},
      {std::string(200, '[') + std::string(200, ']'), kParseError},
      {"[1,2]", kBadRequest},
      {"\"msg\"", kBadRequest},
      {"{}", kBadRequest},
      {R"({"msg":5})", kBadRequest},
      {R"({"msg":"bogus"})", kBadRequest},
      {R"({"msg":""})", kBadRequest},
      {R"({"msg":"ping","id":5})", kBadRequest},
      {R"({"msg":"unsub"})", kBadRequest},
      {R"({"msg":"unsub","id":1})", kBadRequest},
      {R"({"msg":"sub","name":"x"})", kMalformedSubscription},
      {R"({"msg":"sub","id":"1"})", kMalformedSubscription},
      {R"({"msg":"sub","id":1,"name":"x"})", kMalformedSubscription},
      {R"({"msg":"sub","id":"1","name":"x","params":{}})", kMalformedSubscription},
      {R"({"msg":"sub","id":"1","name":"x","params":null})", kMalformedSubscription},
      {R"({"msg":"method","method":"m"})", kMalformedMethod},
      {R"({"msg":"method","id":"1"})", kMalformedMethod},
      {R"({"msg":"method","id":"1","method":"m","params":"x"})", kMalformedMethod},
      {R"({"msg":"method","id":"1","method":"m","randomSeed":7})", kMalformedMethod},
      {R"({"msg":"method","id":["1"],"method":"m"})", kMalformedMethod},
      {R"({"msg":"added","collection":"c"})", kBadRequest},
      {R"({"msg":"added","collection":"c","id":"1","fields":[]})", kBadRequest},
      {R"({"msg":"changed","collection":"c","id":"1","cleared":[1]})", kBadRequest},
      {R"({"msg":"ready","subs":"a"})", kBadRequest},
      {R"({"msg":"updated"})", kBadRequest},
      {R"({"msg":"result"})", kBadRequest},
      {R"({"msg":"movedBefore","collection":"c","id":"1","before":3})", kBadRequest},
  };
  for (const ErrorCase& c : cases) {
    auto m = DecodeMessage(std::string_view(c.text));
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_EQ(TopLevelReason(m.status()), c.reason) << c.text << ": " << m.status();
  }
}

TEST(DdpMessageTest, FailedDecodeLeavesTheValueForOffendingMessage) {
  Value v = *ParseJson(R"({"msg":"sub","id":1,"name":"x"})");
  Value copy = v;
  auto m = DecodeMessage(v);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(v, copy);
}

}  // namespace
}  // namespace ddp

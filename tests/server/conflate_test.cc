// The merge rules of a slow consumer's pending data messages (conflate.h).
#include "server/net/conflate.h"

#include "gtest/gtest.h"

namespace ddp::net_internal {
namespace {

std::string Merged(std::string_view pending, std::string_view next) {
  net_internal::Merged m = Merge(pending, next);
  switch (m.kind) {
    case Merged::Kind::kNone:
      return "none";
    case Merged::Kind::kDropBoth:
      return "drop both";
    case Merged::Kind::kReplace:
      return *m.message;
  }
  return "";
}

TEST(ConflateTest, MergesChangesIntoWhatWaits) {
  EXPECT_EQ(Merged(R"({"msg":"added","collection":"c","id":"a","fields":{"x":1,"y":2}})",
                   R"({"msg":"changed","collection":"c","id":"a","fields":{"x":5,"z":3},"cleared":["y"]})"),
            R"({"msg":"added","collection":"c","id":"a","fields":{"x":5,"z":3}})");
  EXPECT_EQ(Merged(R"({"msg":"changed","collection":"c","id":"a","fields":{"x":1},"cleared":["q"]})",
                   R"({"msg":"changed","collection":"c","id":"a","fields":{"q":7},"cleared":["x","w"]})"),
            R"({"msg":"changed","collection":"c","id":"a","fields":{"q":7},"cleared":["x","w"]})");
  EXPECT_EQ(Merged(R"({"msg":"changed","collection":"c","id":"a","fields":{"x":1}})",
                   R"({"msg":"removed","collection":"c","id":"a"})"),
            R"({"msg":"removed","collection":"c","id":"a"})");
  EXPECT_EQ(Merged(R"({"msg":"added","collection":"c","id":"a","fields":{"x":1}})",
                   R"({"msg":"removed","collection":"c","id":"a"})"),
            "drop both");
}

TEST(ConflateTest, LeavesAloneWhatCannotMerge) {
  // A removal stays: the document is replaced whole by a later added.
  EXPECT_EQ(Merged(R"({"msg":"removed","collection":"c","id":"a"})",
                   R"({"msg":"added","collection":"c","id":"a","fields":{}})"),
            "none");
  EXPECT_EQ(Merged(R"({"msg":"changed","collection":"c","id":"a","fields":{"x":1}})",
                   R"({"msg":"added","collection":"c","id":"a","fields":{}})"),
            "none");
  EXPECT_EQ(Merged("not json", R"({"msg":"removed","collection":"c","id":"a"})"), "none");
}

TEST(ConflateTest, KeysNameTheDocumentAndTheKind) {
  auto a = KeyOf(R"({"msg":"added","collection":"c","id":"a","fields":{}})");
  auto b = KeyOf(R"({"msg":"changed","collection":"c","id":"a","fields":{"x":1}})");
  auto other = KeyOf(R"({"msg":"changed","collection":"ca","id":"","fields":{"x":1}})");
  ASSERT_TRUE(a && b && other);
  EXPECT_EQ(a->key, b->key);
  EXPECT_NE(a->key, other->key) << "collection and id are kept apart";
  EXPECT_EQ(KeyOf(R"({"msg":"movedBefore","collection":"c","id":"a","before":null})")->kind,
            DocKey::Kind::kOrdered);
  EXPECT_FALSE(KeyOf(R"({"msg":"ready","subs":["s"]})"));
  EXPECT_FALSE(KeyOf(R"({"msg":"result","id":"1"})"));
}

}  // namespace
}  // namespace ddp::net_internal

#include "server/engine/topic_name.h"

#include "gtest/gtest.h"

namespace ddp::engine {
namespace {

TEST(TopicNameTest, ValidNamesAndPatterns) {
  for (const char* ok : {"a", "chat.room42", "sensors.eu.temp", "A-b_9.x"}) {
    EXPECT_TRUE(ValidateTopicName(ok).ok()) << ok;
  }
  for (const char* bad : {"", ".", "a.", ".a", "a..b", "a b", "a/b", "a.*", "é", "a$"}) {
    EXPECT_FALSE(ValidateTopicName(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateTopicName(std::string(256, 'a')).ok());
  EXPECT_TRUE(ValidateTopicName(std::string(255, 'a')).ok());
  for (const char* ok : {"a.*", "a.>", "*", ">", "a.*.c", "*.b"}) {
    EXPECT_TRUE(ValidateTopicPattern(ok).ok()) << ok;
    EXPECT_TRUE(IsPattern(ok)) << ok;
  }
  for (const char* bad : {"a.>.c", "a.b*", "a.**"}) EXPECT_FALSE(ValidateTopicPattern(bad).ok()) << bad;
  EXPECT_FALSE(IsPattern("a.b"));
}

TEST(TopicNameTest, Matching) {
  EXPECT_TRUE(TopicMatches("a.*", "a.b"));
  EXPECT_FALSE(TopicMatches("a.*", "a.b.c"));
  EXPECT_FALSE(TopicMatches("a.*", "a"));
  EXPECT_TRUE(TopicMatches("a.>", "a.b"));
  EXPECT_TRUE(TopicMatches("a.>", "a.b.c"));
  EXPECT_FALSE(TopicMatches("a.>", "a"));
  EXPECT_FALSE(TopicMatches("a.>", "ab.c"));
  EXPECT_TRUE(TopicMatches("*.temp", "eu.temp"));
  EXPECT_FALSE(TopicMatches("*.temp", "eu.hum"));
  EXPECT_TRUE(TopicMatches("a.*.c", "a.x.c"));
  EXPECT_TRUE(TopicMatches(">", "x"));
  EXPECT_TRUE(TopicMatches("a.b", "a.b"));
  EXPECT_FALSE(TopicMatches("a.b", "a.bc"));
}

}  // namespace
}  // namespace ddp::engine

#include "server/engine/topic_name.h"

#include <functional>
#include <string>
#include <vector>

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

// PatternCovers and PatternsOverlap against their definitions, checked
// over every topic of up to 4 segments from {a, b}: patterns of up to 3
// segments cannot tell such topics from deeper ones.
TEST(TopicName, PatternRelationsAgreeWithMatchingOverAllTopics) {
  std::vector<std::string> topics, patterns;
  std::function<void(std::string, int, bool)> grow = [&](std::string s, int depth, bool pattern) {
    if (!s.empty()) (pattern ? patterns : topics).push_back(s);
    if (depth == (pattern ? 3 : 4) || (!s.empty() && s.back() == '>')) return;
    for (const char* seg : {"a", "b", "*", ">"}) {
      if (!pattern && (seg[0] == '*' || seg[0] == '>')) continue;
      grow(s.empty() ? seg : s + "." + seg, depth + 1, pattern);
    }
  };
  grow("", 0, false);
  grow("", 0, true);
  for (const std::string& p : patterns) {
    for (const std::string& q : patterns) {
      bool covers = true, overlap = false;
      for (const std::string& t : topics) {
        if (TopicMatches(q, t) && !TopicMatches(p, t)) covers = false;
        if (TopicMatches(q, t) && TopicMatches(p, t)) overlap = true;
      }
      EXPECT_EQ(PatternCovers(p, q), covers) << p << " covers " << q;
      EXPECT_EQ(PatternsOverlap(p, q), overlap) << p << " overlaps " << q;
    }
  }
  EXPECT_EQ(patterns.size(), 52u);  // names and patterns of 1-3 segments
}

}  // namespace
}  // namespace ddp::engine

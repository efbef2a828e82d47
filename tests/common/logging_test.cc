#include "common/logging.h"

#include <string>

#include "gtest/gtest.h"
#include "spdlog/spdlog.h"

namespace ddp {
namespace {

// One process-wide logger: each test installs it again in the format it
// checks (InitLogging replaces the default logger).
std::string Logged(LogFormat format, const std::string& message) {
  spdlog::drop_all();
  InitLogging("info", format);
  testing::internal::CaptureStderr();
  spdlog::warn("{}", message);
  spdlog::default_logger()->flush();
  return testing::internal::GetCapturedStderr();
}

TEST(LoggingTest, TextIsOneLineWithLineBreaksEscaped) {
  std::string line = Logged(LogFormat::kText, "two\nlines and a \x01 control");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_NE(line.find(" W ["), std::string::npos) << line;
  EXPECT_NE(line.find("two\\nlines and a \\x01 control"), std::string::npos) << line;
  EXPECT_EQ(line[4], '-');
  EXPECT_NE(line.find("Z W"), std::string::npos) << "UTC, with a Z: " << line;
}

TEST(LoggingTest, JsonIsOneObjectPerLineWithEscapes) {
  std::string line = Logged(LogFormat::kJson, "say \"hi\"\\ \n\t\x02");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
  EXPECT_NE(line.find(R"("level":"warning")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("msg":"say \"hi\"\\ \n\t\u0002"})"), std::string::npos) << line;
}

TEST(LoggingTest, RecentProblemsKeepsWarningsAndErrorsOnly) {
  spdlog::drop_all();
  InitLogging("info", LogFormat::kText);
  testing::internal::CaptureStderr();
  spdlog::info("an info line");
  spdlog::warn("a warning");
  spdlog::error("an error");
  (void)testing::internal::GetCapturedStderr();
  std::vector<std::string> recent = RecentProblems();
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_NE(recent[0].find("a warning"), std::string::npos);
  EXPECT_NE(recent[1].find("an error"), std::string::npos);
  EXPECT_EQ(recent[1].back(), 'r') << "no newline";
  for (int i = 0; i < 100; ++i) spdlog::warn("w{}", i);
  EXPECT_EQ(RecentProblems().size(), kRecentProblems);
  EXPECT_NE(RecentProblems().back().find("w99"), std::string::npos);
}

TEST(LoggingTest, FormatNames) {
  LogFormat f = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("json", &f).ok());
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &f).ok());
  EXPECT_EQ(f, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml", &f).ok());
}

}  // namespace
}  // namespace ddp

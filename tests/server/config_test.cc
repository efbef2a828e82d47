#include "server/config.h"

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace ddp {
namespace {

ParsedConfig Parse(std::vector<std::string> args) {
  std::vector<const char*> argv = {"ddpd"};
  for (auto& a : args) argv.push_back(a.c_str());
  return ParseConfig(static_cast<int>(argv.size()), argv.data());
}

class ConfigTest : public ::testing::Test {
 protected:
  int counter_ = 0;
  void TearDown() override {
    unsetenv("DDPD_PORT");
    unsetenv("DDPD_LOG_LEVEL");
    unsetenv("DDPD_THREADS");
  }
  std::string WriteFile(const std::string& text) {
    // One file per test: ctest runs tests in parallel processes.
    std::string path = ::testing::TempDir() + "/ddpd_config_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                       std::to_string(counter_++) + ".toml";
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(ConfigTest, Defaults) {
  ParsedConfig c = Parse({});
  ASSERT_FALSE(c.exit) << c.message;
  EXPECT_EQ(c.options.net.port, 3000);
  EXPECT_EQ(c.options.net.bind, "0.0.0.0");
  EXPECT_EQ(c.options.engine.store.path, "./data");
  EXPECT_EQ(c.options.engine.store.durability, storage::Durability::kSync);
  EXPECT_EQ(c.options.net.max_message_bytes, size_t{1} << 20);
  EXPECT_EQ(c.options.net.session.heartbeat_interval, std::chrono::seconds(15));
}

TEST_F(ConfigTest, LiveQueryLimits) {
  ParsedConfig c = Parse({});
  EXPECT_EQ(c.options.engine.live_limits.max_result, 100000u);
  c = Parse({"--max-live-result", "5", "--max-pipeline-stages", "3", "--max-lookups", "0",
             "--max-open-windows", "7", "--max-groups", "9"});
  ASSERT_FALSE(c.exit) << c.message;
  EXPECT_EQ(c.options.engine.live_limits.max_result, 5u);
  EXPECT_EQ(c.options.engine.live_limits.max_stages, 3u);
  EXPECT_EQ(c.options.engine.live_limits.max_lookups, 0u);
  EXPECT_EQ(c.options.engine.live_limits.max_open_windows, 7u);
  EXPECT_EQ(c.options.engine.live_limits.max_groups, 9u);
  c = Parse({"--max-live-result", "0"});
  EXPECT_TRUE(c.exit);
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.message.find("--max-live-result"), std::string::npos) << c.message;
}

TEST_F(ConfigTest, PublicationStrategies) {
  ParsedConfig c = Parse({});
  EXPECT_TRUE(c.options.api.strategies.empty());
  c = Parse({"--publication-strategy", "events.>=no_merge_no_history", "--publication-strategy",
             "chat.r1=server_merge"});
  ASSERT_FALSE(c.exit) << c.message;
  ASSERT_EQ(c.options.api.strategies.size(), 2u);
  EXPECT_EQ(c.options.api.strategies[0].pattern, "events.>");
  EXPECT_EQ(c.options.api.strategies[0].strategy, PublicationStrategy::kNoMergeNoHistory);
  EXPECT_EQ(c.options.api.strategies[1].strategy, PublicationStrategy::kServerMerge);
  EXPECT_EQ(StrategyFor(c.options.api, "events.login"), PublicationStrategy::kNoMergeNoHistory);
  EXPECT_EQ(StrategyFor(c.options.api, "events.>"), PublicationStrategy::kNoMergeNoHistory);
  EXPECT_EQ(StrategyFor(c.options.api, "events"), PublicationStrategy::kServerMerge);
  EXPECT_EQ(StrategyFor(c.options.api, "chat.r2"), PublicationStrategy::kServerMerge);
  for (const char* bad : {"events.>", "events.>=fast", "=no_merge_no_history", "a..b=server_merge"}) {
    c = Parse({"--publication-strategy", bad});
    EXPECT_TRUE(c.exit) << bad;
    EXPECT_EQ(c.exit_code, 2) << bad;
    EXPECT_NE(c.message.find("--publication-strategy"), std::string::npos) << c.message;
  }
}

TEST_F(ConfigTest, FlagsBeatEnvironmentBeatsFile) {
  std::string file = WriteFile("# comment\n[server]\nport = 1111\nlog_level = \"debug\"\nthreads = 3\n");
  ParsedConfig c = Parse({"--config", file});
  ASSERT_FALSE(c.exit) << c.message;
  EXPECT_EQ(c.options.net.port, 1111);
  EXPECT_EQ(c.options.log_level, "debug");
  EXPECT_EQ(c.options.net.threads, 3);

  setenv("DDPD_PORT", "2222", 1);
  setenv("DDPD_LOG_LEVEL", "warn", 1);
  c = Parse({"--config", file});
  EXPECT_EQ(c.options.net.port, 2222);
  EXPECT_EQ(c.options.log_level, "warn");
  EXPECT_EQ(c.options.net.threads, 3);

  c = Parse({"--config", file, "--port", "3333"});
  EXPECT_EQ(c.options.net.port, 3333);
  EXPECT_EQ(c.options.log_level, "warn");
}

TEST_F(ConfigTest, ErrorsAreReported) {
  ParsedConfig c = Parse({"--port", "x"});
  EXPECT_TRUE(c.exit);
  EXPECT_NE(c.exit_code, 0);
  c = Parse({"--config", "/nonexistent/file"});
  EXPECT_TRUE(c.exit);
  EXPECT_NE(c.message.find("cannot read"), std::string::npos);
  c = Parse({"--config", WriteFile("bogus_option = 1\n")});
  EXPECT_TRUE(c.exit);
  EXPECT_NE(c.message.find("unknown option 'bogus-option'"), std::string::npos) << c.message;
  c = Parse({"--config", WriteFile("just words\n")});
  EXPECT_TRUE(c.exit);
  setenv("DDPD_THREADS", "-5", 1);
  c = Parse({});
  EXPECT_TRUE(c.exit);
  EXPECT_NE(c.message.find("--threads"), std::string::npos) << c.message;
  unsetenv("DDPD_THREADS");
  c = Parse({"--help"});
  EXPECT_TRUE(c.exit);
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_NE(c.message.find("--heartbeat-interval-ms"), std::string::npos);
}

TEST_F(ConfigTest, StorageAndRetention) {
  ParsedConfig c = Parse({"--data-dir", "/tmp/x", "--durability", "batch", "--batch-sync-ms", "25",
                          "--topic-retention", "sensors.*:max_docs=100,max_age_ms=5000",
                          "--topic-retention", "logs:max_docs=7", "--log-max-entries", "1000",
                          "--create-topics", "false", "--topics", "a, b.*"});
  ASSERT_FALSE(c.exit) << c.message;
  EXPECT_EQ(c.options.engine.store.path, "/tmp/x");
  EXPECT_EQ(c.options.engine.store.durability, storage::Durability::kBatch);
  EXPECT_EQ(c.options.engine.store.batch_sync_interval, std::chrono::milliseconds(25));
  ASSERT_EQ(c.options.engine.retention.size(), 2u);
  EXPECT_EQ(c.options.engine.retention[0].pattern, "sensors.*");
  EXPECT_EQ(c.options.engine.retention[0].max_docs, 100);
  EXPECT_EQ(c.options.engine.retention[0].max_age_ms, 5000);
  EXPECT_EQ(c.options.engine.retention[1].max_docs, 7);
  EXPECT_EQ(c.options.engine.log_max_entries, 1000);
  EXPECT_FALSE(c.options.engine.create_topics_on_write);
  EXPECT_EQ(c.options.engine.declared_topics, (std::vector<std::string>{"a", "b.*"}));
  EXPECT_TRUE(Parse({"--durability", "sometimes"}).exit);
  EXPECT_TRUE(Parse({"--topic-retention", "nocolon"}).exit);
  EXPECT_TRUE(Parse({"--topic-retention", "a:max_docs=x"}).exit);
}

TEST_F(ConfigTest, DurationsAndLimits) {
  ParsedConfig c = Parse({"--heartbeat-interval-ms", "250", "--heartbeat-timeout-ms", "100",
                          "--connect-timeout-ms", "50", "--max-message-bytes", "4096"});
  ASSERT_FALSE(c.exit) << c.message;
  EXPECT_EQ(c.options.net.session.heartbeat_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(c.options.net.session.heartbeat_timeout, std::chrono::milliseconds(100));
  EXPECT_EQ(c.options.net.session.connect_timeout, std::chrono::milliseconds(50));
  EXPECT_EQ(c.options.net.max_message_bytes, 4096u);
  EXPECT_EQ(c.options.net.session.json_limits.max_text_bytes, 4096u);
}

}  // namespace
}  // namespace ddp

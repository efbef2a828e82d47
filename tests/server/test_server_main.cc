// test_server: ddpd's server with the test publications and methods, for
// the npm client tests. Prints "PORT <n>" on stdout once listening; stops
// on SIGTERM/SIGINT and reloads its rules on SIGHUP like ddpd.
#include <signal.h>

#include <cstdio>

#include "common/logging.h"
#include "server/config.h"
#include "server/server.h"
#include "server/signals.h"
#include "tests/server/test_registry.h"

int main(int argc, char** argv) {
  ddp::ParsedConfig config = ddp::ParseConfig(argc, argv);
  if (config.exit) {
    std::fputs(config.message.c_str(), stderr);
    return config.exit_code;
  }
  ddp::LogFormat log_format = ddp::LogFormat::kText;
  (void)ddp::ParseLogFormat(config.options.log_format, &log_format);  // checked by the parser
  ddp::InitLogging(config.options.log_level, log_format);
  const sigset_t signals = ddp::BlockServerSignals();
  ddp::Server server(config.options, ddp::testing::MakeTestRegistry());
  if (absl::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "cannot start: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("PORT %u\n", server.port());
  std::fflush(stdout);
  ddp::WaitForShutdownSignal(server, config.options, signals);
  server.Shutdown();
  return 0;
}

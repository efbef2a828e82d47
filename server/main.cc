// ddpd: the server binary.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>

#if DDP_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#include "common/logging.h"
#include "common/strings.h"
#include "server/config.h"
#include "server/server.h"
#include "server/signals.h"
#include "spdlog/spdlog.h"

namespace {

// Which malloc serves the process (the build links jemalloc unless it is
// sanitized; see CMakeLists.txt), for the startup log.
std::string AllocatorName() {
#if DDP_JEMALLOC
  const char* version = nullptr;
  size_t size = sizeof version;
  if (mallctl("version", &version, &size, nullptr, 0) == 0 && version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc";
#else
  return "the C library's malloc";
#endif
}

// Every connection takes a file descriptor, and the usual soft limit
// (1024) would cap the server at about a thousand clients: raise it to the
// hard limit, as Go's and Node's runtimes do for the same reason. Returns
// the limit now in force.
rlim_t RaiseFileLimit() {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    struct rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return lim.rlim_cur;
}

}  // namespace

int main(int argc, char** argv) {
  ddp::ParsedConfig config = ddp::ParseConfig(argc, argv);
  if (config.exit) {
    std::fputs(config.message.c_str(), config.exit_code == 0 ? stdout : stderr);
    if (!config.message.empty() && config.message.back() != '\n') {
      std::fputc('\n', config.exit_code == 0 ? stdout : stderr);
    }
    return config.exit_code;
  }
  ddp::LogFormat log_format = ddp::LogFormat::kText;
  (void)ddp::ParseLogFormat(config.options.log_format, &log_format);  // checked by the parser
  ddp::InitLogging(config.options.log_level, log_format);

  // Block the signals in every thread; main waits for them below.
  const sigset_t signals = ddp::BlockServerSignals();

  const rlim_t files = RaiseFileLimit();
  ddp::Server server(config.options);
  absl::Status started = server.Start();
  if (!started.ok()) {
    spdlog::critical("cannot start: {}", ddp::ToStd(started.message()));
    return 1;
  }
  spdlog::info("ddpd {} listening on {}:{} (WebSocket at /websocket)", ddp::kDdpdVersion,
               config.options.net.bind, server.port());
  spdlog::info("memory allocator: {}", AllocatorName());
  if (files < 4096) {
    spdlog::warn("file descriptors: the limit is {}, so at most about that many connections "
                 "(raise it with ulimit -n / LimitNOFILE= / docker run --ulimit nofile=)",
                 static_cast<unsigned long long>(files));
  } else {
    spdlog::info("file descriptors: limit {}", static_cast<unsigned long long>(files));
  }

  const int sig = ddp::WaitForShutdownSignal(server, config.options, signals);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Shutdown();
  spdlog::info("stopped");
  return 0;
}

#include "server/signals.h"

#include <pthread.h>

#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace ddp {

sigset_t BlockServerSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

int WaitForShutdownSignal(Server& server, const ServerOptions& options, const sigset_t& signals) {
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (options.rules_file.empty() && options.net.tls_cert_file.empty()) {
      spdlog::info("SIGHUP: nothing to reload (no --rules, no --tls-cert)");
      continue;
    }
    if (!options.rules_file.empty()) {
      absl::Status reloaded = server.ReloadRules();
      if (reloaded.ok()) {
        spdlog::info("SIGHUP: reloaded the access rules from {}", options.rules_file);
      } else {
        spdlog::error("SIGHUP: kept the access rules in force: {}", ToStd(reloaded.message()));
      }
    }
    if (!options.net.tls_cert_file.empty()) {
      absl::Status reloaded = server.ReloadTls();
      if (reloaded.ok()) {
        spdlog::info("SIGHUP: reloaded the TLS certificate {}", options.net.tls_cert_file);
      } else {
        spdlog::error("SIGHUP: kept the TLS certificate in use: {}", ToStd(reloaded.message()));
      }
    }
  }
  return sig;
}

}  // namespace ddp

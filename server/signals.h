// The signals ddpd (and the test server) answer: SIGINT and SIGTERM shut
// down, SIGHUP reloads what can change while serving (the access rules, the
// TLS certificate).
#pragma once

#include <signal.h>

#include "server/server.h"

namespace ddp {

// Blocks the signals in the calling thread and every thread it starts
// later (call before Server::Start), and ignores SIGPIPE.
sigset_t BlockServerSignals();

// Waits for SIGINT or SIGTERM, reloading on each SIGHUP meanwhile; returns
// the signal that ended the wait.
int WaitForShutdownSignal(Server& server, const ServerOptions& options, const sigset_t& signals);

}  // namespace ddp

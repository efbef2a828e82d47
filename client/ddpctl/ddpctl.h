// ddpctl: the command-line client of ddpd (and any DDP server), on the SDK.
//
// Each subcommand is one file; this header is what they share: the global
// options, output helpers and the exit codes.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/client.h"
#include "protocol/value.h"

namespace ddp::ctl {

// Exit codes (documented in `ddpctl --help`).
enum ExitCode : int {
  kOk = 0,
  kServerError = 1,  // the server refused: method error, nosub, login
  kUsage = 2,        // bad flags or arguments; nothing was sent
  kConnection = 3,   // could not connect, or the connection was lost
  kTimeout = 4,      // no answer in time
};

struct Globals {
  std::string url = "ws://127.0.0.1:3000/websocket";
  std::string token;
  std::string jwt;
  double timeout_s = 10;
  std::string ca_file;
  bool insecure = false;
  bool json = false;

  // --url may list several servers (a cluster's nodes), comma-separated.
  std::vector<std::string> Urls() const;
  ClientOptions ClientOpts() const;
  std::chrono::milliseconds timeout() const;
};

// Prints "ddpctl: <what>: <status message>" on stderr and returns the exit
// code for `status` (see ExitCode).
int Fail(const std::string& what, const absl::Status& status);
int ExitCodeFor(const absl::Status& status);

// Parses a command-line argument as (E)JSON; the error says which argument
// and suggests quoting for strings.
absl::StatusOr<Value> ParseArg(const std::string& name, const std::string& text);

// JSON for people (indented) or for programs (one line).
std::string PrettyJson(const Value& v);
void PrintValue(const Value& v, bool json);
// Writes a line to stdout and flushes it (output is often piped).
void PrintLine(const std::string& line);

// Waits until `done()` or SIGINT/SIGTERM or the deadline. Returns true when
// done() became true, false on a signal or the deadline.
bool WaitUntil(const std::function<bool()>& done,
               std::optional<std::chrono::steady_clock::time_point> deadline);
// Blocks SIGINT and SIGTERM in this thread and those it starts, so that
// WaitUntil can take them with sigtimedwait. Call first thing in main.
void BlockTerminationSignals();
// True when a signal arrived during WaitUntil.
bool Interrupted();

// Subcommands.
struct SubArgs {
  std::string name;
  std::string query;
  std::string params;
  int64_t count = 0;       // stop after this many events (0: no limit)
  double for_s = 0;        // stop after this many seconds (0: no limit)
  bool until_ready = false;
  bool no_reconnect = false;
};
int RunSub(const Globals& g, const SubArgs& a);

int RunCall(const Globals& g, const std::string& method, const std::vector<std::string>& args);

struct PublishArgs {
  std::string topic;
  std::string doc;  // empty or "-": documents from stdin, one per line
  int batch = 100;
};
int RunPublish(const Globals& g, const PublishArgs& a);

int RunTx(const Globals& g, const std::string& ops, const std::string& key);

int RunQuery(const Globals& g, const std::string& topic, const std::string& query);

struct BenchArgs {
  std::string topic;  // empty: a fresh bench.<random> topic
  int publishers = 1;
  int subscribers = 1;
  double rate = 1000;  // messages/s over all publishers; 0 = as fast as possible
  double duration_s = 10;
  int size = 128;      // payload bytes per message
  int window = 1000;   // calls in flight per publisher, at most
  int threads = 2;     // I/O threads shared by all connections
};
int RunBench(const Globals& g, const BenchArgs& a);

// ddpctl cluster status: the nodes of a ddpd cluster and their lag.
int RunClusterStatus(const Globals& g);

// A connection for a one-shot command: the first of --url's servers that
// answers.
absl::StatusOr<std::unique_ptr<SyncClient>> OpenOneShot(const Globals& g);

}  // namespace ddp::ctl

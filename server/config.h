// Configuration of ddpd from the command line, DDPD_* environment variables
// and a config file (--config FILE, TOML/INI key = value), in that order of
// precedence: a flag wins over the environment, which wins over the file.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/server.h"

namespace ddp {

struct ParsedConfig {
  ServerOptions options;
  // Set when the caller should print `message` and exit with `exit_code`
  // (--help, --version, or a usage error).
  bool exit = false;
  int exit_code = 0;
  std::string message;
};

// Parses argv and the environment. Never exits the process.
ParsedConfig ParseConfig(int argc, const char* const* argv);

}  // namespace ddp

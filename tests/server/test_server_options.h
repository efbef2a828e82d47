// Options of an in-process test server: loopback, an ephemeral port, two
// I/O threads, short close timeouts (test clients do not answer closes),
// data in `data_dir`.
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "server/server.h"

namespace ddp::testing {

// A new, empty directory for one test process (ctest runs several at once):
// <gtest's temp dir>/<name>_<pid>.
inline std::string FreshTestDir(std::string_view name) {
  std::string dir = StrCat(::testing::TempDir(), "/", name, "_", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline ServerOptions TestServerOptions(std::string data_dir) {
  ServerOptions o;
  o.engine.store.path = std::move(data_dir);
  o.net.bind = "127.0.0.1";
  o.net.port = 0;
  o.net.threads = 2;
  o.net.shutdown_grace = std::chrono::milliseconds(100);
  o.net.close_timeout = std::chrono::milliseconds(100);
  return o;
}

}  // namespace ddp::testing

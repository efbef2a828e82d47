// Options of an in-process test server: loopback, an ephemeral port, two
// I/O threads, short close timeouts (test clients do not answer closes),
// data in `data_dir`.
#pragma once

#include <chrono>
#include <string>

#include "server/server.h"

namespace ddp::testing {

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

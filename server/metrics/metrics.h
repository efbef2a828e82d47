// GET /metrics: the server's state in Prometheus' text format, rendered by
// prometheus-cpp's TextSerializer from the counters the network layer, the
// engine and the live queries keep anyway. A scrape reads them; nothing is
// added to the hot path.
#pragma once

#include <string>

#include "server/engine/engine.h"
#include "server/net/net_server.h"

namespace ddp {

// Either may be null (its metrics are left out). Thread-safe.
std::string RenderMetrics(const NetServer* net, const engine::Engine* engine);

}  // namespace ddp

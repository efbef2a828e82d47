// libFuzzer target for SockJS (server/sockjs): client frames decode to
// strings or fail; routes parse or not, and a parsed route's ids hold no
// dot or slash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/sockjs/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ddp::JsonLimits limits;
  limits.max_depth = 8;
  auto m = ddp::sockjs::DecodeClientFrame(text, limits);
  if (m.ok()) {
    for (const auto& s : *m) {
      // Every message survives framing back and forth.
      auto back = ddp::sockjs::DecodeClientFrame("[" + ddp::sockjs::MessageFrame(s).substr(2), limits);
      if (!back.ok() || back->size() != 1 || (*back)[0] != s) std::abort();
    }
  }
  if (auto r = ddp::sockjs::ParseRoute(text)) {
    for (std::string_view id : {r->server, r->session}) {
      if (id.empty() || id.find_first_of("./") != std::string_view::npos) std::abort();
    }
  }
  return 0;
}

// libFuzzer target for ddpd's own WebSocket frame reader (server/net): any
// byte stream, fed in pieces whose sizes the input's first byte chooses,
// either yields well-formed events or stops with a close code from RFC
// 6455's set, and never reads outside what it was given.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/net/ws_frame_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  ddp::net_internal::WsFrameReader reader(1 << 16);
  size_t events = 0;
  for (size_t at = 0; at < bytes.size(); at += step) {
    ddp::net_internal::WsError e =
        reader.Feed(bytes.substr(at, step), [&](const ddp::net_internal::WsEvent& ev) {
          ++events;
          if (ev.payload.size() > (1 << 16)) std::abort();  // beyond the limit
        });
    if (e.code != 0) {
      if (e.code != 1002 && e.code != 1007 && e.code != 1009) std::abort();
      if (e.reason.empty()) std::abort();
      break;
    }
  }
  if (events > bytes.size()) std::abort();  // every event takes two bytes at least
  return 0;
}

// libFuzzer target for HTTP request targets (server/net's http_types): a
// path and query string decode without reading outside the input, and a
// parameter's value is a substring-derived decoding.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/net/http_types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ddp::HttpRequest r;
  r.target = std::string(reinterpret_cast<const char*>(data), size);
  std::string_view path = r.Path();
  if (path.size() > r.target.size()) std::abort();
  for (std::string_view name : {"q", "after", "limit", "token", ""}) {
    if (auto v = r.Query(name)) {
      std::string decoded = ddp::UrlDecode(*v);
      if (decoded.size() > v->size()) std::abort();  // decoding never grows
    }
  }
  return 0;
}

// libFuzzer target for the JSON/EJSON codec (protocol): any text parses or
// fails cleanly within the limits; what parses re-encodes to a text that
// parses again and encodes to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ddp::JsonLimits limits;
  limits.max_depth = 32;
  auto v = ddp::ParseJson(text, limits);
  if (!v.ok()) return 0;
  // The encoding is a fixed point: what it writes parses back, to a value
  // that writes the same text.
  std::string once = ddp::ToJson(*v);
  auto again = ddp::ParseJson(once, limits);
  if (!again.ok()) std::abort();
  if (ddp::ToJson(*again) != once) std::abort();
  return 0;
}

// libFuzzer target for access rules (server/access): any --rules text
// parses or fails with a status.
#include <cstdint>
#include <string_view>

#include "server/access/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)ddp::access::Rules::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

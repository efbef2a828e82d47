// libFuzzer target for the DDP decoder: any byte string must decode or fail
// with a top-level reason, and whatever decodes must re-encode to a text
// that decodes to the same encoding.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/ddp_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = ddp::DecodeMessage(text);
  if (!m.ok()) {
    if (ddp::TopLevelReason(m.status()).empty()) std::abort();
    return 0;
  }
  std::string once = ddp::EncodeMessage(*m);
  auto again = ddp::DecodeMessage(std::string_view(once));
  if (!again.ok() || ddp::EncodeMessage(*again) != once) std::abort();
  return 0;
}

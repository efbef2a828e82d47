// libFuzzer target for JWT verification (auth/): any token is refused
// with a status (the key is the fuzzer's secret only by chance), never a
// crash; an HS256 key and a JWKS parsed from the input's tail as well.
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const auto* hs = [] {
    ddp::auth::JwtOptions o;
    o.hs256_secret = "a-fuzzing-secret-of-at-least-32-bytes!!";
    return ddp::auth::JwtVerifier::Create(o)->release();
  }();
  (void)hs->Verify(text, 1700000000);
  // The input as a JWKS document.
  ddp::auth::JwtOptions jwks;
  jwks.jwks_json = std::string(text);
  (void)ddp::auth::JwtVerifier::Create(jwks);
  return 0;
}

// JWTs for tests: HS256, signed here with OpenSSL's HMAC (independently of
// the server's verifier), with the issuer and audience the test servers
// expect.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "common/strings.h"
#include "server/server.h"

namespace ddp::testing {

inline const std::string kSecret = "a-shared-secret-of-more-than-32-bytes!";

inline int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string Jwt(std::string_view claims,
                       std::string_view header = R"({"alg":"HS256","typ":"JWT"})",
                       std::string_view secret = kSecret) {
  std::string u = StrCat(auth::Base64UrlEncode(header), ".", auth::Base64UrlEncode(claims));
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(u.data()), u.size(), mac, &len);
  return StrCat(u, ".", auth::Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len)));
}

inline std::string Claims(std::string_view sub, std::string_view extra = "") {
  return StrCat(R"({"sub":")", sub, R"(","iss":"idp","aud":"app","exp":)", Now() + 600,
                extra.empty() ? "" : ",", extra, "}");
}

// The server side of these tokens: HS256 with kSecret, issuer "idp",
// audience "app".
inline void UseTestJwt(ServerOptions& o) {
  o.jwt.emplace();
  o.jwt->hs256_secret = kSecret;
  o.jwt->issuer = "idp";
  o.jwt->audience = "app";
}

}  // namespace ddp::testing

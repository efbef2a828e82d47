// JwtVerifier: checks the JSON Web Tokens a client logs in with (DDP
// `login` with {jwt}, HTTP `Authorization: Bearer`).
//
// A token is accepted only when it is a compact JWS (RFC 7515) signed with
// one of the configured keys using that key's own algorithm: HS256 with the
// shared secret, RS256 with an RSA public key (2048 bits or more), ES256
// with a P-256 public key, each from a PEM file or a JWKS file (keys chosen
// by `kid`). The algorithm is the key's, never the token's choice: `none`,
// an HS256 token against an RSA key (the classic confusion) and any other
// algorithm are refused. Then the claims: `exp` and `nbf` against the clock
// with a small leeway, `iss` and `aud` when configured, and `sub` (the user
// id) required.
//
// The cryptography is OpenSSL's (libcrypto); this file only takes the
// token apart and puts OpenSSL's keys together. libjwt (Debian 12: 1.10)
// lets the token's header pick the algorithm and has no JWKS, so it would
// need the same checks around it.
//
// Thread-safe after Create (Verify is const and keeps no state).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "protocol/value.h"

namespace ddp::auth {

struct JwtOptions {
  // HS256 shared secret; empty: no HS256. At least 32 bytes.
  std::string hs256_secret;
  // PEM public keys (RSA or P-256 EC), each one "-----BEGIN PUBLIC KEY-----"
  // block. Keys from PEM have no kid.
  std::vector<std::string> public_keys_pem;
  // A JWKS document ({"keys": [...]}, kty RSA or EC/P-256); keys by kid.
  std::string jwks_json;
  // Required `iss` when set.
  std::string issuer;
  // Required among `aud` (a string or an array) when set.
  std::string audience;
  // Clock skew allowed for `exp` and `nbf`. Default: 30 s.
  std::chrono::seconds leeway{30};
};

class JwtVerifier {
 public:
  // InvalidArgument when a key does not parse or nothing is configured.
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> Create(const JwtOptions& options);
  ~JwtVerifier();

  // The token's claims when it is valid at `now_unix_seconds`;
  // Unauthenticated with the reason otherwise.
  absl::StatusOr<Object> Verify(std::string_view token, int64_t now_unix_seconds) const;

  struct Key;

 private:
  JwtVerifier() = default;
  JwtOptions options_;
  std::vector<std::unique_ptr<Key>> keys_;
};

// Standard base64url without padding (RFC 4648 §5), as JWTs use.
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace ddp::auth

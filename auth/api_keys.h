// ApiKeys: keys for programs that call ddpd's HTTP API (`Authorization:
// Bearer <key>`), each with a name and scopes, from a file of lines
//
//   <name> <scope>[,<scope>...] <key>
//
// ("#" starts a comment). Scopes: `read` (GET routes), `write` (POST
// routes). Keys are kept as their SHA-256 and compared in constant time.
// Immutable after Parse; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ddp::auth {

struct ApiKey {
  std::string name;
  bool read = false;
  bool write = false;
};

class ApiKeys {
 public:
  // InvalidArgument naming the line when one is malformed (keys shorter
  // than 24 characters, unknown scopes, duplicate names).
  static absl::StatusOr<ApiKeys> Parse(std::string_view text);
  // The key `bearer` is, if any.
  const ApiKey* Find(std::string_view bearer) const;
  bool empty() const { return keys_.empty(); }

 private:
  std::vector<std::pair<std::string, ApiKey>> keys_;  // SHA-256 of the key, the key
};

// SHA-256 of `text` (32 bytes).
std::string Sha256(std::string_view text);

}  // namespace ddp::auth

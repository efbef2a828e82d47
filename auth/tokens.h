// TokenStore: the resume tokens `login` hands out (Meteor's
// `{resume: token}` logins): random, stored only as their SHA-256,
// expiring, revocable one by one (`logout`) or per user
// (`logoutOtherClients`).
//
// In memory, on one node: a restarted node, or another node of a cluster,
// does not know the tokens; the client then logs in again with its JWT.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/string_map.h"
#include "protocol/value.h"

namespace ddp::auth {

struct Login {
  std::string user_id;
  std::shared_ptr<const Object> claims;  // the JWT's claims ($user in rules)
  int64_t expires_millis = 0;            // unix ms
};

class TokenStore {
 public:
  // At most `max_tokens` live tokens; issuing beyond drops expired ones,
  // then refuses (ResourceExhausted). At most `max_per_user` per user: a
  // user's next login revokes its oldest token, so that one user cannot
  // fill the store for everyone.
  explicit TokenStore(size_t max_tokens = 1000000, size_t max_per_user = 100)
      : max_tokens_(max_tokens), max_per_user_(max_per_user) {}

  // A new token for `login` (its expires_millis says until when).
  absl::StatusOr<std::string> Issue(const Login& login);
  // The login a token stands for; Unauthenticated when unknown, revoked or
  // expired at `now_millis`.
  absl::StatusOr<Login> Resume(std::string_view token, int64_t now_millis);
  // Forgets one token (unknown ones are fine).
  void Revoke(std::string_view token);
  // Forgets every token of `user_id` but `keep` (may be empty); returns
  // the SHA-256 of each (TokenStore::HashOf), for logging out the
  // connections that use them.
  std::vector<std::string> RevokeUser(std::string_view user_id, std::string_view keep);
  // What tokens are kept as.
  static std::string HashOf(std::string_view token) { return Hash(token); }
  size_t size() const;

 private:
  static std::string Hash(std::string_view token);
  void DropExpired(int64_t now_millis);  // mu_ held
  void Erase(const std::string& hash);   // mu_ held

  const size_t max_tokens_;
  const size_t max_per_user_;
  mutable std::mutex mu_;
  StringMap<Login> by_hash_;                    // guarded by mu_
  StringMap<std::vector<std::string>> by_user_;  // user -> hashes, oldest first; guarded by mu_
};

}  // namespace ddp::auth

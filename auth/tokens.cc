#include "auth/tokens.h"

#include <chrono>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "protocol/ids.h"

namespace ddp::auth {
namespace {

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string TokenStore::Hash(std::string_view token) { return Sha256(token); }

void TokenStore::DropExpired(int64_t now_millis) {
  absl::erase_if(by_hash_, [&](const auto& kv) { return kv.second.expires_millis <= now_millis; });
}

absl::StatusOr<std::string> TokenStore::Issue(const Login& login) {
  // 32 bytes from getrandom (protocol/ids.h): as unguessable as a key.
  std::string token = Base64UrlEncode(RandomBytes(32));
  std::lock_guard<std::mutex> lock(mu_);
  if (by_hash_.size() >= max_tokens_) DropExpired(NowMillis());
  if (by_hash_.size() >= max_tokens_) {
    return absl::ResourceExhaustedError("too many login tokens; try again later");
  }
  by_hash_[Hash(token)] = login;
  return token;
}

absl::StatusOr<Login> TokenStore::Resume(std::string_view token, int64_t now_millis) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(Hash(token));
  if (it == by_hash_.end()) return absl::UnauthenticatedError("unknown or revoked login token");
  if (it->second.expires_millis <= now_millis) {
    by_hash_.erase(it);
    return absl::UnauthenticatedError("the login token expired");
  }
  return it->second;
}

void TokenStore::Revoke(std::string_view token) {
  std::lock_guard<std::mutex> lock(mu_);
  by_hash_.erase(Hash(token));
}

void TokenStore::RevokeUser(std::string_view user_id, std::string_view keep) {
  const std::string kept = keep.empty() ? std::string() : Hash(keep);
  std::lock_guard<std::mutex> lock(mu_);
  absl::erase_if(by_hash_, [&](const auto& kv) {
    return kv.second.user_id == user_id && (kept.empty() || kv.first != kept);
  });
}

size_t TokenStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.size();
}

}  // namespace ddp::auth

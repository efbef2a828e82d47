#include "auth/tokens.h"

#include <chrono>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "common/clock.h"
#include "protocol/ids.h"

namespace ddp::auth {
std::string TokenStore::Hash(std::string_view token) { return Sha256(token); }

void TokenStore::Erase(const std::string& hash) {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return;
  if (auto user = by_user_.find(it->second.user_id); user != by_user_.end()) {
    std::erase(user->second, hash);
    if (user->second.empty()) by_user_.erase(user);
  }
  by_hash_.erase(it);
}

void TokenStore::DropExpired(int64_t now_millis) {
  std::vector<std::string> expired;
  for (const auto& [hash, login] : by_hash_) {
    if (login.expires_millis <= now_millis) expired.push_back(hash);
  }
  for (const std::string& hash : expired) Erase(hash);
}

absl::StatusOr<std::string> TokenStore::Issue(const Login& login) {
  // 32 bytes from getrandom (protocol/ids.h): as unguessable as a key.
  std::string token = Base64UrlEncode(RandomBytes(32));
  std::string hash = Hash(token);
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string>& mine = by_user_[login.user_id];
  if (!mine.empty() && mine.size() >= max_per_user_) {
    const std::string oldest = mine.front();
    Erase(oldest);
  }
  if (by_hash_.size() >= max_tokens_) DropExpired(UnixMillis());
  if (by_hash_.size() >= max_tokens_) {
    if (by_user_[login.user_id].empty()) by_user_.erase(login.user_id);
    return absl::ResourceExhaustedError("too many login tokens; try again later");
  }
  by_user_[login.user_id].push_back(hash);
  by_hash_[std::move(hash)] = login;
  return token;
}

absl::StatusOr<Login> TokenStore::Resume(std::string_view token, int64_t now_millis) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(Hash(token));
  if (it == by_hash_.end()) return absl::UnauthenticatedError("unknown or revoked login token");
  if (it->second.expires_millis <= now_millis) {
    Erase(std::string(it->first));
    return absl::UnauthenticatedError("the login token expired");
  }
  return it->second;
}

void TokenStore::Revoke(std::string_view token) {
  std::lock_guard<std::mutex> lock(mu_);
  Erase(Hash(token));
}

std::vector<std::string> TokenStore::RevokeUser(std::string_view user_id, std::string_view keep) {
  const std::string kept = keep.empty() ? std::string() : Hash(keep);
  std::vector<std::string> revoked;
  std::lock_guard<std::mutex> lock(mu_);
  auto user = by_user_.find(user_id);
  if (user == by_user_.end()) return revoked;
  std::vector<std::string> hashes = user->second;  // Erase edits the list
  for (const std::string& hash : hashes) {
    if (hash == kept) continue;
    Erase(hash);
    revoked.push_back(hash);
  }
  return revoked;
}

size_t TokenStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.size();
}

}  // namespace ddp::auth

#include "server/api/auth_api.h"

#include <mutex>

#include "common/clock.h"
#include "common/string_map.h"
#include "common/strings.h"
#include "common/token_bucket.h"
#include "protocol/ddp_error.h"
#include "server/ddp/session.h"

namespace ddp {
namespace {

absl::Status Forbidden(std::string_view why) {
  return absl::PermissionDeniedError(StrCat("Login forbidden: ", why));
}

// Failed logins per address (AuthApiOptions::login_failure_rate).
class LoginGuard {
 public:
  LoginGuard(double rate, double burst) : rate_(rate), burst_(std::max(burst, 1.0)) {}
  // The wait before `ip` may try again; zero when it may now.
  Duration Wait(const std::string& ip) {
    if (rate_ <= 0) return Duration::zero();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = buckets_.find(ip);
    return it == buckets_.end() ? Duration::zero() : it->second.TimeToNext(rate_, SteadyClock::now());
  }
  void Failed(const std::string& ip) {
    if (rate_ <= 0) return;
    const SteadyTime now = SteadyClock::now();
    std::lock_guard<std::mutex> lock(mu_);
    // Bounded: a flood from very many addresses forgets the old ones.
    if (buckets_.size() >= 100000) buckets_.clear();
    auto [it, fresh] = buckets_.try_emplace(ip, burst_, now);
    it->second.TryTake(rate_, burst_, now);
  }

 private:
  const double rate_, burst_;
  std::mutex mu_;
  StringMap<TokenBucket> buckets_;
};

// The connections logged in with each resume token (by its hash), so that
// revoking a token logs them out, as Meteor does.
class LoggedIn {
 public:
  void Add(const std::string& token, SessionHandle session) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& list = by_hash_[auth::TokenStore::HashOf(token)];
    std::erase_if(list, [](const auto& e) { return e.first.expired(); });
    list.emplace_back(std::move(session), token);
    // Sessions that ended leave entries behind: swept whenever the map
    // doubled since the last sweep.
    if (by_hash_.size() >= 2 * swept_at_) {
      absl::erase_if(by_hash_, [](auto& kv) {
        std::erase_if(kv.second, [](const auto& e) { return e.first.expired(); });
        return kv.second.empty();
      });
      swept_at_ = std::max<size_t>(by_hash_.size(), 1024);
    }
  }
  void LogOut(const std::vector<std::string>& hashes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& hash : hashes) {
      auto it = by_hash_.find(hash);
      if (it == by_hash_.end()) continue;
      for (const auto& [session, token] : it->second) session.LogOutIfToken(token);
      by_hash_.erase(it);
    }
  }

 private:
  std::mutex mu_;
  StringMap<std::vector<std::pair<SessionHandle, std::string>>> by_hash_;
  size_t swept_at_ = 1024;
};

// "ip:port" -> "ip".
std::string IpOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

Value LoginResult(const auth::Login& login, const std::string& token, std::string_view type) {
  Object out;
  out.Append("id", Value(login.user_id));
  out.Append("token", Value(token));
  out.Append("tokenExpires", Value(Date{login.expires_millis}));
  out.Append("type", Value(std::string(type)));
  return Value(std::move(out));
}

// The connection becomes `login`'s user, with `token` as its resume token.
void SetUser(const MethodReply& reply, const auth::Login& login, const std::string& token,
             LoggedIn& logged_in) {
  logged_in.Add(token, reply.session());
  auto user = std::make_shared<UserIdentity>();
  user->id = login.user_id;
  if (login.claims) user->claims = *login.claims;
  user->login_token = token;
  user->expires_millis = login.expires_millis;
  reply.SetUser(std::move(user));
}

}  // namespace

void RegisterAuthApi(Registry& registry, std::shared_ptr<const auth::JwtVerifier> jwt,
                     std::shared_ptr<auth::TokenStore> tokens, AuthApiOptions options) {
  auto guard = std::make_shared<LoginGuard>(options.login_failure_rate,
                                            options.login_failure_burst);
  auto logged_in = std::make_shared<LoggedIn>();
  (void)registry.AddMethod("login", [jwt, tokens, options, guard, logged_in](MethodCall call,
                                                                             MethodReply reply) {
    const std::string ip = IpOf(call.connection.remote_address);
    if (Duration wait = guard->Wait(ip); wait > Duration::zero()) {
      reply(RateLimitedError(std::max<int64_t>(
          1, std::chrono::ceil<std::chrono::milliseconds>(wait).count())));
      return;
    }
    // Every refusal below counts against the address.
    auto refuse = [&](absl::Status status) {
      guard->Failed(ip);
      reply(std::move(status));
    };
    if (call.params.size() != 1 || !call.params[0].is_object()) {
      refuse(absl::InvalidArgumentError("Unrecognized options for login request"));
      return;
    }
    const Value& req = call.params[0];
    const int64_t now = UnixMillis();
    if (const Value* token = req.Find("jwt"); token != nullptr && token->is_string()) {
      if (jwt == nullptr) {
        refuse(absl::InvalidArgumentError("this server does not take JWT logins"));
        return;
      }
      absl::StatusOr<Object> claims = jwt->Verify(token->as_string(), now / 1000);
      if (!claims.ok()) {
        refuse(Forbidden(ToStd(claims.status().message())));
        return;
      }
      auth::Login login;
      login.user_id = claims->Find("sub")->as_string();
      login.expires_millis = now + options.token_ttl.count();
      if (const Value* exp = claims->Find("exp"); exp != nullptr && exp->is_number()) {
        // Compared as doubles: a huge exp must not overflow.
        const double exp_millis = exp->ToDouble() * 1000;
        if (exp_millis < static_cast<double>(login.expires_millis)) {
          login.expires_millis = static_cast<int64_t>(exp_millis);
        }
      }
      login.claims = std::make_shared<const Object>(std::move(*claims));
      absl::StatusOr<std::string> issued = tokens->Issue(login);
      if (!issued.ok()) {
        reply(issued.status());
        return;
      }
      SetUser(reply, login, *issued, *logged_in);
      reply(std::optional<Value>(LoginResult(login, *issued, "jwt")));
      return;
    }
    if (const Value* token = req.Find("resume"); token != nullptr && token->is_string()) {
      absl::StatusOr<auth::Login> login = tokens->Resume(token->as_string(), now);
      if (!login.ok()) {
        // Meteor's words for a token the server no longer knows.
        refuse(absl::PermissionDeniedError(
            "You've been logged out by the server. Please log in again."));
        return;
      }
      SetUser(reply, *login, token->as_string(), *logged_in);
      reply(std::optional<Value>(LoginResult(*login, token->as_string(), "resume")));
      return;
    }
    refuse(absl::InvalidArgumentError("Unrecognized options for login request"));
  });
  (void)registry.AddMethod("logout", [tokens, logged_in](MethodCall call, MethodReply reply) {
    reply.SetUser(nullptr);
    if (call.connection.user != nullptr && !call.connection.user->login_token.empty()) {
      const std::string& token = call.connection.user->login_token;
      tokens->Revoke(token);
      // Every other connection logged in with this token is logged out too.
      logged_in->LogOut({auth::TokenStore::HashOf(token)});
    }
    reply(std::optional<Value>());
  });
  // Every other resume token of the user goes, and the connections that
  // use them are logged out. removeOtherTokens is Meteor's newer name.
  auto others_out = [tokens, logged_in](std::string not_logged_in) {
    return [tokens, logged_in, not_logged_in](MethodCall call, MethodReply reply) {
      if (call.connection.user == nullptr) {
        reply(absl::UnauthenticatedError(not_logged_in));
        return;
      }
      logged_in->LogOut(
          tokens->RevokeUser(call.connection.user->id, call.connection.user->login_token));
      reply(std::optional<Value>());
    };
  };
  (void)registry.AddMethod("logoutOtherClients", others_out("not logged in"));
  (void)registry.AddMethod("removeOtherTokens", others_out("You are not logged in."));
  // A fresh resume token for this connection's login, expiring when its
  // current one does (Meteor's getNewToken); the current one stays valid.
  (void)registry.AddMethod("getNewToken", [tokens, logged_in](MethodCall call, MethodReply reply) {
    const UserIdentity* user = call.connection.user.get();
    if (user == nullptr) {
      reply(absl::UnauthenticatedError("You are not logged in."));
      return;
    }
    absl::StatusOr<auth::Login> current = tokens->Resume(user->login_token, UnixMillis());
    if (!current.ok()) {
      reply(absl::PermissionDeniedError("You've been logged out by the server. Please log in again."));
      return;
    }
    absl::StatusOr<std::string> issued = tokens->Issue(*current);
    if (!issued.ok()) {
      reply(issued.status());
      return;
    }
    SetUser(reply, *current, *issued, *logged_in);
    reply(std::optional<Value>(LoginResult(*current, *issued, "resume")));
  });
}

}  // namespace ddp

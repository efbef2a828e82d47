#include "server/api/auth_api.h"

#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "server/ddp/session.h"

namespace ddp {
namespace {

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Forbidden(std::string_view why) {
  return absl::PermissionDeniedError(StrCat("Login forbidden: ", why));
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
void SetUser(const MethodReply& reply, const auth::Login& login, const std::string& token) {
  auto user = std::make_shared<UserIdentity>();
  user->id = login.user_id;
  if (login.claims) user->claims = *login.claims;
  user->login_token = token;
  reply.SetUser(std::move(user));
}

}  // namespace

void RegisterAuthApi(Registry& registry, std::shared_ptr<const auth::JwtVerifier> jwt,
                     std::shared_ptr<auth::TokenStore> tokens, AuthApiOptions options) {
  (void)registry.AddMethod("login", [jwt, tokens, options](MethodCall call, MethodReply reply) {
    if (call.params.size() != 1 || !call.params[0].is_object()) {
      reply(absl::InvalidArgumentError("Unrecognized options for login request"));
      return;
    }
    const Value& req = call.params[0];
    const int64_t now = NowMillis();
    if (const Value* token = req.Find("jwt"); token != nullptr && token->is_string()) {
      if (jwt == nullptr) {
        reply(absl::InvalidArgumentError("this server does not take JWT logins"));
        return;
      }
      absl::StatusOr<Object> claims = jwt->Verify(token->as_string(), now / 1000);
      if (!claims.ok()) {
        reply(Forbidden(ToStd(claims.status().message())));
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
      SetUser(reply, login, *issued);
      reply(std::optional<Value>(LoginResult(login, *issued, "jwt")));
      return;
    }
    if (const Value* token = req.Find("resume"); token != nullptr && token->is_string()) {
      absl::StatusOr<auth::Login> login = tokens->Resume(token->as_string(), now);
      if (!login.ok()) {
        // Meteor's words for a token the server no longer knows.
        reply(absl::PermissionDeniedError(
            "You've been logged out by the server. Please log in again."));
        return;
      }
      SetUser(reply, *login, token->as_string());
      reply(std::optional<Value>(LoginResult(*login, token->as_string(), "resume")));
      return;
    }
    reply(absl::InvalidArgumentError("Unrecognized options for login request"));
  });
  (void)registry.AddMethod("logout", [tokens](MethodCall call, MethodReply reply) {
    if (call.connection.user != nullptr && !call.connection.user->login_token.empty()) {
      tokens->Revoke(call.connection.user->login_token);
    }
    reply.SetUser(nullptr);
    reply(std::optional<Value>());
  });
  (void)registry.AddMethod("logoutOtherClients", [tokens](MethodCall call, MethodReply reply) {
    if (call.connection.user == nullptr) {
      reply(absl::UnauthenticatedError("not logged in"));
      return;
    }
    tokens->RevokeUser(call.connection.user->id, call.connection.user->login_token);
    reply(std::optional<Value>());
  });
}

}  // namespace ddp

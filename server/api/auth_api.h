// The DDP face of auth/: Meteor's login methods.
//
//   login [{jwt: "<token>"}]    -> {id, token, tokenExpires, type: "jwt"}
//   login [{resume: "<token>"}] -> {id, token, tokenExpires, type: "resume"}
//   logout []                   -> the connection is anonymous again, its
//                                  resume token revoked (and every other
//                                  connection that logged in with it is
//                                  logged out)
//   logoutOtherClients []       -> every other resume token of the user
//                                  revoked, the connections logged in with
//                                  them logged out (their subscriptions run
//                                  again as anonymous)
//
// A successful login or logout changes the connection's identity before its
// `result`: the session's subscriptions run again as the new user and the
// client gets only the difference (MethodReply::SetUser). A refused login
// gets 403 with the reason ("invalid token: expired", ...), an unknown
// login form 400.
#pragma once

#include <chrono>
#include <memory>

#include "auth/jwt.h"
#include "auth/tokens.h"
#include "server/ddp/registry.h"

namespace ddp {

struct AuthApiOptions {
  // How long a resume token lives, at most: a JWT's own `exp` ends it
  // earlier. Default: 90 days (Meteor's loginExpirationInDays).
  std::chrono::milliseconds token_ttl = std::chrono::hours(24 * 90);
  // Failed logins from one IP address, as a token bucket: a second, and
  // at once. Past them every login from that address gets Meteor's
  // too-many-requests (details.timeToReset) until a token is back, valid
  // or not: guessing is slowed, and a flood of bad tokens costs little
  // signature checking. Successful logins cost nothing, so the clients
  // behind one NAT that log in again after a restart are not held up.
  // Zero rate: no limit. Defaults: 1/s, 10 at once.
  double login_failure_rate = 1;
  double login_failure_burst = 10;
};

// `jwt` may be null (no JWT configured: `login` with a JWT gets 400).
void RegisterAuthApi(Registry& registry, std::shared_ptr<const auth::JwtVerifier> jwt,
                     std::shared_ptr<auth::TokenStore> tokens, AuthApiOptions options = {});

}  // namespace ddp

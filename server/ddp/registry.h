// Registry: the publications and methods a DDP server offers, registered
// through the C++ API (Meteor's low-level `Meteor.publish` and
// `Meteor.methods`).
//
// Build it before the server starts; afterwards it is read concurrently by
// every session without locks, so it must not change (the server holds it
// as shared_ptr<const Registry>).
//
// Handlers run on the calling session's strand. They must not block: a
// method whose work takes time replies later through its MethodReply (from
// any thread); a publication keeps its Subscription and calls it from
// anywhere.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/string_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/value.h"

namespace ddp {

class Subscription;
class MethodReply;

// Who a logged-in client is (set by a method through MethodReply::SetUser,
// as Meteor's this.setUserId).
struct UserIdentity {
  std::string id;
  Object claims;            // e.g. the JWT's claims: `$user` in access rules
  std::string login_token;  // the resume token this connection logged in with
  // When the login ends by itself (unix ms; 0: never): the session is then
  // anonymous again, as Meteor logs out expired tokens.
  int64_t expires_millis = 0;
};

// Who is on the other end of a session.
struct ConnectionInfo {
  std::string session_id;      // the DDP session id sent in `connected`
  std::string remote_address;  // "ip:port"
  std::string user_id;         // empty while anonymous
  std::shared_ptr<const UserIdentity> user;  // null while anonymous
};

struct MethodCall {
  std::string name;
  Array params;
  std::string id;
  std::optional<std::string> random_seed;
  ConnectionInfo connection;
};

// The outcome of a method: a value, no value (`result` omitted, like a
// JavaScript method returning undefined), or an error (see DdpErrorFromStatus
// for how a Status reaches the client).
using MethodResult = absl::StatusOr<std::optional<Value>>;

// Starts a subscription. Call sub->Added/Changed/Removed, then sub->Ready();
// or sub->Error(status). Keep the shared_ptr to publish later changes.
using PublicationHandler = std::function<void(std::shared_ptr<Subscription> sub)>;

// Runs a method. Reply exactly once, now or later, from any thread.
using MethodHandler = std::function<void(MethodCall call, MethodReply reply)>;

// A synchronous method: runs on the session's strand and returns at once.
using SyncMethodHandler = std::function<MethodResult(const MethodCall& call)>;

class Registry {
 public:
  // AlreadyExists when the name is taken.
  absl::Status AddPublication(std::string name, PublicationHandler handler);
  // A publication every session starts when it connects (no sub id, no
  // `ready`, no `nosub`).
  void AddUniversalPublication(PublicationHandler handler);
  absl::Status AddMethod(std::string name, MethodHandler handler);
  absl::Status AddSyncMethod(std::string name, SyncMethodHandler handler);

  // Consulted for names that were not registered (topics, `/<topic>/insert`
  // and the like). Return nullptr for "unknown".
  using PublicationResolver = std::function<const PublicationHandler*(std::string_view name)>;
  using MethodResolver = std::function<const MethodHandler*(std::string_view name)>;
  void SetPublicationResolver(PublicationResolver resolver);
  void SetMethodResolver(MethodResolver resolver);

  // nullptr when unknown.
  const PublicationHandler* FindPublication(std::string_view name) const;
  const MethodHandler* FindMethod(std::string_view name) const;
  const std::vector<PublicationHandler>& universal_publications() const { return universal_; }

 private:
  StringMap<PublicationHandler> publications_;
  StringMap<MethodHandler> methods_;
  std::vector<PublicationHandler> universal_;
  PublicationResolver publication_resolver_;
  MethodResolver method_resolver_;
};

}  // namespace ddp

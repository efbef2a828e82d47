// `sub`: start a publication. A sub id that is already live is ignored
// (Meteor); an unknown name gets `nosub` with a 404 error; beyond the
// connection's subscription rate or count, `nosub` with `too-many-requests`.
#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "server/ddp/handlers/handlers.h"

namespace ddp {

void SessionHandlers::Sub(Session& s, SubMsg msg) {
  if (s.subs_.contains(msg.id)) return;
  std::optional<Value> refused =
      s.RateLimited(s.sub_bucket_, s.options_.sub_rate, s.options_.sub_burst,
                    UserRateLimits::Kind::kSub);
  if (!refused && !s.options_.allow_anonymous && s.connection_.user == nullptr) {
    refused = MakeDdpError(401, "login required").ToValue();
  }
  if (!refused && s.options_.max_subscriptions > 0 &&
      s.subs_.size() >= s.options_.max_subscriptions) {
    refused = MakeDdpError("too-many-requests", 429,
                           StrCat("too many subscriptions on one connection (at most ",
                                  s.options_.max_subscriptions, ")"))
                  .ToValue();
  }
  if (refused) {
    std::string id = msg.id;
    s.SendMessage(NosubMsg{std::move(msg.id), std::move(refused)});
    s.MaybeFinishResume(id);
    return;
  }
  const PublicationHandler* handler = s.registry_->FindPublication(msg.name);
  if (handler == nullptr) {
    DdpError e = MakeDdpError(404, StrCat("Subscription '", msg.name, "' not found"));
    std::string id = msg.id;
    s.SendMessage(NosubMsg{std::move(msg.id), e.ToValue()});
    s.MaybeFinishResume(id);
    return;
  }
  s.StartSubscription(*handler, std::move(msg.id), std::move(msg.name), std::move(msg.params));
}

}  // namespace ddp

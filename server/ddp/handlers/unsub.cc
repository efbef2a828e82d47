// `unsub`: stop a subscription and retract its documents. The client always
// gets `nosub`, also for ids it never subscribed (Meteor).
#include "server/ddp/handlers/handlers.h"

namespace ddp {

void SessionHandlers::Unsub(Session& s, UnsubMsg msg) {
  auto it = s.subs_.find(msg.id);
  if (it == s.subs_.end()) {
    std::string id = msg.id;
    s.SendMessage(NosubMsg{std::move(msg.id), std::nullopt});
    s.MaybeFinishResume(id);
    return;
  }
  std::shared_ptr<Subscription> sub = it->second;
  s.StopSubscription(sub, /*notify=*/true, std::nullopt);
}

}  // namespace ddp

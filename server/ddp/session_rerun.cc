// A session's identity changing (login, logout): every subscription runs
// again as the new user and the client gets the difference (rerun.h).
#include "server/ddp/session.h"

#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "spdlog/spdlog.h"

namespace ddp {

void Session::SetUser(std::shared_ptr<const UserIdentity> user) {
  if (state_ == State::kClosed) return;
  const UserIdentity* before = connection_.user.get();
  const bool same = (user == nullptr && before == nullptr) ||
                    (user != nullptr && before != nullptr && user->id == before->id &&
                     Value(user->claims) == Value(before->claims));
  connection_.user_id = user != nullptr ? user->id : "";
  login_expires_.reset();
  if (user != nullptr && user->expires_millis > 0) {
    const int64_t now_ms = UnixMillis();
    login_expires_ = SteadyClock::now() + std::chrono::milliseconds(
                                              std::max<int64_t>(0, user->expires_millis - now_ms));
  }
  connection_.user = std::move(user);
  if (same) return;  // the same identity sees the same data
  RerunAll();
}

void Session::RerunSubscriptions() {
  if (state_ == State::kClosed) return;
  RerunAll();
}

void Session::RerunAll() {
  // Meteor's _setUserId: every subscription runs again as the new user,
  // and the client gets the difference from what it holds.
  struct Named {
    std::string id, name;
    Array params;
  };
  std::vector<Named> named;
  std::vector<std::string> awaited, ready_before;
  for (const auto& [id, sub] : subs_) {
    named.push_back({id, sub->name(), sub->params()});
    awaited.push_back(id);
    if (sub->ready_sent_) ready_before.push_back(id);
  }
  rerun_.Start([this](const auto& record) { merge_box_.ForEachDocument(record); },
               std::move(awaited), std::move(ready_before));
  rerun_deadline_ = SteadyClock::now() + options_.resume_deadline;
  silent_ = true;
  StopAllSubscriptions();
  silent_ = false;
  // Logged out where anonymous clients are not served: every subscription
  // ends (nosub 401) and what the client held is retracted.
  const bool refused = !options_.allow_anonymous && connection_.user == nullptr;
  if (!refused) {
    for (const PublicationHandler& handler : registry_->universal_publications()) {
      StartSubscription(handler, /*id=*/"", /*name=*/"", Array());
    }
  }
  for (Named& n : named) {
    if (refused) {
      SendMessage(NosubMsg{n.id, MakeDdpError(401, "login required").ToValue()});
      MaybeFinishRerun(n.id);
      continue;
    }
    const PublicationHandler* handler = registry_->FindPublication(n.name);
    if (handler == nullptr) {
      DdpError e = MakeDdpError(404, StrCat("Subscription '", n.name, "' not found"));
      SendMessage(NosubMsg{n.id, e.ToValue()});
      MaybeFinishRerun(n.id);
      continue;
    }
    StartSubscription(*handler, std::move(n.id), std::move(n.name), std::move(n.params));
  }
  if (subs_.empty()) MaybeFinishRerun("");
}

void Session::MaybeFinishRerun(std::string_view settled_sub, bool force) {
  if (!rerun_.active() || state_ == State::kClosed) return;
  if (!rerun_.Settled(settled_sub) && !force) return;
  rerun_.RetractRest(
      [&](std::string_view collection, std::string_view id) { Send(EncodeRemoved(collection, id)); });
}

}  // namespace ddp

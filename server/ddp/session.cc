#include "server/ddp/session.h"

#include <exception>

#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "server/ddp/handlers/handlers.h"
#include "spdlog/spdlog.h"

namespace ddp {
namespace {

// The message as the client sent it, for `offendingMessage` in the rare
// error paths that need it after decoding.
std::optional<Value> Echo(const Message& m) {
  absl::StatusOr<Value> v = ParseJson(EncodeMessage(m));
  if (!v.ok()) return std::nullopt;
  return std::move(*v);
}

}  // namespace

// ---------------------------------------------------------------- Session

Session::Session(SessionOptions options, std::shared_ptr<const Registry> registry,
                 std::shared_ptr<Executor> strand, Transport* transport,
                 ConnectionInfo connection, SteadyTime now,
                 std::shared_ptr<SessionDirectory> directory)
    : options_(std::move(options)),
      registry_(std::move(registry)),
      strand_(std::move(strand)),
      transport_(transport),
      connection_(std::move(connection)),
      directory_(std::move(directory)),
      opened_at_(now),
      last_input_(now) {}

Session::~Session() = default;

void Session::OnMessage(std::string_view text, SteadyTime now) {
  if (state_ == State::kClosed) return;
  last_input_ = now;
  ping_sent_at_.reset();  // any input counts as a pong
  if (resume_.active() && now >= resume_deadline_) MaybeFinishResume("", /*force=*/true);
  if (rerun_.active() && now >= rerun_deadline_) MaybeFinishRerun("", /*force=*/true);

  Pending item;
  absl::StatusOr<Value> parsed = ParseJson(text, options_.json_limits);
  if (!parsed.ok()) {
    item = TopLevelError{std::string(kParseError), std::nullopt};
  } else {
    absl::StatusOr<Message> decoded = DecodeMessage(*parsed);
    if (decoded.ok()) {
      // Meteor answers pings at once, ahead of queued messages.
      if (auto* ping = std::get_if<PingMsg>(&*decoded);
          ping != nullptr && state_ == State::kConnected && version_ != "pre1") {
        SessionHandlers::Ping(*this, std::move(*ping));
        return;
      }
      item = std::move(*decoded);
    } else {
      item = TopLevelError{TopLevelReason(decoded.status()), std::move(*parsed)};
    }
  }
  pending_.push_back(std::move(item));
  Drain();
  if (!reading_paused_ && pending_.size() >= options_.max_pending_messages) {
    reading_paused_ = true;
    if (transport_ != nullptr) transport_->PauseReading();
  }
}

void Session::Drain() {
  if (draining_) return;  // a handler that completed inline: the outer loop continues
  draining_ = true;
  while (blocker_ == 0 && !pending_.empty() && state_ != State::kClosed) {
    Pending item = std::move(pending_.front());
    pending_.pop_front();
    Dispatch(std::move(item));
  }
  draining_ = false;
  if (reading_paused_ && pending_.size() < options_.max_pending_messages / 2 &&
      state_ != State::kClosed) {
    reading_paused_ = false;
    if (transport_ != nullptr) transport_->ResumeReading();
  }
}

void Session::Unblock(uint64_t call_seq) {
  if (blocker_ != call_seq || call_seq == 0) return;
  blocker_ = 0;
  Drain();
}

void Session::Dispatch(Pending item) {
  if (auto* error = std::get_if<TopLevelError>(&item)) {
    SendError(error->reason, std::move(error->offending));
    return;
  }
  Message& m = std::get<Message>(item);
  if (auto* connect = std::get_if<ConnectMsg>(&m)) {
    SessionHandlers::Connect(*this, std::move(*connect));
    return;
  }
  if (std::holds_alternative<DisconnectMsg>(m)) {
    SessionHandlers::Disconnect(*this);
    return;
  }
  if (state_ != State::kConnected) {
    SendError(kMustConnectFirst, Echo(m));
    return;
  }
  std::visit(
      [this, &m](auto&& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, SubMsg>) {
          SessionHandlers::Sub(*this, std::move(msg));
        } else if constexpr (std::is_same_v<T, UnsubMsg>) {
          SessionHandlers::Unsub(*this, std::move(msg));
        } else if constexpr (std::is_same_v<T, MethodMsg>) {
          SessionHandlers::Method(*this, std::move(msg));
        } else if constexpr (std::is_same_v<T, PingMsg>) {
          SessionHandlers::Ping(*this, std::move(msg));  // pre1 sessions
        } else if constexpr (std::is_same_v<T, PongMsg>) {
          // Counts as input; nothing else to do.
        } else {
          // A server-to-client message sent by the client.
          SendError(kBadRequest, Echo(m));
        }
      },
      m);
}

SteadyTime Session::NextDeadline() const {
  const SteadyTime heartbeat = HeartbeatDeadline();
  if (login_expires_ && *login_expires_ < heartbeat && state_ == State::kConnected) {
    return *login_expires_;
  }
  return heartbeat;
}

SteadyTime Session::HeartbeatDeadline() const {
  constexpr auto kNever = std::chrono::hours(24 * 365);
  switch (state_) {
    case State::kClosed:
      return last_input_ + kNever;
    case State::kAwaitingConnect:
      return opened_at_ + options_.connect_timeout;
    case State::kConnected:
      break;
  }
  // No heartbeats in pre1, nor when the interval is zero, nor while parked
  // (nobody to ping).
  if (version_ == "pre1" || options_.heartbeat_interval <= Duration::zero() || parked_) {
    return last_input_ + kNever;
  }
  if (ping_sent_at_) return *ping_sent_at_ + options_.heartbeat_timeout;
  return last_input_ + options_.heartbeat_interval;
}

SteadyTime Session::OnTimer(SteadyTime now) {
  if (resume_.active() && now >= resume_deadline_) MaybeFinishResume("", /*force=*/true);
  if (rerun_.active() && now >= rerun_deadline_) MaybeFinishRerun("", /*force=*/true);
  if (login_expires_ && now >= *login_expires_ && state_ == State::kConnected) {
    spdlog::debug("session {}: login of {} expired", session_id(), connection_.user_id);
    SetUser(nullptr);
  }
  if (now < HeartbeatDeadline()) return NextDeadline();
  switch (state_) {
    case State::kClosed:
      break;
    case State::kAwaitingConnect:
      CloseConnection(kCloseConnectTimeout, "no DDP connect message in time");
      break;
    case State::kConnected:
      if (ping_sent_at_) {
        CloseConnection(kCloseHeartbeatTimeout, "heartbeat timeout");
      } else {
        SendMessage(PingMsg{});
        ping_sent_at_ = now;
      }
      break;
  }
  return NextDeadline();
}

void Session::OnClosed() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  pending_.clear();
  StopAllSubscriptions();
  transport_ = nullptr;
  parked_ = false;
  held_.clear();
}

void Session::Emit(std::shared_ptr<const std::string> frame, bool counted) {
  if (state_ == State::kClosed) return;
  if (parked_) {
    // Pings and pongs are for a connection, not a session.
    if (counted) Hold(std::move(frame));
    return;
  }
  if (transport_ == nullptr) return;
  if (counted) ++sent_;
  transport_->Send(std::move(frame));
}

std::optional<Value> Session::RateLimited(std::optional<TokenBucket>& bucket, double rate,
                                          double burst, UserRateLimits::Kind kind) {
  const bool per_user = options_.user_limits != nullptr && connection_.user != nullptr;
  if (rate <= 0 && !per_user) return std::nullopt;
  const SteadyTime now = SteadyClock::now();
  auto refused = [](Duration wait) {
    const int64_t wait_ms =
        std::max<int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    return DdpErrorFromStatus(RateLimitedError(wait_ms)).ToValue();
  };
  if (rate > 0) {
    if (!bucket) bucket.emplace(std::max(burst, 1.0), now);
    if (!bucket->TryTake(rate, std::max(burst, 1.0), now)) return refused(bucket->TimeToNext(rate, now));
  }
  if (per_user) {
    const Duration wait = options_.user_limits->Take(connection_.user->id, kind, now);
    if (wait > Duration::zero()) return refused(wait);
  }
  return std::nullopt;
}

void Session::Send(std::string frame) {
  Emit(std::make_shared<const std::string>(std::move(frame)), /*counted=*/true);
}

void Session::SendMessage(const Message& m) {
  const bool counted = !std::holds_alternative<PingMsg>(m) && !std::holds_alternative<PongMsg>(m);
  Emit(std::make_shared<const std::string>(EncodeMessage(m)), counted);
}

void Session::SendEncoded(const std::shared_ptr<const std::string>& message) {
  if (state_ == State::kClosed || (transport_ == nullptr && !parked_)) return;
  if (silent_) return;
  if (resume_.active() || rerun_.active()) {
    // Only while a resume or a re-run is being settled: look into the
    // message.
    absl::StatusOr<Message> m = DecodeMessage(std::string_view(*message));
    if (m.ok()) {
      if (const auto* a = std::get_if<AddedMsg>(&*m)) {
        if (!ResumeLetsAddedThrough(a->collection, a->id, a->fields)) return;
      } else if (const auto* b = std::get_if<AddedBeforeMsg>(&*m)) {
        bool held = resume_.active() && resume_.Take(b->collection, b->id);
        held |= rerun_.active() && rerun_.Take(b->collection, b->id);
        if (held) Send(EncodeRemoved(b->collection, b->id));
      }
    }
  }
  Emit(message, /*counted=*/true);
}

bool Session::ResumeLetsAddedThrough(std::string_view collection, std::string_view id,
                                     const Object& fields) {
  if (resume_.active()) {
    bool claimed = false;
    if (resume_.TakeMatching(collection, id, fields, &claimed)) return false;
    // The `added` replaces what the client holds: never cancelled against
    // a later `removed` on the way (conflate.h).
    if (claimed && transport_ != nullptr) transport_->NoteReplacement(collection, id);
  }
  if (rerun_.active()) {
    RerunBaseline::Changed changed;
    if (!rerun_.LetAddedThrough(collection, id, fields, &changed)) {
      if (!changed.fields.empty() || !changed.cleared.empty()) {
        Send(EncodeChanged(collection, id, changed.fields, changed.cleared));
      }
      return false;
    }
  }
  return true;
}

void Session::MaybeFinishResume(std::string_view settled_sub, bool force) {
  if (!resume_.active() || state_ == State::kClosed) return;
  if (!force) {
    if (!resume_subscribed_) return;
    bool none_pending = true;
    for (const auto& [id, sub] : subs_) none_pending &= sub->ready_sent_;
    if (!resume_.Settled(settled_sub, none_pending)) return;
  }
  const int64_t skipped = resume_.skipped(), resent = resume_.resent();
  int64_t removed = 0;
  resume_.RetractRest([&](std::string_view collection, std::string_view id) {
    Send(EncodeRemoved(collection, id));
    ++removed;
  });
  spdlog::debug("session {}: resumed; {} documents not sent again, {} sent, {} removed",
                session_id(), skipped, resent, removed);
}

void Session::SendError(std::string_view reason, std::optional<Value> offending) {
  SendMessage(ErrorMsg{std::string(reason), std::move(offending)});
}

void Session::CloseConnection(uint16_t code, std::string_view reason) {
  if (state_ == State::kClosed) return;
  if (parked_) {
    // Nobody to close; the session ends (unless its client is coming back
    // right now: then the new connection sees what it was sent).
    if (std::optional<SessionDirectory::Parked> me = directory_->Claim(session_id())) {
      Dismiss(std::move(*me));
    } else {
      // A connection claimed it and its Reattach is on the way: close then.
      close_on_reattach_.emplace(code, std::string(reason));
    }
    return;
  }
  if (transport_ == nullptr) return;
  Transport* t = transport_;
  OnClosed();
  t->Close(code, reason);
}

// ---------------------------------------------------------------- subscriptions

void Session::StartSubscription(const PublicationHandler& handler, std::string id,
                                std::string name, Array params) {
  auto sub = std::make_shared<Subscription>(weak_from_this(), strand_, next_handle_++, id,
                                            std::move(name), std::move(params), connection_);
  if (id.empty()) {
    universal_subs_.push_back(sub);
  } else {
    subs_.emplace(std::move(id), sub);
    if (resume_.active()) resume_subscribed_ = true;
  }
  try {
    handler(sub);
  } catch (const std::exception& e) {
    sub->Error(absl::InternalError(StrCat("publication threw: ", e.what())));
  } catch (...) {
    sub->Error(absl::InternalError("publication threw a non-standard exception"));
  }
}

void Session::StopSubscription(const std::shared_ptr<Subscription>& sub, bool notify,
                               std::optional<absl::Status> error) {
  if (sub->stopped_.exchange(true, std::memory_order_acq_rel)) return;
  if (sub->id().empty()) {
    std::erase(universal_subs_, sub);
  } else {
    subs_.erase(sub->id());
  }
  if (state_ != State::kClosed) merge_box_.RemoveSubscription(sub->handle_, *this);
  if (rerun_.active() && !sub->id().empty() && !silent_) rerun_.Forget(sub->id());
  auto callbacks = std::move(sub->on_stop_);
  sub->on_stop_.clear();
  for (auto& fn : callbacks) std::move(fn)();
  if (!notify || sub->id().empty() || state_ == State::kClosed) return;
  std::optional<Value> error_value;
  if (error) {
    if (IsInternalError(*error)) {
      spdlog::error("session {}: subscription {} ('{}') failed: {}", session_id(), sub->id(),
                    sub->name(), ToStd(error->message()));
    }
    error_value = DdpErrorFromStatus(*error).ToValue();
  }
  SendMessage(NosubMsg{sub->id(), std::move(error_value)});
  MaybeFinishResume(sub->id());
  MaybeFinishRerun(sub->id());
}

void Session::StopAllSubscriptions() {
  std::vector<std::shared_ptr<Subscription>> all;
  all.reserve(subs_.size() + universal_subs_.size());
  for (auto& [id, sub] : subs_) all.push_back(sub);
  for (auto& sub : universal_subs_) all.push_back(sub);
  for (auto& sub : all) StopSubscription(sub, /*notify=*/false, std::nullopt);
}

void Session::SendAdded(std::string_view collection, std::string_view id, const Object& fields) {
  if (silent_) return;
  if ((resume_.active() || rerun_.active()) && !ResumeLetsAddedThrough(collection, id, fields)) {
    return;
  }
  Send(EncodeAdded(collection, id, fields));
}

void Session::SendChanged(std::string_view collection, std::string_view id, const Object& fields,
                          const std::vector<std::string>& cleared) {
  if (silent_) return;
  Send(EncodeChanged(collection, id, fields, cleared));
}

void Session::SendRemoved(std::string_view collection, std::string_view id) {
  if (silent_) return;
  Send(EncodeRemoved(collection, id));
}

void Session::SendAddedBefore(std::string_view collection, std::string_view id,
                              const Object& fields, const std::optional<std::string>& before) {
  if (silent_) return;
  bool held = resume_.active() && resume_.Take(collection, id);
  held |= rerun_.active() && rerun_.Take(collection, id);
  if (held) Send(EncodeRemoved(collection, id));
  SendMessage(AddedBeforeMsg{std::string(collection), std::string(id), fields, before});
}

void Session::SendMovedBefore(std::string_view collection, std::string_view id,
                              const std::optional<std::string>& before) {
  if (silent_) return;
  SendMessage(MovedBeforeMsg{std::string(collection), std::string(id), before});
}

}  // namespace ddp

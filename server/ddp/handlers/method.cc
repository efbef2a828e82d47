// `method`: run a registered method; `result`, then `updated`.
//
// A method holds the session's message queue until it replies or unblocks
// (Meteor's default). An unknown method gets `result` with a 404 error and
// `updated`. A handler that throws or fails internally gets 500 "Internal
// server error"; the detail goes to the log only. Beyond the connection's
// rate limit a call is not run: `result` with `too-many-requests`, then
// `updated`.
//
// `updated` follows `result` at once: handlers reply only after the data
// messages their writes cause were queued to this session (the engine calls
// back after fan-out), so `updated` is never ahead of the data.
#include <algorithm>
#include <exception>

#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "server/ddp/handlers/handlers.h"
#include "spdlog/spdlog.h"

namespace ddp {

struct MethodReply::State {
  std::weak_ptr<Session> session;
  std::shared_ptr<Executor> executor;
  std::string id;
  std::string name;
  uint64_t call_seq = 0;  // which call holds the session's queue, if any
  // Where its outcome is counted (null: not counted), kept alive here: a
  // reply may come after the session is gone.
  std::shared_ptr<MethodStats> stats;
  MethodStats::Counters* counted = nullptr;
  std::atomic<bool> done{false};
  std::atomic<bool> unblocked{false};

  void Complete(MethodResult result) {
    if (done.exchange(true)) return;
    if (counted != nullptr) counted->Count(result.status().code());
    auto run = [weak = session, id = id, seq = call_seq, result = std::move(result)]() mutable {
      if (auto s = weak.lock()) SessionHandlers::MethodDone(*s, id, seq, std::move(result));
    };
    if (executor->RunningInThisThread()) {
      run();
    } else {
      executor->Post(std::move(run));
    }
  }

  ~State() {
    if (!done.load()) {
      spdlog::error("method '{}' (id {}) dropped its reply without answering", name, id);
      Complete(absl::InternalError("method handler dropped its reply"));
    }
  }
};

void MethodReply::operator()(MethodResult result) const { state_->Complete(std::move(result)); }

void MethodReply::Unblock() const {
  if (state_->unblocked.exchange(true)) return;
  auto run = [weak = state_->session, seq = state_->call_seq] {
    if (auto s = weak.lock()) s->Unblock(seq);
  };
  if (state_->executor->RunningInThisThread()) {
    run();
  } else {
    state_->executor->Post(std::move(run));
  }
}

void MethodReply::SetUser(std::shared_ptr<const UserIdentity> user) const {
  auto run = [weak = state_->session, user = std::move(user)]() mutable {
    if (auto s = weak.lock()) s->SetUser(std::move(user));
  };
  // Posted before the reply is: the strand runs it first.
  if (state_->executor->RunningInThisThread()) {
    run();
  } else {
    state_->executor->Post(std::move(run));
  }
}

SessionHandle MethodReply::session() const {
  SessionHandle h;
  h.session_ = state_->session;
  h.executor_ = state_->executor;
  return h;
}

void SessionHandle::LogOutIfToken(std::string token) const {
  executor_->Post([weak = session_, token = std::move(token)] {
    auto s = weak.lock();
    if (s == nullptr) return;
    const auto& user = s->connection().user;
    if (user != nullptr && user->login_token == token) s->SetUser(nullptr);
  });
}

void SessionHandlers::Method(Session& s, MethodMsg msg) {
  const MethodHandler* handler = s.registry_->FindMethod(msg.method);
  // Counted under its name only when the method exists (method_stats.h).
  MethodStats::Counters* counted = nullptr;
  if (MethodStats* stats = s.options_.method_stats.get()) {
    if (handler == nullptr) {
      counted = &stats->Unknown();
    } else {
      if (s.counted_ == nullptr || s.counted_method_ != msg.method) {
        s.counted_ = &stats->For(msg.method);
        s.counted_method_ = msg.method;
      }
      counted = s.counted_;
    }
  }
  auto refuse = [&](Value error, absl::StatusCode code) {
    if (counted != nullptr) counted->Count(code);
    s.SendMessage(ResultMsg{msg.id, std::move(error), std::nullopt});
    s.SendMessage(UpdatedMsg{{std::move(msg.id)}});
  };
  if (std::optional<Value> limited =
          s.RateLimited(s.method_bucket_, s.options_.method_rate, s.options_.method_burst,
                        UserRateLimits::Kind::kMethod)) {
    refuse(std::move(*limited), absl::StatusCode::kResourceExhausted);
    return;
  }
  if (!s.options_.allow_anonymous && s.connection_.user == nullptr &&
      std::find(s.options_.anonymous_methods.begin(), s.options_.anonymous_methods.end(),
                msg.method) == s.options_.anonymous_methods.end()) {
    refuse(MakeDdpError(401, "login required").ToValue(), absl::StatusCode::kUnauthenticated);
    return;
  }
  if (handler == nullptr) {
    refuse(MakeDdpError(404, StrCat("Method '", msg.method, "' not found")).ToValue(),
           absl::StatusCode::kNotFound);
    return;
  }
  auto state = std::make_shared<MethodReply::State>();
  state->session = s.weak_from_this();
  state->executor = s.strand_;
  state->id = msg.id;
  state->name = msg.method;
  state->call_seq = ++s.call_seq_;
  state->stats = s.options_.method_stats;
  state->counted = counted;
  s.Block(state->call_seq);
  MethodReply reply(std::move(state));
  MethodCall call{std::move(msg.method), std::move(msg.params), std::move(msg.id),
                  std::move(msg.random_seed), s.connection_};
  try {
    (*handler)(std::move(call), reply);
  } catch (const std::exception& e) {
    reply(absl::InternalError(StrCat("method threw: ", e.what())));
  } catch (...) {
    reply(absl::InternalError("method threw a non-standard exception"));
  }
}

void SessionHandlers::MethodDone(Session& s, const std::string& id, uint64_t call_seq,
                                 MethodResult result) {
  if (s.state_ == Session::State::kClosed) return;
  if (result.ok()) {
    s.SendMessage(ResultMsg{id, std::nullopt, std::move(*result)});
  } else {
    if (IsInternalError(result.status())) {
      spdlog::error("session {}: method id {} failed: {}", s.session_id(), id,
                    ToStd(result.status().message()));
    }
    s.SendMessage(ResultMsg{id, DdpErrorFromStatus(result.status()).ToValue(), std::nullopt});
  }
  s.SendMessage(UpdatedMsg{{id}});
  s.Unblock(call_seq);
}

}  // namespace ddp

// SockJS over XHR: the fallbacks sockjs-client (and so Meteor's browser
// client) takes where WebSocket is blocked. A session outlives the HTTP
// requests that carry it:
//
//   POST .../xhr            a poll: "o\n" for a new session, then the next
//                           frames as soon as there are any ("a[...]\n"),
//                           or "h\n" after kHeartbeat
//   POST .../xhr_streaming  a stream: 2 KiB of "h" (so that browsers hand
//                           the response over as it arrives), "o\n", then
//                           frames as they come, ended after kStreamLimit
//                           bytes (the client opens the next)
//   POST .../xhr_send       the client's messages (a JSON array of strings),
//                           answered 204 once the session has them
//
// One receiving request at a time: a second gets c[2010,...]. A session
// with no receiving request for kDisconnectDelay ends (its DDP session
// with it); a closed one answers c[code,reason] for that long, then is
// forgotten. The DDP session runs on the SockJS session's strand, as a
// WebSocket connection's does, and is closed by server shutdown like one.
#include <deque>

#include "common/strings.h"
#include "server/net/internal.h"
#include "server/sockjs/framing.h"
#include "spdlog/spdlog.h"

namespace ddp::net_internal {
namespace {

constexpr Duration kHeartbeat = std::chrono::seconds(25);
constexpr Duration kDisconnectDelay = std::chrono::seconds(5);
constexpr size_t kStreamLimit = 128 * 1024;

class XhrSession;

}  // namespace

class XhrSessions {
 public:
  std::shared_ptr<XhrSession> Find(std::string_view id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
  }
  // False when the id is taken (a race of two first requests).
  bool Add(std::string id, std::shared_ptr<XhrSession> s) {
    std::lock_guard<std::mutex> lock(mu_);
    return sessions_.emplace(std::move(id), std::move(s)).second;
  }
  // At shutdown, once no I/O thread runs: every session ends now and the
  // table lets go of them (they hold the Shared that holds this table).
  void EndAll();

  void Remove(std::string_view id, const XhrSession* s) {
    std::shared_ptr<XhrSession> gone;  // released outside the lock
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end() && it->second.get() == s) {
      gone = std::move(it->second);
      sessions_.erase(it);
    }
  }

 private:
  std::mutex mu_;
  StringMap<std::shared_ptr<XhrSession>> sessions_;  // guarded by mu_
};

std::shared_ptr<XhrSessions> MakeXhrSessions() { return std::make_shared<XhrSessions>(); }

void Shared::EndXhrSessions() {
  if (xhr_sessions != nullptr) xhr_sessions->EndAll();
}

namespace {

class XhrSession : public Transport,
                   public Closable,
                   public std::enable_shared_from_this<XhrSession> {
 public:
  XhrSession(std::shared_ptr<Shared> shared, std::string id, std::string remote_address,
             std::string ip)
      : shared_(std::move(shared)),
        id_(std::move(id)),
        remote_address_(std::move(remote_address)),
        ip_(std::move(ip)),
        strand_(asio::make_strand(*shared_->ioc)),
        executor_(std::make_shared<StrandExecutor>(strand_, shared_->post_target)),
        session_timer_(strand_),
        heartbeat_timer_(strand_),
        disconnect_timer_(strand_) {}

  ~XhrSession() override {
    executor_->Close();
    shared_->ReleaseIp(ip_);
  }

  // On the strand: the DDP session starts; `receiver` gets "o".
  void Open(std::shared_ptr<XhrReceiver> receiver) {
    registered_ = shared_->Register(&reg_id_, weak_from_this());
    shared_->stats.connections_open++;
    shared_->stats.sessions_total++;
    session_ = std::make_shared<Session>(shared_->options.session, shared_->registry, executor_,
                                         this, ConnectionInfo{"", remote_address_, "", nullptr},
                                         SteadyClock::now(), nullptr);
    pending_frames_ = StrCat(sockjs::kOpenFrame, "\n");
    if (!registered_) {
      Close(kCloseGoingAway, "server shutting down");
    } else {
      ArmSessionTimer(session_->OnTimer(SteadyClock::now()));
    }
    Attach(std::move(receiver));
  }

  // On the strand: a receiving request.
  void Attach(std::shared_ptr<XhrReceiver> receiver) {
    if (receiver_ != nullptr && receiver_->gone()) {
      receiver_->End();
      receiver_.reset();
    }
    if (receiver_ != nullptr) {
      receiver->Write(sockjs::CloseFrame(2010, "Another connection still open") + "\n");
      receiver->End();
      return;
    }
    disconnect_timer_.cancel();
    receiver_ = std::move(receiver);
    FlushToReceiver();
    if (receiver_ != nullptr) ArmHeartbeat();
  }

  // On the strand: messages from xhr_send. False when the session is over.
  bool Receive(std::vector<std::string> messages) {
    if (closed_ || session_ == nullptr) return false;
    for (const std::string& m : messages) {
      shared_->stats.messages_in++;
      session_->OnMessage(m, SteadyClock::now());
      if (closed_) break;
    }
    if (!closed_) ArmSessionTimer(session_->NextDeadline());
    return true;
  }

  // Whether input should wait (the session paused reading).
  bool paused() const { return paused_; }
  // Called once input may flow again.
  void WhenResumed(std::function<void()> fn) { resumed_.push_back(std::move(fn)); }

  Strand& strand() { return strand_; }

  // Transport -----------------------------------------------------------

  void Send(std::shared_ptr<const std::string> message) override {
    if (closed_) return;
    if (queued_.size() + message->size() > shared_->options.outbound_queue_bytes) {
      shared_->stats.slow_consumer_closes++;
      spdlog::warn("closing SockJS session of {}: slow consumer, more than {} bytes waiting",
                   remote_address_, shared_->options.outbound_queue_bytes);
      queued_.clear();
      Close(kCloseSlowConsumer, "slow consumer");
      return;
    }
    // The frame is built as messages come: a["m1","m2",...]
    queued_.push_back(queued_.empty() ? '[' : ',');
    AppendJsonString(*message, &queued_);
    ++queued_count_;
    queued_bytes_ = queued_.size();
    if (receiver_ != nullptr && !flush_posted_) {
      // Everything sent in this strand turn goes in one frame.
      flush_posted_ = true;
      asio::post(strand_, [self = shared_from_this()] {
        self->flush_posted_ = false;
        self->FlushToReceiver();
      });
    }
  }

  void Close(uint16_t code, std::string_view reason) override {
    if (closed_) return;
    closed_ = true;
    close_code_ = code;
    close_reason_ = std::string(reason);
    FlushToReceiver();
    End();
  }

  void PauseReading() override { paused_ = true; }
  void ResumeReading() override {
    paused_ = false;
    std::vector<std::function<void()>> fns;
    fns.swap(resumed_);
    for (auto& fn : fns) fn();
  }

  // No I/O thread runs any more (NetServer shutdown): the DDP session
  // ends if it has not, and the references this session holds go.
  void EndNow() {
    if (!ended_) {
      ended_ = true;
      closed_ = true;
      if (session_ != nullptr) {
        session_->OnClosed();
        shared_->stats.connections_open--;
      }
      if (reg_id_ != 0) shared_->Unregister(reg_id_);
    }
    receiver_.reset();
    session_.reset();
  }

  // Closable ------------------------------------------------------------

  void Shutdown(uint16_t code, std::string reason) override {
    asio::post(strand_, [self = shared_from_this(), code, reason = std::move(reason)] {
      self->Close(code, reason);
    });
  }
  void Rerun() override {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->session_ != nullptr && !self->closed_) self->session_->RerunSubscriptions();
    });
  }
  size_t queued_bytes() const override { return queued_bytes_.get(); }
  ConnectionSummary Summary() const override {
    return ConnectionSummary{remote_address_, "sockjs-xhr", 0};
  }

 private:
  // queued_ becomes a frame at the end of pending_frames_.
  void TakeQueued() {
    if (queued_count_ == 0) return;
    pending_frames_ += "a";
    pending_frames_ += queued_;
    pending_frames_ += "]\n";
    shared_->stats.messages_out += static_cast<int64_t>(queued_count_);
    queued_.clear();
    queued_count_ = 0;
    queued_bytes_ = 0;
  }

  // What waits goes to the receiver; after the close, every receiver gets
  // the close frame (and no more).
  void FlushToReceiver() {
    TakeQueued();
    if (receiver_ == nullptr) return;
    if (closed_) pending_frames_ += sockjs::CloseFrame(close_code_, close_reason_) + "\n";
    if (pending_frames_.empty()) return;
    const size_t n = pending_frames_.size();
    shared_->stats.bytes_out += static_cast<int64_t>(n);
    receiver_->Write(std::move(pending_frames_));
    pending_frames_.clear();
    streamed_ += n;
    if (!receiver_->streaming() || streamed_ >= kStreamLimit || closed_) Detach();
  }

  // The receiving request is answered (or its stream full): the next one
  // must come within kDisconnectDelay.
  void Detach() {
    if (receiver_ != nullptr) {
      receiver_->End();
      receiver_.reset();
    }
    streamed_ = 0;
    heartbeat_timer_.cancel();
    disconnect_timer_.expires_after(kDisconnectDelay);
    disconnect_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->receiver_ != nullptr) return;
      if (self->ended_) {
        self->Forget();
        return;
      }
      // The client went away: a session over XHR cannot be resumed.
      self->Close(kCloseGoingAway, "SockJS client went away");
    });
  }

  void ArmHeartbeat() {
    heartbeat_timer_.expires_after(kHeartbeat);
    heartbeat_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->receiver_ == nullptr) return;
      self->pending_frames_ += StrCat(sockjs::kHeartbeatFrame, "\n");
      self->FlushToReceiver();
      if (self->receiver_ != nullptr) self->ArmHeartbeat();
    });
  }

  void ArmSessionTimer(SteadyTime at) {
    session_timer_.expires_at(at);
    session_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_ || self->session_ == nullptr) return;
      self->ArmSessionTimer(self->session_->OnTimer(SteadyClock::now()));
    });
  }

  // Closed and no receiver: the DDP session ends; the id is forgotten once
  // a late poll could have read the close frame (kDisconnectDelay).
  void End() {
    if (!closed_ || receiver_ != nullptr || ended_) return;
    ended_ = true;
    session_timer_.cancel();
    heartbeat_timer_.cancel();
    if (session_ != nullptr) {
      session_->OnClosed();
      shared_->stats.connections_open--;
    }
    if (reg_id_ != 0) shared_->Unregister(reg_id_);
    disconnect_timer_.expires_after(kDisconnectDelay);
    disconnect_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Forget();
    });
  }

  void Forget() {
    shared_->xhr_sessions->Remove(id_, this);
    session_.reset();
  }

  std::shared_ptr<Shared> shared_;
  const std::string id_;
  const std::string remote_address_;
  const std::string ip_;  // admitted by Shared::AdmitIp, released when we go
  Strand strand_;
  std::shared_ptr<StrandExecutor> executor_;
  asio::steady_timer session_timer_;
  asio::steady_timer heartbeat_timer_;
  asio::steady_timer disconnect_timer_;
  std::shared_ptr<Session> session_;
  uint64_t reg_id_ = 0;
  bool registered_ = false;
  std::shared_ptr<XhrReceiver> receiver_;
  size_t streamed_ = 0;         // bytes into the current stream
  std::string pending_frames_;  // frames for the next receiver
  std::string queued_;          // messages of the next a[...] frame, from its "["
  size_t queued_count_ = 0;
  SingleWriterSize queued_bytes_;
  bool flush_posted_ = false;
  bool closed_ = false;
  bool ended_ = false;
  uint16_t close_code_ = 0;
  std::string close_reason_;
  bool paused_ = false;
  std::vector<std::function<void()>> resumed_;
};

}  // namespace

void XhrSessions::EndAll() {
  StringMap<std::shared_ptr<XhrSession>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(sessions_);
  }
  for (auto& [id, s] : all) s->EndNow();
}

namespace {

HttpResponse SockJsError(const HttpRequest& request, int status, std::string_view text) {
  return HttpResponse{status, "text/plain; charset=UTF-8", std::string(text),
                      sockjs::CorsHeaders(request.Header("Origin"))};
}

}  // namespace

void HandleSockJsXhr(const std::shared_ptr<Shared>& shared, std::string_view session_id,
                     std::string_view transport, HttpRequest request, const std::string& ip,
                     std::shared_ptr<XhrReceiver> receiver, HttpRespond respond) {
  if (request.method == "OPTIONS") {
    auto headers = sockjs::CorsHeaders(request.Header("Origin"));
    headers.emplace_back("Access-Control-Allow-Methods", "OPTIONS, POST");
    headers.emplace_back("Access-Control-Max-Age", "31536000");
    if (std::string h = request.Header("Access-Control-Request-Headers"); !h.empty()) {
      headers.emplace_back("Access-Control-Allow-Headers", h);
    }
    respond(HttpResponse{204, "text/plain; charset=UTF-8", "", std::move(headers)});
    return;
  }
  if (request.method != "POST") {
    HttpResponse r = SockJsError(request, 405, "method not allowed");
    r.headers.emplace_back("Allow", "OPTIONS, POST");
    respond(std::move(r));
    return;
  }
  XhrSessions& sessions = *shared->xhr_sessions;
  std::shared_ptr<XhrSession> s = sessions.Find(session_id);
  if (transport == "xhr_send") {
    if (s == nullptr) {
      respond(SockJsError(request, 404, "no such SockJS session"));
      return;
    }
    if (request.body.empty()) {
      respond(SockJsError(request, 500, "Payload expected."));
      return;
    }
    shared->stats.bytes_in += static_cast<int64_t>(request.body.size());
    absl::StatusOr<std::vector<std::string>> messages =
        sockjs::DecodeClientFrame(request.body, shared->options.session.json_limits);
    if (!messages.ok()) {
      respond(SockJsError(request, 500, "Broken JSON encoding."));
      return;
    }
    auto headers = sockjs::CorsHeaders(request.Header("Origin"));
    asio::post(s->strand(), [s, messages = std::move(*messages), headers = std::move(headers),
                             respond = std::move(respond)]() mutable {
      auto answer = [respond, headers](bool ok) {
        respond(
            ok ? HttpResponse{204, "text/plain; charset=UTF-8", "", headers}
               : HttpResponse{404, "text/plain; charset=UTF-8", "SockJS session closed", headers});
      };
      const bool ok = s->Receive(std::move(messages));
      // Backpressure: while the session waits for a method, the client's
      // next xhr_send waits for this answer.
      if (ok && s->paused()) {
        s->WhenResumed([answer] { answer(true); });
      } else {
        answer(ok);
      }
    });
    return;
  }
  if (s != nullptr) {
    asio::post(s->strand(),
               [s, receiver = std::move(receiver)]() mutable { s->Attach(std::move(receiver)); });
    return;
  }
  if (!shared->AdmitIp(ip)) {
    shared->stats.connections_refused++;
    respond(SockJsError(request, 429, StrCat("too many connections from ", ip)));
    return;
  }
  s = std::make_shared<XhrSession>(shared, std::string(session_id), request.remote_address, ip);
  if (!sessions.Add(std::string(session_id), s)) {
    // Two first requests raced; the other one opened the session (this
    // one's IP share goes with `s`).
    receiver->Write(sockjs::CloseFrame(2010, "Another connection still open") + "\n");
    receiver->End();
    return;
  }
  asio::post(s->strand(),
             [s, receiver = std::move(receiver)]() mutable { s->Open(std::move(receiver)); });
}

}  // namespace ddp::net_internal

// The server side of one DDP connection.
//
// Session is the DDP state machine: version negotiation, heartbeats, the
// in-order handling of messages, subscriptions and methods, and the merge
// box between the client and its subscriptions. It knows nothing about
// sockets: the connection below it is a Transport, time arrives through
// OnTimer(), and work from other threads arrives by posting to the
// session's Executor (its strand).
//
// The handlers for each message kind live in handlers/*.cc; this class only
// sequences them.
//
// Threading: every member function runs on the session's strand, except
// where noted. Subscription and MethodReply may be used from any thread;
// they post to the strand.
//
// Ownership: the connection (server/net) owns the Session through a
// shared_ptr and outlives its use of the Transport pointer: it calls
// OnClosed() or OnTransportLost() before the Transport goes away.
// Subscriptions and replies hold weak references and become no-ops once the
// session is gone. A session whose client went away without a goodbye may
// outlive its connection, parked in a SessionDirectory until its client
// comes back on another connection (session_directory.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/string_map.h"
#include "absl/functional/any_invocable.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/lazy_deque.h"
#include "common/token_bucket.h"
#include "server/ddp/method_stats.h"
#include "server/ddp/user_limits.h"
#include "protocol/data_change.h"
#include "protocol/ddp_message.h"
#include "server/ddp/merge_box.h"
#include "server/ddp/rerun.h"
#include "server/ddp/resume.h"
#include "server/ddp/registry.h"
#include "server/ddp/session_directory.h"

namespace ddp {

// WebSocket close codes ddpd uses (RFC 6455 plus ddpd's own 4000-range).
enum CloseCode : uint16_t {
  kCloseNormal = 1000,           // after `failed` (no common DDP version)
  kCloseGoingAway = 1001,        // server shutting down
  kCloseProtocolError = 1002,    // a SockJS frame that is not an array of strings
  kCloseUnsupportedData = 1003,  // binary frame
  kCloseInvalidPayload = 1007,   // text frame that is not UTF-8
  kCloseTooBig = 1009,           // message above the size limit
  kCloseHeartbeatTimeout = 4000,
  kCloseSlowConsumer = 4001,
  kCloseConnectTimeout = 4002,
};

// What a Session needs from its connection. Called on the session's strand.
class Transport {
 public:
  virtual ~Transport() = default;
  // Queues one text frame.
  virtual void Send(std::shared_ptr<const std::string> frame) = 0;
  // Sends what is queued, then closes with `code` and `reason`.
  virtual void Close(uint16_t code, std::string_view reason) = 0;
  // Backpressure on input: stop / resume reading frames.
  virtual void PauseReading() = 0;
  virtual void ResumeReading() = 0;
  // Session resumption: from now on this connection's client talks to
  // `parked` (a session taken out of the SessionDirectory, which runs on its
  // own strand) instead of the calling session, which sends nothing more.
  // `release` goes with `parked` (see SessionDirectory::Parked). False when
  // the transport cannot; the caller then dismisses `parked`.
  virtual bool Adopt(std::shared_ptr<Session> /*parked*/, std::function<void()> /*release*/) {
    return false;
  }
  // The next `added` for this document replaces one the client holds
  // (ddpd_resume), so a slow consumer's queue must not cancel it against a
  // later `removed` (conflate.h). Called before that `added` is sent.
  virtual void NoteReplacement(std::string_view /*collection*/, std::string_view /*id*/) {}
};

struct SessionOptions {
  // Server `ping` after this long without input. Default: 15 s (Meteor's).
  Duration heartbeat_interval = std::chrono::seconds(15);
  // Close when no input arrives this long after that ping. Default: 15 s.
  Duration heartbeat_timeout = std::chrono::seconds(15);
  // Close an upgraded connection that sends no `connect` within this time.
  // Default: 10 s.
  Duration connect_timeout = std::chrono::seconds(10);
  // Messages waiting behind a method in progress before the session stops
  // reading from the socket. Default: 256.
  size_t max_pending_messages = 256;
  // Limits for parsing incoming messages.
  JsonLimits json_limits;
  // What a reconnecting client may claim to hold (resume.h).
  ResumeLimits resume;
  // How long after `connect` a resume's claims are settled at the latest,
  // whether or not every named subscription came. Default: 30 s.
  Duration resume_deadline = std::chrono::seconds(30);
  // Meteor's session resumption: how long a session whose client went away
  // without `disconnect` waits for it to come back. Zero: it ends at once.
  // Default: 15 s (Meteor's disconnectGracePeriod).
  Duration disconnect_grace_period = std::chrono::seconds(15);
  // Messages a waiting session keeps for its client; one more ends it.
  // Default: 100 (Meteor's maxMessageQueueLength).
  size_t max_parked_messages = 100;
  // Rate limits of one connection, as token buckets: calls a second and
  // how many may come at once. Beyond them a method gets `result` with
  // Meteor's `too-many-requests` error (details.timeToReset in ms) and
  // `updated`, a subscription `nosub` with that error. Zero rate: no limit.
  // Defaults: methods unlimited (one connection that publishes a feed
  // makes 100k+ calls a second, which is what ddpd is for; set a rate for
  // browser-facing deployments), 500 subscriptions/s with a burst of 500.
  double method_rate = 0;
  double method_burst = 1000;
  double sub_rate = 500;
  double sub_burst = 500;
  // Live subscriptions of one connection; one more gets `nosub` with
  // `too-many-requests`. Zero: no limit. Default: 10000.
  size_t max_subscriptions = 10000;
  // Rate limits of one user across its connections to this node: the same
  // replies as the connection's. Null: none. Set up by NetServer from
  // NetOptions::user_* (default: subscriptions 1000/s, burst 1000; methods
  // unlimited, as per connection).
  std::shared_ptr<UserRateLimits> user_limits;
  // Where method calls are counted by name and outcome (GET /metrics).
  // Null: not counted. Set up by NetServer.
  std::shared_ptr<MethodStats> method_stats;
  // Whether a client that has not logged in may subscribe and call
  // methods. When false, such a client gets 401 "login required" (`nosub`,
  // `result`) for everything but `anonymous_methods`. Default: true.
  bool allow_anonymous = true;
  std::vector<std::string> anonymous_methods = {"login", "logout"};
};

class Session;

// How a subscription's documents reach the client: Meteor's publication
// strategies (DDPServer.publicationStrategies).
enum class PublicationStrategy : uint8_t {
  // The default: through the session's merge box, which remembers what the
  // client holds, merges subscriptions that publish the same document, and
  // retracts a subscription's documents (`removed`) when it stops.
  kServerMerge,
  // Every message goes to the client as it is and nothing is remembered:
  // no per-client index of the documents (its memory and most of the
  // merge box's CPU per delivery), but no `removed` when the subscription
  // stops and no merging with another subscription that publishes the same
  // documents (the client would get a second `added`). For send-and-forget
  // streams (events, chat lines, telemetry), like Meteor's
  // NO_MERGE_NO_HISTORY.
  kNoMergeNoHistory,
};

// The context a publication publishes through (Meteor's `this` in
// `Meteor.publish`). Thread-safe: every call may come from any thread and
// is applied on the session's strand in call order. Calls after the
// subscription stopped are ignored.
class Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  void Added(std::string collection, std::string id, Object fields);
  void Changed(std::string collection, std::string id, Object fields,
               std::vector<std::string> cleared = {});
  void Removed(std::string collection, std::string id);
  // Several changes applied together, in order, with nothing from other
  // sources in between (one transaction's effect on this subscription).
  void Apply(std::vector<DataChange> changes);
  // The same for a batch shared with other subscriptions (live queries):
  // messages the merge box forwards unchanged go out as the batch's
  // encoded bytes, shared, not encoded again. A batch with `documents`
  // vouches for exact deltas (the merge box does not check them; see
  // "One subscription alone" in merge_box.h).
  void Apply(ChangeBatchPtr batch);
  // Tells the client the initial data is complete (once).
  void Ready();
  // Stops with an error: documents are retracted, the client gets `nosub`
  // with the error (500 "Internal server error" for internal ones).
  void Error(absl::Status status);
  // Stops without error: documents are retracted, the client gets `nosub`.
  void Stop();
  // Runs on the session's strand when the subscription stops for any reason
  // (unsub, Error, Stop, disconnect). Registered callbacks run once.
  void OnStop(absl::AnyInvocable<void() &&> fn);
  // Chooses how documents reach the client (default kServerMerge). Call it
  // in the publication handler, before publishing anything: documents
  // published under one strategy are not retracted under the other.
  void SetStrategy(PublicationStrategy strategy) {
    strategy_.store(strategy, std::memory_order_relaxed);
  }
  PublicationStrategy strategy() const { return strategy_.load(std::memory_order_relaxed); }

  const std::string& id() const { return id_; }  // empty for universal publications
  const std::string& name() const { return name_; }
  const Array& params() const { return params_; }
  const ConnectionInfo& connection() const { return connection_; }
  // True once stopped. Any thread.
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  Subscription(std::weak_ptr<Session> session, std::shared_ptr<Executor> executor,
               SubHandle handle, std::string id, std::string name, Array params,
               ConnectionInfo connection);

 private:
  friend class Session;
  friend struct SessionHandlers;
  // Runs `fn(session)` on the strand if the session still exists.
  void OnStrand(absl::AnyInvocable<void(Session&) &&> fn);
  // Applies a batch on the strand.
  void ApplyBatch(Session& s, const ChangeBatch& batch);
  // kNoMergeNoHistory: sends the batch's messages as they are.
  void ForwardBatch(Session& s, const ChangeBatch& batch);
  bool forwards() const { return strategy() == PublicationStrategy::kNoMergeNoHistory; }

  std::weak_ptr<Session> session_;
  std::shared_ptr<Executor> executor_;
  const SubHandle handle_;
  const std::string id_;
  const std::string name_;
  const Array params_;
  const ConnectionInfo connection_;
  std::atomic<bool> stopped_{false};
  std::atomic<PublicationStrategy> strategy_{PublicationStrategy::kServerMerge};
  // Strand-only state.
  bool ready_sent_ = false;
  std::vector<absl::AnyInvocable<void() &&>> on_stop_;
};

// Completes one method call. Copyable; the first call wins, later ones are
// ignored. Thread-safe. If every copy is dropped without replying, the
// client gets 500 "Internal server error" (a handler bug, logged).
// A way to reach a session later, from any thread (after its method
// replied): for logging it out when its login token is revoked. Does
// nothing once the session is gone.
class SessionHandle {
 public:
  // Makes the session anonymous if it is still logged in with `token`.
  void LogOutIfToken(std::string token) const;
  bool expired() const { return session_.expired(); }

 private:
  friend class MethodReply;
  std::weak_ptr<Session> session_;
  std::shared_ptr<Executor> executor_;
};

class MethodReply {
 public:
  void operator()(MethodResult result) const;
  // Lets the session handle the next message before this method replies
  // (Meteor's this.unblock()).
  void Unblock() const;
  // Makes the connection's client `user` (null: anonymous) before the reply
  // goes out, as Meteor's this.setUserId: every subscription of the session
  // runs again with the new identity, and the client gets only what
  // differs.
  void SetUser(std::shared_ptr<const UserIdentity> user) const;
  // The calling session, for later (SessionHandle).
  SessionHandle session() const;

 private:
  friend struct SessionHandlers;
  struct State;
  explicit MethodReply(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

class Session : public std::enable_shared_from_this<Session>, private MergeSink {
 public:
  // `transport` must stay valid until OnClosed() returns. Without a
  // `directory` sessions are never resumed.
  Session(SessionOptions options, std::shared_ptr<const Registry> registry,
          std::shared_ptr<Executor> strand, Transport* transport, ConnectionInfo connection,
          SteadyTime now, std::shared_ptr<SessionDirectory> directory = nullptr);
  ~Session() override;

  // One text frame from the client.
  void OnMessage(std::string_view text, SteadyTime now);
  // Drives connect timeout and heartbeats; returns when to call again.
  SteadyTime OnTimer(SteadyTime now);
  // When OnTimer next has something to do (no side effects). The connection
  // re-arms its timer when a message moved this earlier (after `connect`).
  SteadyTime NextDeadline() const;
  // The connection is gone: stop subscriptions, send nothing more.
  void OnClosed();
  // The connection is gone. `resumable`: the client went away (its socket
  // closed) without saying `disconnect`, and not because the server closed
  // it. Then, if resumption is on, the session parks itself in the
  // directory until its grace period ends, taking `release` along, and
  // returns true. Otherwise it closes as OnClosed() does, leaves `release`
  // alone and returns false.
  bool OnTransportLost(bool resumable, SteadyTime now, std::function<void()>& release);
  // For a session taken out of the directory, from any thread: whether a
  // client that negotiated `version` and received `received_count` messages
  // can have it back (it received exactly what was sent before the loss).
  bool CanResume(std::string_view version, uint64_t received_count) const;
  // On the session's strand: the resumed client is on `transport` now. Sends
  // `connected` with the same session id, then what waited.
  void Reattach(Transport* transport, SteadyTime now);
  // The session's strand.
  const std::shared_ptr<Executor>& strand() const { return strand_; }
  // Messages sent other than ping and pong (Meteor's receivedCount); on
  // the strand.
  uint64_t sent_count() const { return sent_; }
  // For a session taken out of the directory, from any thread: how many it
  // had sent when its connection went.
  uint64_t sent_before_loss() const { return sent_at_loss_; }

  bool connected() const { return state_ == State::kConnected; }
  const ConnectionInfo& connection() const { return connection_; }
  // On the strand: see MethodReply::SetUser.
  void SetUser(std::shared_ptr<const UserIdentity> user);
  // On the strand: every subscription runs again for the same user, and the
  // client gets the difference (after the access rules changed).
  void RerunSubscriptions();
  const std::string& session_id() const { return connection_.session_id; }
  const std::string& version() const { return version_; }
  size_t subscription_count() const { return subs_.size(); }
  const MergeBox& merge_box() const { return merge_box_; }

 private:
  friend class Subscription;
  friend class MethodReply;
  friend struct SessionHandlers;

  enum class State { kAwaitingConnect, kConnected, kClosed };

  // A message waiting for its turn: decoded, or the top-level error it
  // earned while decoding.
  struct TopLevelError {
    std::string reason;
    std::optional<Value> offending;
  };
  using Pending = std::variant<Message, TopLevelError>;

  void Dispatch(Pending item);
  void Drain();
  // A method call holds the queue until it replies or unblocks; `call_seq`
  // names the call so that a late unblock of an earlier call cannot release
  // a later one.
  void Block(uint64_t call_seq) { blocker_ = call_seq; }
  void Unblock(uint64_t call_seq);

  // Sending. Every message goes through Emit; `counted` is false for ping
  // and pong, which session resumption does not count.
  void Emit(std::shared_ptr<const std::string> frame, bool counted);
  void Send(std::string frame);
  void SendMessage(const Message& m);
  void SendError(std::string_view reason, std::optional<Value> offending);
  void CloseConnection(uint16_t code, std::string_view reason);

  // Subscription lifecycle (strand).
  void StartSubscription(const PublicationHandler& handler, std::string id, std::string name,
                         Array params);
  // Retracts documents, runs OnStop callbacks; sends nosub when `notify`.
  void StopSubscription(const std::shared_ptr<Subscription>& sub, bool notify,
                        std::optional<absl::Status> error);
  void StopAllSubscriptions();
  // Resume (resume.h): once no subscription waits for `ready`, claims that
  // no subscription added are retracted.
  // `force`: settle whatever is pending (the deadline passed).
  void MaybeFinishResume(std::string_view settled_sub, bool force = false);
  // A re-run (SetUser) settles once every subscription it awaits is ready
  // or stopped: what the client held and no subscription sent again is
  // retracted.
  void RerunAll();  // SetUser's and RerunSubscriptions' work
  void MaybeFinishRerun(std::string_view settled_sub, bool force = false);
  // Whether an `added` the merge box sends must go out (false: the client
  // holds exactly that document already).
  bool ResumeLetsAddedThrough(std::string_view collection, std::string_view id,
                              const Object& fields);

  // MergeSink.
  void SendAdded(std::string_view collection, std::string_view id, const Object& fields) override;
  void SendChanged(std::string_view collection, std::string_view id, const Object& fields,
                   const std::vector<std::string>& cleared) override;
  void SendRemoved(std::string_view collection, std::string_view id) override;
  void SendAddedBefore(std::string_view collection, std::string_view id, const Object& fields,
                       const std::optional<std::string>& before) override;
  void SendMovedBefore(std::string_view collection, std::string_view id,
                       const std::optional<std::string>& before) override;
  void SendEncoded(const std::shared_ptr<const std::string>& message) override;

  // Parked: nobody to send to. Gives up when too much waits.
  void Hold(std::shared_ptr<const std::string> frame);
  // Rate limits: nullopt when the request may go on, else the error for
  // it (Meteor's too-many-requests with details.timeToReset).
  std::optional<Value> RateLimited(std::optional<TokenBucket>& bucket, double rate, double burst,
                                   UserRateLimits::Kind kind);

  const SessionOptions options_;
  const std::shared_ptr<const Registry> registry_;
  const std::shared_ptr<Executor> strand_;
  Transport* transport_;
  ConnectionInfo connection_;
  const std::shared_ptr<SessionDirectory> directory_;  // may be null

  State state_ = State::kAwaitingConnect;
  std::string version_;
  SteadyTime opened_at_;
  SteadyTime last_input_;
  std::optional<SteadyTime> ping_sent_at_;

  LazyDeque<Pending> pending_;
  uint64_t blocker_ = 0;  // the method call holding the queue, 0 when none
  uint64_t call_seq_ = 0;
  bool draining_ = false;
  bool reading_paused_ = false;

  MergeBox merge_box_;
  ResumeClaims resume_;
  RerunBaseline rerun_;
  // A re-run is settled by then at the latest (resume_deadline after it
  // started), whether or not every subscription came back ready.
  SteadyTime rerun_deadline_{};
  bool silent_ = false;  // data messages are dropped (a re-run stops its subscriptions)
  bool resume_subscribed_ = false;  // a subscription started since the resume
  // Claims still open then are settled anyway (a named subscription that
  // never came): checked on every message and timer.
  SteadyTime resume_deadline_{};
  // Session resumption.
  uint64_t sent_ = 0;
  // Parked: the connection is gone, messages wait in held_. sent_at_loss_
  // is written before the session is parked and only read while it is
  // (from the strand of the connection that claims it).
  bool parked_ = false;
  uint64_t sent_at_loss_ = 0;
  LazyDeque<std::shared_ptr<const std::string>> held_;
  // Rate limits (SessionOptions), made at the first call.
  std::optional<TokenBucket> method_bucket_;
  // The method this session called last and where its calls are counted:
  // a client mostly calls one method over and over (a feed's publish), and
  // this spares MethodStats' lock and lookup per call.
  std::string counted_method_;
  MethodStats::Counters* counted_ = nullptr;
  std::optional<TokenBucket> sub_bucket_;
  // When the logged-in user's login expires (UserIdentity::expires_millis).
  std::optional<SteadyTime> login_expires_;
  // The heartbeat's (and connect timeout's) part of NextDeadline.
  SteadyTime HeartbeatDeadline() const;
  // CloseConnection while parked and already claimed: done on Reattach.
  std::optional<std::pair<uint16_t, std::string>> close_on_reattach_;

  SubHandle next_handle_ = 1;
  StringMap<std::shared_ptr<Subscription>> subs_;
  std::vector<std::shared_ptr<Subscription>> universal_subs_;
};

}  // namespace ddp

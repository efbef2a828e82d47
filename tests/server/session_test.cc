// Session state machine without sockets: a fake transport records frames,
// a manual executor plays the strand, time is passed in explicitly.
#include "server/ddp/session.h"

#include <algorithm>
#include <deque>

#include "gtest/gtest.h"
#include "protocol/json.h"

namespace ddp {
namespace {

class ManualExecutor : public Executor {
 public:
  void Post(absl::AnyInvocable<void() &&> fn) override { queue_.push_back(std::move(fn)); }
  bool RunningInThisThread() const override { return running_; }
  void RunAll() {
    while (!queue_.empty()) {
      auto fn = std::move(queue_.front());
      queue_.pop_front();
      running_ = true;
      std::move(fn)();
      running_ = false;
    }
  }
  // Runs `fn` as strand work (handlers run there).
  template <typename F>
  void RunOn(F&& fn) {
    running_ = true;
    fn();
    running_ = false;
    RunAll();
  }

 private:
  std::deque<absl::AnyInvocable<void() &&>> queue_;
  bool running_ = false;
};

class FakeTransport : public Transport {
 public:
  void Send(std::shared_ptr<const std::string> frame) override { frames.push_back(*frame); }
  void Close(uint16_t c, std::string_view r) override {
    closed = true;
    code = c;
    reason = std::string(r);
  }
  void PauseReading() override { paused = true; }
  void ResumeReading() override { paused = false; }

  std::vector<std::string> Take() { return std::exchange(frames, {}); }

  std::vector<std::string> frames;
  bool closed = false;
  uint16_t code = 0;
  std::string reason;
  bool paused = false;
};

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    registry_ = std::make_shared<Registry>();
    // A publication of two documents, ready at once.
    EXPECT_TRUE(registry_
                    ->AddPublication("two",
                                     [](std::shared_ptr<Subscription> sub) {
                                       sub->Added("items", "a", Object{{"n", Value(1)}});
                                       sub->Added("items", "b", Object{{"n", Value(2)}});
                                       sub->Ready();
                                     })
                    .ok());
    EXPECT_TRUE(registry_
                    ->AddPublication("stream",
                                     [](std::shared_ptr<Subscription> sub) {
                                       sub->SetStrategy(PublicationStrategy::kNoMergeNoHistory);
                                       sub->Added("items", "a", Object{{"n", Value(1)}});
                                       sub->Changed("items", "a", Object{});  // nothing: dropped
                                       sub->Changed("items", "a", Object{{"n", Value(2)}});
                                       sub->Removed("items", "a");
                                       sub->Added("items", "b", Object{{"n", Value(3)}});
                                       // A batch (not encoded by the caller) goes out
                                       // the same way; its empty `changed` does not.
                                       DataChange c;
                                       c.collection = "items";
                                       c.id = "c";
                                       c.fields = Object{{"n", Value(4)}};
                                       DataChange empty = c;
                                       empty.kind = DataChange::Kind::kChanged;
                                       empty.fields = Object{};
                                       sub->Apply(std::vector<DataChange>{c, empty});
                                       sub->Ready();
                                     })
                    .ok());
    EXPECT_TRUE(registry_
                    ->AddPublication("fails",
                                     [](std::shared_ptr<Subscription> sub) {
                                       sub->Error(absl::PermissionDeniedError("not for you"));
                                     })
                    .ok());
    EXPECT_TRUE(registry_
                    ->AddPublication("throws",
                                     [](std::shared_ptr<Subscription>) {
                                       throw std::runtime_error("secret detail");
                                     })
                    .ok());
    EXPECT_TRUE(registry_
                    ->AddPublication("held",
                                     [this](std::shared_ptr<Subscription> sub) {
                                       held_ = sub;
                                       sub->OnStop([this] { ++stops_; });
                                     })
                    .ok());
    EXPECT_TRUE(registry_
                    ->AddSyncMethod("echo",
                                    [](const MethodCall& call) -> MethodResult {
                                      return std::optional<Value>(Value(call.params));
                                    })
                    .ok());
    EXPECT_TRUE(registry_
                    ->AddSyncMethod("nothing",
                                    [](const MethodCall&) -> MethodResult {
                                      return std::optional<Value>();
                                    })
                    .ok());
    EXPECT_TRUE(
        registry_
            ->AddMethod("later", [this](MethodCall, MethodReply reply) { replies_.push_back(reply); })
            .ok());
    EXPECT_TRUE(registry_
                    ->AddSyncMethod("oops",
                                    [](const MethodCall&) -> MethodResult {
                                      return absl::InternalError("disk on fire at /dev/sda");
                                    })
                    .ok());
    EXPECT_TRUE(registry_
                    ->AddMethod("drop", [](MethodCall, MethodReply) { /* never replies */ })
                    .ok());
    options_.heartbeat_interval = std::chrono::seconds(15);
    options_.heartbeat_timeout = std::chrono::seconds(15);
    options_.connect_timeout = std::chrono::seconds(10);
  }

  void Open() {
    session_ = std::make_shared<Session>(options_, registry_, executor_, &transport_,
                                         ConnectionInfo{"", "127.0.0.1:1", "", nullptr}, now_);
  }
  void Send(std::string_view text) {
    executor_->RunOn([&] { session_->OnMessage(text, now_); });
  }
  std::vector<std::string> Take() { return transport_.Take(); }
  void Connect() {
    Open();
    Send(R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})");
    auto frames = Take();
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_NE(frames[0].find(R"("msg":"connected")"), std::string::npos);
  }

  std::shared_ptr<Registry> registry_;
  std::shared_ptr<ManualExecutor> executor_ = std::make_shared<ManualExecutor>();
  FakeTransport transport_;
  SessionOptions options_;
  std::shared_ptr<Session> session_;
  SteadyTime now_ = SteadyClock::now();
  std::shared_ptr<Subscription> held_;
  int stops_ = 0;
  std::vector<MethodReply> replies_;
};

struct HandshakeCase {
  const char* connect;
  const char* expect;  // substring of the one reply
  bool closes;
};

TEST_F(SessionTest, HandshakeTable) {
  const HandshakeCase cases[] = {
      {R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})", R"("msg":"connected")", false},
      {R"({"msg":"connect","version":"1","support":["1"]})", R"("msg":"connected")", false},
      {R"({"msg":"connect","version":"pre2","support":["pre2","pre1"]})", R"("msg":"connected")", false},
      {R"({"msg":"connect","version":"pre1","support":["pre1"]})", R"("msg":"connected")", false},
      // The client's first supported choice wins over what it proposed.
      {R"({"msg":"connect","version":"pre1","support":["1","pre1"]})", R"({"msg":"failed","version":"1"})", true},
      {R"({"msg":"connect","version":"pre2","support":["pre1","pre2"]})", R"({"msg":"failed","version":"pre1"})", true},
      // Nothing in common: our preferred version.
      {R"({"msg":"connect","version":"2","support":["2"]})", R"({"msg":"failed","version":"1"})", true},
      // Malformed: version not in support, wrong types, missing fields.
      {R"({"msg":"connect","version":"1","support":["pre1"]})", R"({"msg":"failed","version":"1"})", true},
      {R"({"msg":"connect","version":1,"support":["1"]})", R"({"msg":"failed","version":"1"})", true},
      {R"({"msg":"connect","version":"1","support":"1"})", R"({"msg":"failed","version":"1"})", true},
      {R"({"msg":"connect","version":"1","support":[1]})", R"({"msg":"failed","version":"1"})", true},
      {R"({"msg":"connect"})", R"({"msg":"failed","version":"1"})", true},
  };
  for (const HandshakeCase& c : cases) {
    transport_ = FakeTransport();
    Open();
    Send(c.connect);
    auto frames = Take();
    ASSERT_EQ(frames.size(), 1u) << c.connect;
    EXPECT_NE(frames[0].find(c.expect), std::string::npos) << c.connect << " -> " << frames[0];
    EXPECT_EQ(transport_.closed, c.closes) << c.connect;
    if (c.closes) {
      EXPECT_EQ(transport_.code, kCloseNormal);
    }
    if (!c.closes) {
      auto v = ParseJson(frames[0]);
      EXPECT_EQ(v->Find("session")->as_string().size(), 17u);
    }
  }
}

TEST_F(SessionTest, MessagesBeforeConnectAndConnectTwice) {
  Open();
  Send(R"({"msg":"sub","id":"1","name":"two"})");
  Send(R"({"msg":"method","id":"1","method":"echo","params":[]})");
  Send(R"({"msg":"ping","id":"p"})");
  auto frames = Take();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0],
            R"({"msg":"error","reason":"Must connect first","offendingMessage":{"msg":"sub","id":"1","name":"two","params":[]}})");
  EXPECT_NE(frames[1].find("Must connect first"), std::string::npos);
  EXPECT_NE(frames[2].find("Must connect first"), std::string::npos);
  Send(R"({"msg":"connect","version":"1","support":["1"]})");
  EXPECT_EQ(Take().size(), 1u);
  Send(R"({"msg":"connect","version":"1","support":["1"]})");
  frames = Take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_NE(frames[0].find(R"("reason":"Already connected")"), std::string::npos);
  EXPECT_FALSE(transport_.closed);
}

TEST_F(SessionTest, EveryTopLevelErrorKeepsTheSession) {
  Connect();
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"{not json", R"({"msg":"error","reason":"Parse error"})"},
      {"[1]", R"({"msg":"error","reason":"Bad request","offendingMessage":[1]})"},
      {R"({"msg":"nope"})", R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":"nope"}})"},
      {R"({"x":1})", R"({"msg":"error","reason":"Bad request","offendingMessage":{"x":1}})"},
      {R"({"msg":"added","collection":"c","id":"1"})",
       R"({"msg":"error","reason":"Bad request","offendingMessage":{"msg":"added","collection":"c","id":"1"}})"},
      {R"({"msg":"sub","id":1,"name":"two"})",
       R"({"msg":"error","reason":"Malformed subscription","offendingMessage":{"msg":"sub","id":1,"name":"two"}})"},
      {R"({"msg":"method","id":"1","method":5})",
       R"({"msg":"error","reason":"Malformed method invocation","offendingMessage":{"msg":"method","id":"1","method":5}})"},
  };
  for (const Case& c : cases) {
    Send(c.in);
    auto frames = Take();
    ASSERT_EQ(frames.size(), 1u) << c.in;
    EXPECT_EQ(frames[0], c.out);
  }
  EXPECT_FALSE(transport_.closed);
  Send(R"({"msg":"ping","id":"still"})");
  EXPECT_EQ(Take(), std::vector<std::string>{R"({"msg":"pong","id":"still"})"});
}

TEST_F(SessionTest, PingPong) {
  Connect();
  Send(R"({"msg":"ping"})");
  Send(R"({"msg":"ping","id":"abc"})");
  Send(R"({"msg":"pong"})");
  EXPECT_EQ(Take(), (std::vector<std::string>{R"({"msg":"pong"})", R"({"msg":"pong","id":"abc"})"}));
}

TEST_F(SessionTest, SubscriptionLifecycle) {
  Connect();
  Send(R"({"msg":"sub","id":"s1","name":"two","params":[]})");
  EXPECT_EQ(Take(), (std::vector<std::string>{
                        R"({"msg":"added","collection":"items","id":"a","fields":{"n":1}})",
                        R"({"msg":"added","collection":"items","id":"b","fields":{"n":2}})",
                        R"({"msg":"ready","subs":["s1"]})"}));
  // Duplicate live id: ignored.
  Send(R"({"msg":"sub","id":"s1","name":"two"})");
  EXPECT_TRUE(Take().empty());
  // A second subscription on the same documents: nothing new to send.
  Send(R"({"msg":"sub","id":"s2","name":"two"})");
  EXPECT_EQ(Take(), std::vector<std::string>{R"({"msg":"ready","subs":["s2"]})"});
  Send(R"({"msg":"unsub","id":"s1"})");
  EXPECT_EQ(Take(), std::vector<std::string>{R"({"msg":"nosub","id":"s1"})"});
  Send(R"({"msg":"unsub","id":"s2"})");
  auto frames = Take();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[2], R"({"msg":"nosub","id":"s2"})");
  // Unknown id: still nosub.
  Send(R"({"msg":"unsub","id":"never"})");
  EXPECT_EQ(Take(), std::vector<std::string>{R"({"msg":"nosub","id":"never"})"});
  EXPECT_EQ(session_->merge_box().document_count(), 0u);
  EXPECT_EQ(session_->subscription_count(), 0u);
}

// kNoMergeNoHistory: messages go out as published, the merge box holds
// nothing, and stopping retracts nothing; a merged subscription of the same
// session is unaffected.
TEST_F(SessionTest, NoMergeNoHistorySubscriptionsForwardAndForget) {
  Connect();
  Send(R"({"msg":"sub","id":"s1","name":"stream","params":[]})");
  EXPECT_EQ(Take(), (std::vector<std::string>{
                        R"({"msg":"added","collection":"items","id":"a","fields":{"n":1}})",
                        R"({"msg":"changed","collection":"items","id":"a","fields":{"n":2}})",
                        R"({"msg":"removed","collection":"items","id":"a"})",
                        R"({"msg":"added","collection":"items","id":"b","fields":{"n":3}})",
                        R"({"msg":"added","collection":"items","id":"c","fields":{"n":4}})",
                        R"({"msg":"ready","subs":["s1"]})"}));
  EXPECT_EQ(session_->merge_box().document_count(), 0u);
  // A merged subscription to the same collection: its own documents only.
  Send(R"({"msg":"sub","id":"s2","name":"two","params":[]})");
  auto frames = Take();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(session_->merge_box().document_count(), 2u);
  Send(R"({"msg":"unsub","id":"s1"})");
  EXPECT_EQ(Take(), std::vector<std::string>{R"({"msg":"nosub","id":"s1"})"});  // no removed
  Send(R"({"msg":"unsub","id":"s2"})");
  frames = Take();
  ASSERT_EQ(frames.size(), 3u);
  std::sort(frames.begin(), frames.begin() + 2);  // retraction order is the box's
  EXPECT_EQ(frames, (std::vector<std::string>{R"({"msg":"removed","collection":"items","id":"a"})",
                                               R"({"msg":"removed","collection":"items","id":"b"})",
                                               R"({"msg":"nosub","id":"s2"})"}));
}

TEST_F(SessionTest, UnknownFailingAndThrowingPublications) {
  Connect();
  Send(R"({"msg":"sub","id":"u","name":"nope"})");
  EXPECT_EQ(Take(), std::vector<std::string>{
                        R"({"msg":"nosub","id":"u","error":{"isClientSafe":true,"error":404,"reason":"Subscription 'nope' not found","message":"Subscription 'nope' not found [404]","errorType":"Meteor.Error"}})"});
  Send(R"({"msg":"sub","id":"f","name":"fails"})");
  EXPECT_EQ(Take(), std::vector<std::string>{
                        R"({"msg":"nosub","id":"f","error":{"isClientSafe":true,"error":403,"reason":"not for you","message":"not for you [403]","errorType":"Meteor.Error"}})"});
  Send(R"({"msg":"sub","id":"t","name":"throws"})");
  auto frames = Take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_NE(frames[0].find(R"("error":500,"reason":"Internal server error")"), std::string::npos);
  EXPECT_EQ(frames[0].find("secret"), std::string::npos);
  // The id is free again after an error.
  Send(R"({"msg":"sub","id":"f","name":"two"})");
  EXPECT_EQ(Take().size(), 3u);
}

TEST_F(SessionTest, PublicationFromAnotherThreadAndStop) {
  Connect();
  Send(R"({"msg":"sub","id":"h","name":"held"})");
  ASSERT_NE(held_, nullptr);
  EXPECT_TRUE(Take().empty());
  // Calls from outside the strand are posted, then applied in order.
  held_->Added("c", "1", Object{{"x", Value(1)}});
  held_->Changed("c", "1", Object{{"x", Value(2)}});
  held_->Ready();
  EXPECT_TRUE(Take().empty());
  executor_->RunAll();
  EXPECT_EQ(Take(), (std::vector<std::string>{
                        R"({"msg":"added","collection":"c","id":"1","fields":{"x":1}})",
                        R"({"msg":"changed","collection":"c","id":"1","fields":{"x":2}})",
                        R"({"msg":"ready","subs":["h"]})"}));
  held_->Stop();
  executor_->RunAll();
  EXPECT_EQ(Take(), (std::vector<std::string>{R"({"msg":"removed","collection":"c","id":"1"})",
                                              R"({"msg":"nosub","id":"h"})"}));
  EXPECT_EQ(stops_, 1);
  EXPECT_TRUE(held_->stopped());
  held_->Added("c", "2", Object());  // ignored after stop
  executor_->RunAll();
  EXPECT_TRUE(Take().empty());
}

TEST_F(SessionTest, DisconnectStopsSubscriptionsSilently) {
  Connect();
  Send(R"({"msg":"sub","id":"h","name":"held"})");
  executor_->RunOn([&] { session_->OnClosed(); });
  EXPECT_EQ(stops_, 1);
  EXPECT_TRUE(held_->stopped());
  EXPECT_TRUE(Take().empty());
}

TEST_F(SessionTest, MethodsResultThenUpdated) {
  Connect();
  Send(R"({"msg":"method","id":"1","method":"echo","params":[1,"a"]})");
  Send(R"({"msg":"method","id":"2","method":"nothing"})");
  Send(R"({"msg":"method","id":"3","method":"missing","params":[]})");
  Send(R"({"msg":"method","id":"4","method":"oops"})");
  auto frames = Take();
  ASSERT_EQ(frames.size(), 8u);
  EXPECT_EQ(frames[0], R"({"msg":"result","id":"1","result":[1,"a"]})");
  EXPECT_EQ(frames[1], R"({"msg":"updated","methods":["1"]})");
  EXPECT_EQ(frames[2], R"({"msg":"result","id":"2"})");
  EXPECT_EQ(frames[3], R"({"msg":"updated","methods":["2"]})");
  EXPECT_EQ(frames[4],
            R"({"msg":"result","id":"3","error":{"isClientSafe":true,"error":404,"reason":"Method 'missing' not found","message":"Method 'missing' not found [404]","errorType":"Meteor.Error"}})");
  EXPECT_EQ(frames[5], R"({"msg":"updated","methods":["3"]})");
  EXPECT_NE(frames[6].find(R"("error":500,"reason":"Internal server error")"), std::string::npos);
  EXPECT_EQ(frames[6].find("disk"), std::string::npos);
  EXPECT_EQ(frames[7], R"({"msg":"updated","methods":["4"]})");
}

TEST_F(SessionTest, AMethodHoldsTheQueueUntilItReplies) {
  Connect();
  Send(R"({"msg":"method","id":"slow","method":"later"})");
  Send(R"({"msg":"method","id":"next","method":"echo","params":[2]})");
  Send(R"({"msg":"ping","id":"p"})");  // answered at once
  EXPECT_EQ(Take(), std::vector<std::string>{R"({"msg":"pong","id":"p"})"});
  ASSERT_EQ(replies_.size(), 1u);
  // Reply from another thread: posted to the strand.
  replies_[0](std::optional<Value>(Value("done")));
  replies_[0](std::optional<Value>(Value("twice")));  // ignored
  executor_->RunAll();
  EXPECT_EQ(Take(), (std::vector<std::string>{R"({"msg":"result","id":"slow","result":"done"})",
                                              R"({"msg":"updated","methods":["slow"]})",
                                              R"({"msg":"result","id":"next","result":[2]})",
                                              R"({"msg":"updated","methods":["next"]})"}));
}

TEST_F(SessionTest, UnblockLetsTheNextMessageRun) {
  Connect();
  Send(R"({"msg":"method","id":"a","method":"later"})");
  Send(R"({"msg":"method","id":"b","method":"later"})");
  ASSERT_EQ(replies_.size(), 1u);
  replies_[0].Unblock();
  executor_->RunAll();
  ASSERT_EQ(replies_.size(), 2u);  // b started while a is still running
  // A late unblock from `a` must not release `b`'s hold.
  replies_[0].Unblock();
  Send(R"({"msg":"method","id":"c","method":"echo"})");
  EXPECT_TRUE(Take().empty());
  replies_[1](absl::NotFoundError("b failed"));
  executor_->RunAll();
  auto frames = Take();
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_NE(frames[0].find(R"("id":"b","error":{"isClientSafe":true,"error":404)"), std::string::npos);
  EXPECT_EQ(frames[2], R"({"msg":"result","id":"c","result":[]})");
  replies_[0](std::optional<Value>());
  executor_->RunAll();
  EXPECT_EQ(Take(), (std::vector<std::string>{R"({"msg":"result","id":"a"})",
                                              R"({"msg":"updated","methods":["a"]})"}));
}

TEST_F(SessionTest, ADroppedReplyBecomesAnInternalError) {
  Connect();
  Send(R"({"msg":"method","id":"d","method":"drop"})");
  executor_->RunAll();
  auto frames = Take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_NE(frames[0].find(R"("id":"d","error":{"isClientSafe":true,"error":500)"), std::string::npos);
  EXPECT_EQ(frames[1], R"({"msg":"updated","methods":["d"]})");
}

TEST_F(SessionTest, ReadingPausesWhileTooManyMessagesWait) {
  options_.max_pending_messages = 4;
  Connect();
  Send(R"({"msg":"method","id":"hold","method":"later"})");
  for (int i = 0; i < 4; ++i) Send(R"({"msg":"method","id":"x","method":"echo"})");
  EXPECT_TRUE(transport_.paused);
  replies_[0](std::optional<Value>());
  executor_->RunAll();
  EXPECT_FALSE(transport_.paused);
  EXPECT_EQ(Take().size(), 10u);
}

TEST_F(SessionTest, HeartbeatPingsThenCloses) {
  Connect();
  SteadyTime next = session_->OnTimer(now_);
  EXPECT_EQ(next, now_ + std::chrono::seconds(15));
  now_ += std::chrono::seconds(15);
  next = session_->OnTimer(now_);
  EXPECT_EQ(Take(), std::vector<std::string>{R"({"msg":"ping"})"});
  EXPECT_EQ(next, now_ + std::chrono::seconds(15));
  // Any input counts as the pong.
  now_ += std::chrono::seconds(5);
  Send(R"({"msg":"pong"})");
  next = session_->OnTimer(now_);
  EXPECT_EQ(next, now_ + std::chrono::seconds(15));
  now_ += std::chrono::seconds(15);
  session_->OnTimer(now_);
  EXPECT_EQ(Take(), std::vector<std::string>{R"({"msg":"ping"})"});
  now_ += std::chrono::seconds(15);
  session_->OnTimer(now_);
  EXPECT_TRUE(transport_.closed);
  EXPECT_EQ(transport_.code, kCloseHeartbeatTimeout);
}

TEST_F(SessionTest, Pre1HasNoHeartbeat) {
  Open();
  Send(R"({"msg":"connect","version":"pre1","support":["pre1"]})");
  Take();
  now_ += std::chrono::hours(1);
  session_->OnTimer(now_);
  EXPECT_TRUE(Take().empty());
  EXPECT_FALSE(transport_.closed);
}

TEST_F(SessionTest, ConnectTimeout) {
  Open();
  EXPECT_EQ(session_->OnTimer(now_), now_ + std::chrono::seconds(10));
  now_ += std::chrono::seconds(10);
  session_->OnTimer(now_);
  EXPECT_TRUE(transport_.closed);
  EXPECT_EQ(transport_.code, kCloseConnectTimeout);
}

TEST_F(SessionTest, UniversalPublicationsStartOnConnect) {
  registry_->AddUniversalPublication([](std::shared_ptr<Subscription> sub) {
    sub->Added("meta", "server", Object{{"v", Value(1)}});
    sub->Ready();  // no-op for universal publications
  });
  Open();
  Send(R"({"msg":"connect","version":"1","support":["1"]})");
  auto frames = Take();
  ASSERT_EQ(frames.size(), 2u);  // connected, added; no ready for universal publications
  EXPECT_NE(frames[0].find(R"("msg":"connected")"), std::string::npos);
  EXPECT_EQ(frames[1], R"({"msg":"added","collection":"meta","id":"server","fields":{"v":1}})");
}

}  // namespace
}  // namespace ddp

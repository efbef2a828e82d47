// The I/O threads' loop: flushes asked for during a turn run after the
// turn's handlers, once per asking, and a turn is bounded.
#include "server/net/io_loop.h"

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ddp::net_internal {
namespace {

// Records the order of events in one log (everything runs on the loop's
// one thread).
struct Log {
  std::vector<std::string> events;
};

class Recorder : public TurnFlushable {
 public:
  Recorder(Log* log, std::string name) : log_(log), name_(std::move(name)) {}
  void FlushAtTurnEnd() override { log_->events.push_back("flush " + name_); }

 private:
  Log* log_;
  std::string name_;
};

// Runs the loop on its own thread until `ioc` runs out of work.
void RunLoopThread(asio::io_context& ioc) {
  std::thread t([&] { RunIoLoop(ioc); });
  t.join();
}

TEST(IoLoopTest, FlushesRunAfterTheTurnsHandlersOncePerAsking) {
  asio::io_context ioc;
  Log log;
  auto a = std::make_shared<Recorder>(&log, "a");
  auto b = std::make_shared<Recorder>(&log, "b");
  for (int i = 0; i < 5; ++i) {
    asio::post(ioc, [&, i] {
      log.events.push_back("handler " + std::to_string(i));
      if (i == 0) {
        EXPECT_TRUE(FlushAtEndOfTurn(a));
      }
      if (i == 2) {
        EXPECT_TRUE(FlushAtEndOfTurn(b));
      }
    });
  }
  RunLoopThread(ioc);
  EXPECT_EQ(log.events,
            (std::vector<std::string>{"handler 0", "handler 1", "handler 2", "handler 3",
                                      "handler 4", "flush a", "flush b"}));
}

TEST(IoLoopTest, AFlushWaitsForTheHandlersAlreadyQueued) {
  // More ready handlers than a turn takes: the flush asked for in the first
  // handler is posted when that turn ends (after kMaxHandlersPerTurn of
  // them), behind the handlers already waiting — change batches queued for
  // a connection go into the same write.
  asio::io_context ioc;
  Log log;
  auto a = std::make_shared<Recorder>(&log, "a");
  const int n = static_cast<int>(kMaxHandlersPerTurn) * 3;
  for (int i = 0; i < n; ++i) {
    asio::post(ioc, [&, i] {
      log.events.push_back("h");
      if (i == 0) {
        EXPECT_TRUE(FlushAtEndOfTurn(a));
      }
    });
  }
  RunLoopThread(ioc);
  ASSERT_EQ(log.events.size(), static_cast<size_t>(n) + 1);
  EXPECT_EQ(log.events.back(), "flush a");
}

TEST(IoLoopTest, HandlersPostedMeanwhileDoNotDelayAFlushForever) {
  // A handler that keeps posting another (sustained load): the flush still
  // runs, within a few turns.
  asio::io_context ioc;
  Log log;
  auto a = std::make_shared<Recorder>(&log, "a");
  int remaining = 10 * static_cast<int>(kMaxHandlersPerTurn);
  std::function<void()> chain = [&] {
    log.events.push_back("h");
    if (--remaining > 0) asio::post(ioc, chain);
  };
  asio::post(ioc, [&] {
    EXPECT_TRUE(FlushAtEndOfTurn(a));
    chain();
  });
  RunLoopThread(ioc);
  size_t flush_at = 0;
  for (size_t i = 0; i < log.events.size(); ++i) {
    if (log.events[i] == "flush a") flush_at = i;
  }
  // The first turn ran kMaxHandlersPerTurn handlers; the flush was posted
  // then, and runs right behind the one handler already waiting.
  EXPECT_GE(flush_at, kMaxHandlersPerTurn);
  EXPECT_LE(flush_at, kMaxHandlersPerTurn + 2);
  EXPECT_EQ(remaining, 0);
}

TEST(IoLoopTest, OutsideALoopThreadTheCallerIsTold) {
  Log log;
  auto a = std::make_shared<Recorder>(&log, "a");
  EXPECT_FALSE(FlushAtEndOfTurn(a));
  // A plain io_context::run() thread is not a loop thread either.
  asio::io_context ioc;
  bool asked = true;
  asio::post(ioc, [&] { asked = FlushAtEndOfTurn(a); });
  ioc.run();
  EXPECT_FALSE(asked);
  EXPECT_TRUE(log.events.empty());
}

TEST(IoLoopTest, StopsWhenTheContextIsStopped) {
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  bool ran = false;
  std::thread t([&] { RunIoLoop(ioc); });
  asio::post(ioc, [&] {
    ran = true;
    ioc.stop();
  });
  t.join();  // returns although the work guard is still there
  EXPECT_TRUE(ran);
  EXPECT_TRUE(ioc.stopped());
}

}  // namespace
}  // namespace ddp::net_internal

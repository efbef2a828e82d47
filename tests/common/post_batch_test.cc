#include <string>
#include <thread>
#include <vector>

#include "common/executor.h"
#include "gtest/gtest.h"

namespace ddp {
namespace {

// A target that records each hand-over instead of running it.
class RecordingTarget : public PostTarget {
 public:
  void PostAll(std::vector<absl::AnyInvocable<void() &&>> fns) override {
    handovers.push_back(std::move(fns));
  }
  std::vector<std::vector<absl::AnyInvocable<void() &&>>> handovers;
};

// Posts to `target` the way server/net's strands do: held inside a batch,
// run at once (here) outside one.
void Post(const std::shared_ptr<PostTarget>& target, std::vector<std::string>& log,
          std::string what) {
  absl::AnyInvocable<void() &&> fn = [&log, what] { log.push_back(what); };
  if (PostBatch::Active()) {
    PostBatch::Hold(target, std::move(fn));
  } else {
    std::move(fn)();
  }
}

void RunAll(std::vector<absl::AnyInvocable<void() &&>>& fns) {
  for (auto& fn : fns) std::move(fn)();
}

TEST(PostBatchTest, HoldsPostsUntilTheBatchEndsThenHandsThemOverOncePerTargetInOrder) {
  auto a = std::make_shared<RecordingTarget>();
  auto b = std::make_shared<RecordingTarget>();
  std::vector<std::string> log;
  EXPECT_FALSE(PostBatch::Active());
  {
    PostBatch batch;
    EXPECT_TRUE(PostBatch::Active());
    Post(a, log, "a1");
    Post(b, log, "b1");
    Post(a, log, "a2");
    Post(a, log, "a3");
    Post(b, log, "b2");
    EXPECT_TRUE(log.empty());
    EXPECT_TRUE(a->handovers.empty());
  }
  EXPECT_FALSE(PostBatch::Active());
  ASSERT_EQ(a->handovers.size(), 1u);
  ASSERT_EQ(b->handovers.size(), 1u);
  RunAll(a->handovers[0]);
  EXPECT_EQ(log, (std::vector<std::string>{"a1", "a2", "a3"}));
  RunAll(b->handovers[0]);
  EXPECT_EQ(log, (std::vector<std::string>{"a1", "a2", "a3", "b1", "b2"}));
}

TEST(PostBatchTest, AnInnerBatchJoinsTheOutermost) {
  auto a = std::make_shared<RecordingTarget>();
  std::vector<std::string> log;
  {
    PostBatch outer;
    Post(a, log, "1");
    {
      PostBatch inner;
      Post(a, log, "2");
    }
    EXPECT_TRUE(a->handovers.empty());  // the inner one handed nothing over
    Post(a, log, "3");
  }
  ASSERT_EQ(a->handovers.size(), 1u);
  RunAll(a->handovers[0]);
  EXPECT_EQ(log, (std::vector<std::string>{"1", "2", "3"}));
}

TEST(PostBatchTest, WithoutABatchNothingIsHeld) {
  auto a = std::make_shared<RecordingTarget>();
  std::vector<std::string> log;
  Post(a, log, "now");
  EXPECT_EQ(log, (std::vector<std::string>{"now"}));
  { PostBatch empty; }
  EXPECT_TRUE(a->handovers.empty());  // an empty batch hands nothing over
}

TEST(PostBatchTest, BatchesBelongToTheirThread) {
  PostBatch batch;
  bool active_elsewhere = true;
  std::thread([&] { active_elsewhere = PostBatch::Active(); }).join();
  EXPECT_FALSE(active_elsewhere);
}

}  // namespace
}  // namespace ddp

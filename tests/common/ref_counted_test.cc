#include "common/ref_counted.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace ddp {
namespace {

// Counts its destructions, so that every test can see exactly when the last
// reference let go.
class Tracked : public RefCounted<Tracked> {
 public:
  Tracked(std::string name, int* destroyed) : name(std::move(name)), destroyed_(destroyed) {}
  ~Tracked() { ++*destroyed_; }
  const std::string name;

 private:
  int* destroyed_;
};
using Ref = RefPtr<const Tracked>;

TEST(RefCountedTest, TheLastReferenceDeletesOnce) {
  int destroyed = 0;
  {
    Ref a = Ref::Make("a", &destroyed);
    EXPECT_EQ(sizeof(a), sizeof(void*));  // the point: one pointer, no control block
    Ref b = a;                            // copy
    Ref c = std::move(b);                 // move leaves b empty
    EXPECT_FALSE(b);
    EXPECT_TRUE(a == c);
    EXPECT_EQ(c->name, "a");
    a = nullptr;
    EXPECT_EQ(destroyed, 0);
    Ref d;
    d = c;  // copy-assign
    c = Ref::Make("e", &destroyed);
    EXPECT_EQ(destroyed, 0);
    EXPECT_EQ(d->name, "a");
  }
  EXPECT_EQ(destroyed, 2);
}

TEST(RefCountedTest, ReleaseAndTakeBackKeepTheCount) {
  int destroyed = 0;
  Ref a = Ref::Make("a", &destroyed);
  const Tracked* raw = a.Release();  // the reference now lives in `raw`
  EXPECT_FALSE(a);
  {
    Ref extra = Ref::FromRaw(raw);  // a second reference to the same object
    EXPECT_EQ(extra.get(), raw);
  }
  EXPECT_EQ(destroyed, 0);          // the released reference still holds it
  Ref::FromReleased(raw);           // takes it back and drops it
  EXPECT_EQ(destroyed, 1);
}

TEST(RefCountedTest, ReferencesFromManyThreads) {
  int destroyed = 0;
  Ref shared = Ref::Make("s", &destroyed);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([shared] {
      for (int i = 0; i < 100000; ++i) {
        Ref copy = shared;
        Ref moved = std::move(copy);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(destroyed, 0);
  shared = nullptr;
  EXPECT_EQ(destroyed, 1);
}

}  // namespace
}  // namespace ddp

// Randomized decoding: random EJSON values must round-trip, and random
// mutations of valid DDP messages must decode or fail cleanly (never crash,
// never leak; ASan/UBSan watch). The number of iterations comes from
// DDP_RANDOM_ITERATIONS (default 20000, what CI runs); the seed from
// DDP_RANDOM_SEED (default: time, printed on failure).
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "protocol/ddp_message.h"
#include "protocol/json.h"

namespace ddp {
namespace {

int Iterations() {
  const char* env = std::getenv("DDP_RANDOM_ITERATIONS");
  return env ? std::atoi(env) : 20000;
}

uint64_t Seed() {
  const char* env = std::getenv("DDP_RANDOM_SEED");
  return env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
}

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  int Int(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string Str() {
    static const std::string kPieces[] = {"a", "$", "$date", "é", "\"", "\\", "\n", "日", "😀",
                                          "x.y", "", "0", "$escape", "\x01"};
    std::string s;
    int n = Int(4);
    for (int i = 0; i < n; ++i) s += kPieces[Int(14)];
    return s;
  }

  Value Val(int depth) {
    int kind = Int(depth > 3 ? 10 : 13);
    switch (kind) {
      case 0: return Value();
      case 1: return Value(Int(2) == 1);
      case 2: return Value(static_cast<int64_t>(rng_()));
      case 3: return Value(std::uniform_real_distribution<double>(-1e6, 1e6)(rng_));
      case 4: return Value(Str());
      case 5: return Value(Date{static_cast<int64_t>(rng_() % 4000000000000ULL)});
      case 6: return Value(Binary{Str()});
      case 7: return Value(ObjectId{absl::StrCat("0123456789abcdef0123456", std::string(1, "0af"[Int(3)]))});
      case 8: return Value(Regex{Str(), "i"});
      case 9: return Value(Int(2) ? 1.0 / 0.0 : 0.0 / 0.0);
      case 10: {
        Array a;
        int n = Int(4);
        for (int i = 0; i < n; ++i) a.push_back(Val(depth + 1));
        return Value(std::move(a));
      }
      case 11: {
        Object o;
        int n = Int(4);
        for (int i = 0; i < n; ++i) o.Set(Str(), Val(depth + 1));
        return Value(std::move(o));
      }
      default:
        return Value(Custom{absl::StrCat("T", Str()), Box<Value>(Val(depth + 1))});
    }
  }

  std::string Mutate(std::string s) {
    int edits = 1 + Int(3);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t pos = static_cast<size_t>(Int(static_cast<int>(s.size())));
      switch (Int(5)) {
        case 0: s[pos] = static_cast<char>(Int(256)); break;
        case 1: s.erase(pos, 1); break;
        case 2: s.insert(pos, 1, "{}[]\",:\\0e-$"[Int(13)]); break;
        case 3: s.resize(pos); break;
        default: s.insert(pos, s.substr(pos, static_cast<size_t>(Int(8)))); break;
      }
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

TEST(DecodeRandomTest, RandomValuesRoundTrip) {
  uint64_t seed = Seed();
  Gen gen(seed);
  for (int i = 0; i < Iterations(); ++i) {
    Value v = gen.Val(0);
    std::string text = ToJson(v);
    auto back = ParseJson(text);
    ASSERT_TRUE(back.ok()) << "seed " << seed << " text " << text << ": " << back.status();
    ASSERT_EQ(*back, v) << "seed " << seed << " text " << text;
    ASSERT_EQ(ToJson(*back), text);
  }
}

TEST(DecodeRandomTest, MutatedMessagesNeverCrash) {
  const std::string kSeeds[] = {
      R"({"msg":"connect","version":"1","support":["1","pre2"]})",
      R"({"msg":"sub","id":"a","name":"t.x","params":[{"filter":{"a":{"$in":[1,2]}}}]})",
      R"({"msg":"method","method":"/c/update","params":[{"_id":"x"},{"$set":{"a.b":{"$date":1}}}],"id":"1"})",
      R"({"msg":"changed","collection":"c","id":"d","fields":{"a":{"$escape":{"$binary":"AA=="}}},"cleared":["z"]})",
      R"({"msg":"result","id":"1","error":{"error":409,"reason":"r"}})",
      R"({"msg":"ping","id":"1"})",
  };
  uint64_t seed = Seed();
  Gen gen(seed);
  int decoded = 0, failed = 0;
  for (int i = 0; i < Iterations(); ++i) {
    std::string text = gen.Mutate(kSeeds[gen.Int(6)]);
    auto m = DecodeMessage(std::string_view(text));
    if (!m.ok()) {
      ++failed;
      ASSERT_FALSE(TopLevelReason(m.status()).empty()) << "seed " << seed << ": " << text;
      continue;
    }
    ++decoded;
    // Whatever decodes re-encodes to something that decodes to the same.
    std::string once = EncodeMessage(*m);
    auto again = DecodeMessage(std::string_view(once));
    ASSERT_TRUE(again.ok()) << "seed " << seed << ": " << text << " -> " << once;
    ASSERT_EQ(EncodeMessage(*again), once) << "seed " << seed;
  }
  // Both paths were exercised.
  EXPECT_GT(decoded, 0);
  EXPECT_GT(failed, 0);
}

}  // namespace
}  // namespace ddp

#include "server/ddp/method_stats.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace ddp {
namespace {

uint64_t Calls(const MethodStats& s, std::string_view method, std::string_view outcome) {
  uint64_t n = 0;
  for (const auto& r : s.Read()) {
    if (r.method == method && r.outcome == outcome) n += r.calls;
  }
  return n;
}

TEST(MethodStatsTest, CountsByNameAndOutcome) {
  MethodStats s;
  s.For("/chat/insert").Count(absl::StatusCode::kOk);
  s.For("/chat/insert").Count(absl::StatusCode::kOk);
  s.For("/chat/insert").Count(absl::StatusCode::kPermissionDenied);
  s.Unknown().Count(absl::StatusCode::kNotFound);
  EXPECT_EQ(Calls(s, "/chat/insert", "ok"), 2u);
  EXPECT_EQ(Calls(s, "/chat/insert", "permission_denied"), 1u);
  EXPECT_EQ(Calls(s, "(unknown)", "not_found"), 1u);
  EXPECT_EQ(s.Read().size(), 3u) << "no rows for outcomes never seen";
  EXPECT_EQ(&s.For("/chat/insert"), &s.For("/chat/insert")) << "stable counters";
}

TEST(MethodStatsTest, NamesPastTheLimitShareOther) {
  MethodStats s;
  for (size_t i = 0; i < MethodStats::kMaxNames + 10; ++i) {
    s.For("m" + std::to_string(i)).Count(absl::StatusCode::kOk);
  }
  EXPECT_EQ(Calls(s, "(other)", "ok"), 10u);
  EXPECT_EQ(Calls(s, "m0", "ok"), 1u);
  const auto rows = s.Read();
  EXPECT_EQ(rows.size(), MethodStats::kMaxNames + 1);
  // A name already known keeps its own counters.
  s.For("m5").Count(absl::StatusCode::kInternal);
  EXPECT_EQ(Calls(s, "m5", "internal"), 1u);
}

TEST(MethodStatsTest, CodesOutsideTheCanonicalRangeCountAsUnknown) {
  MethodStats s;
  s.For("x").Count(static_cast<absl::StatusCode>(99));
  EXPECT_EQ(Calls(s, "x", "unknown"), 1u);
}

}  // namespace
}  // namespace ddp

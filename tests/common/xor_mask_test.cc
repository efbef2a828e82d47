#include "common/xor_mask.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace ddp {
namespace {

// Every length around the 8-byte steps, every key, against the byte-wise
// definition; in place too (masking twice gives the input back).
TEST(XorMaskTest, MatchesTheByteWiseDefinition) {
  std::mt19937 rng(3);
  for (size_t n = 0; n < 70; ++n) {
    std::string src(n, '\0');
    for (char& c : src) c = static_cast<char>(rng());
    char key[4];
    for (char& k : key) k = static_cast<char>(rng());
    std::string want(n, '\0');
    for (size_t i = 0; i < n; ++i) want[i] = static_cast<char>(src[i] ^ key[i % 4]);
    std::string got(n, '\0');
    XorMask(src.data(), n, key, got.data());
    EXPECT_EQ(got, want) << "n=" << n;
    XorMask(got.data(), n, key, got.data());
    EXPECT_EQ(got, src) << "n=" << n;
  }
}

}  // namespace
}  // namespace ddp

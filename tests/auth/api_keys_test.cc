// ApiKeys and TokenStore: parsing, lookup, scopes, expiry, revocation.
#include "auth/api_keys.h"

#include "auth/tokens.h"
#include <chrono>

#include "gtest/gtest.h"

namespace ddp::auth {
namespace {

TEST(ApiKeysTest, ParsesNamesScopesAndKeys) {
  auto keys = ApiKeys::Parse(
      "# comment\n\nreporting read  aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
      "ingest read,write bbbbbbbbbbbbbbbbbbbbbbbbbbbb # trailing comment\n");
  ASSERT_TRUE(keys.ok()) << keys.status();
  const ApiKey* r = keys->Find("aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "reporting");
  EXPECT_TRUE(r->read);
  EXPECT_FALSE(r->write);
  const ApiKey* w = keys->Find("bbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->write);
  EXPECT_EQ(keys->Find("aaaaaaaaaaaaaaaaaaaaaaaaaaa"), nullptr);
  EXPECT_EQ(keys->Find(""), nullptr);
}

TEST(ApiKeysTest, MalformedLinesAreNamed) {
  EXPECT_EQ(ApiKeys::Parse("a read").status().message(),
            "API keys, line 1: expected <name> <scopes> <key>");
  EXPECT_EQ(ApiKeys::Parse("\na admin aaaaaaaaaaaaaaaaaaaaaaaaaaaa").status().message(),
            "API keys, line 2: unknown scope 'admin' (read, write)");
  EXPECT_EQ(ApiKeys::Parse("a read short").status().message(),
            "API keys, line 1: keys must have at least 24 characters");
  EXPECT_EQ(ApiKeys::Parse("a read aaaaaaaaaaaaaaaaaaaaaaaaaaaa\na write bbbbbbbbbbbbbbbbbbbbbbbbbbbb")
                .status()
                .message(),
            "API keys, line 2: a second key named 'a'");
}

TEST(TokenStoreTest, IssuesResumesExpiresAndRevokes) {
  // Expiry times near the real clock: Issue drops expired tokens by it.
  const int64_t t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  TokenStore store(3);
  Login alice{"alice", nullptr, t0 + 100'000};
  auto t1 = store.Issue(alice);
  auto t2 = store.Issue(alice);
  auto t3 = store.Issue(Login{"bob", nullptr, t0 + 200'000});
  ASSERT_TRUE(t1.ok() && t2.ok() && t3.ok());
  EXPECT_NE(*t1, *t2);
  EXPECT_EQ(store.Resume(*t1, t0 + 5'000)->user_id, "alice");
  EXPECT_FALSE(store.Resume(*t1 + "x", t0 + 5'000).ok());
  // Full: nothing expired yet, so no more.
  EXPECT_EQ(store.Issue(alice).status().code(), absl::StatusCode::kResourceExhausted);
  // Revocation: one token, then every token of a user but one.
  store.Revoke(*t2);
  EXPECT_FALSE(store.Resume(*t2, t0 + 5'000).ok());
  auto t4 = store.Issue(alice);
  ASSERT_TRUE(t4.ok());
  store.RevokeUser("alice", *t4);
  EXPECT_FALSE(store.Resume(*t1, t0 + 5'000).ok());
  EXPECT_TRUE(store.Resume(*t4, t0 + 5'000).ok());
  EXPECT_TRUE(store.Resume(*t3, t0 + 5'000).ok());
  // Expiry.
  EXPECT_EQ(store.Resume(*t4, t0 + 100'000).status().message(), "the login token expired");
  EXPECT_TRUE(store.Resume(*t3, t0 + 199'999).ok());
}

TEST(TokenStoreTest, OneUserCannotFillTheStore) {
  const int64_t t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  TokenStore store(/*max_tokens=*/10, /*max_per_user=*/3);
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) tokens.push_back(*store.Issue(Login{"mallory", nullptr, t0 + 60'000}));
  EXPECT_EQ(store.size(), 3u) << "each login past the third revokes the oldest";
  EXPECT_FALSE(store.Resume(tokens[4], t0).ok());
  EXPECT_TRUE(store.Resume(tokens[7], t0).ok());
  // Others still get in.
  for (int i = 0; i < 7; ++i) {
    EXPECT_TRUE(store.Issue(Login{"user" + std::to_string(i), nullptr, t0 + 60'000}).ok());
  }
  EXPECT_EQ(store.size(), 10u);
  store.RevokeUser("mallory", "");
  EXPECT_EQ(store.size(), 7u);
}

}  // namespace
}  // namespace ddp::auth

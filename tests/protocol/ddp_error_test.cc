#include "protocol/ddp_error.h"

#include "gtest/gtest.h"
#include "protocol/json.h"

namespace ddp {
namespace {

TEST(DdpErrorTest, SerializesLikeMeteorError) {
  EXPECT_EQ(ToJson(MakeDdpError(404, "Method 'x' not found").ToValue()),
            R"({"isClientSafe":true,"error":404,"reason":"Method 'x' not found",)"
            R"("message":"Method 'x' not found [404]","errorType":"Meteor.Error"})");
  DdpError e = MakeDdpError("conflict", 409, "version mismatch");
  e.details = Value(Object{{"id", Value("a")}});
  EXPECT_EQ(ToJson(e.ToValue()),
            R"({"isClientSafe":true,"error":"conflict","reason":"version mismatch",)"
            R"("message":"version mismatch [conflict]","errorType":"Meteor.Error",)"
            R"("details":{"id":"a"}})");
}

TEST(DdpErrorTest, MapsStatusCodes) {
  struct Case {
    absl::Status status;
    Value error;
    int http;
  };
  std::vector<Case> cases = {
      {absl::InvalidArgumentError("bad"), Value(400), 400},
      {absl::UnauthenticatedError("who"), Value(401), 401},
      {absl::PermissionDeniedError("no"), Value(403), 403},
      {absl::NotFoundError("none"), Value(404), 404},
      {absl::AlreadyExistsError("dup"), Value(409), 409},
      {absl::FailedPreconditionError("pre"), Value("conflict"), 409},
      {ConflictError("c"), Value("conflict"), 409},
      {TooManyRequestsError("slow down"), Value("too-many-requests"), 429},
      {absl::UnavailableError("down"), Value(503), 503},
  };
  for (const Case& c : cases) {
    DdpError e = DdpErrorFromStatus(c.status);
    EXPECT_EQ(e.error, c.error) << c.status;
    EXPECT_EQ(e.http_status, c.http) << c.status;
    EXPECT_EQ(e.reason, c.status.message());
    EXPECT_FALSE(IsInternalError(c.status));
  }
}

TEST(DdpErrorTest, InternalErrorsHideTheirDetail) {
  absl::Status s = absl::InternalError("rocksdb: IO error: /data/000123.sst");
  EXPECT_TRUE(IsInternalError(s));
  DdpError e = DdpErrorFromStatus(s);
  EXPECT_EQ(e.error, Value(500));
  EXPECT_EQ(e.reason, "Internal server error");
  EXPECT_EQ(e.Message(), "Internal server error [500]");
}

TEST(DdpErrorTest, ReadsBackFromValue) {
  DdpError e = MakeDdpError("conflict", 409, "x");
  auto back = DdpError::FromValue(e.ToValue());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->error, Value("conflict"));
  EXPECT_EQ(back->http_status, 409);
  EXPECT_EQ(back->reason, "x");
  EXPECT_FALSE(DdpError::FromValue(Value(Object{})).ok());
}

}  // namespace
}  // namespace ddp

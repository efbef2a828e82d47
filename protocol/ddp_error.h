// The Meteor.Error object that DDP carries in `result.error` and
// `nosub.error`, and its mapping from absl::Status.
//
//   {"isClientSafe":true,"error":404,"reason":"…","message":"… [404]",
//    "errorType":"Meteor.Error","details":…}
//
// `error` is a number (HTTP-like) or a string code such as "conflict" or
// "too-many-requests". Anything that is not a client error becomes 500
// "Internal server error": the detail goes to the server log, never to the
// client.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/value.h"

namespace ddp {

struct DdpError {
  Value error;  // int64 or string code
  std::string reason;
  std::optional<Value> details;
  // HTTP status for the REST API (the numeric code, or the status a string
  // code stands for: conflict 409, too-many-requests 429, ...).
  int http_status = 500;

  // Serializes to the Meteor.Error object.
  Value ToValue() const;
  // The `message` field: "reason [error]".
  std::string Message() const;
  // Reads a Meteor.Error object (client side). Accepts any object with an
  // `error` field; missing parts stay empty.
  static absl::StatusOr<DdpError> FromValue(const Value& v);
};

// A DdpError with a numeric code.
DdpError MakeDdpError(int code, std::string reason);
// A DdpError with a string code and the HTTP status it stands for.
DdpError MakeDdpError(std::string code, int http_status, std::string reason);
// 500 "Internal server error".
DdpError InternalServerError();

// Status constructors whose DDP mapping is a string code.
absl::Status ConflictError(std::string_view reason);         // "conflict", 409
absl::Status TooManyRequestsError(std::string_view reason);  // "too-many-requests", 429
// Meteor's DDPRateLimiter error: "too-many-requests" with its reason text
// and details.timeToReset (milliseconds until a retry may succeed).
absl::Status RateLimitedError(int64_t time_to_reset_ms);
// `status` with `details` for the client's error object.
absl::Status WithDetails(absl::Status status, const Value& details);

// Maps a status to the error the client sees:
//   InvalidArgument, OutOfRange 400; Unauthenticated 401; PermissionDenied 403;
//   NotFound 404; AlreadyExists 409; FailedPrecondition, Aborted "conflict";
//   ResourceExhausted "too-many-requests"; Unavailable 503;
//   DeadlineExceeded 504; everything else 500 "Internal server error".
// A status made by the constructors above keeps its string code.
DdpError DdpErrorFromStatus(const absl::Status& status);

// True when DdpErrorFromStatus hides the message (500): callers log it.
bool IsInternalError(const absl::Status& status);

}  // namespace ddp

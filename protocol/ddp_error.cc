#include "protocol/ddp_error.h"

#include "absl/strings/cord.h"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp {
namespace {

constexpr std::string_view kCodePayload = "ddp.error";
constexpr std::string_view kDetailsPayload = "ddp.details";

std::string CodeText(const Value& code) {
  if (code.is_int()) return StrCat(code.as_int());
  if (code.is_string()) return code.as_string();
  if (code.is_double()) return StrCat(code.as_double());
  return "error";
}

int HttpStatusForCode(std::string_view code) {
  if (code == "conflict") return 409;
  if (code == "too-many-requests") return 429;
  if (code == "not-authorized") return 403;
  if (code == "bad-request") return 400;
  return 400;
}

absl::Status WithCode(absl::Status s, std::string_view code) {
  s.SetPayload(ToAbsl(kCodePayload), absl::Cord(ToAbsl(code)));
  return s;
}

}  // namespace

Value DdpError::ToValue() const {
  Object o;
  o.reserve(6);
  o.Append("isClientSafe", Value(true));
  o.Append("error", error);
  o.Append("reason", Value(reason));
  o.Append("message", Value(Message()));
  o.Append("errorType", Value("Meteor.Error"));
  if (details) o.Append("details", *details);
  return Value(std::move(o));
}

std::string DdpError::Message() const {
  if (reason.empty()) return StrCat("[", CodeText(error), "]");
  return StrCat(reason, " [", CodeText(error), "]");
}

absl::StatusOr<DdpError> DdpError::FromValue(const Value& v) {
  const Value* code = v.Find("error");
  if (code == nullptr) return absl::InvalidArgumentError("an error object needs an `error` field");
  DdpError e;
  e.error = *code;
  if (const Value* r = v.Find("reason"); r != nullptr && r->is_string()) e.reason = r->as_string();
  if (const Value* d = v.Find("details")) e.details = *d;
  e.http_status = code->is_int() ? static_cast<int>(code->as_int())
                  : code->is_string() ? HttpStatusForCode(code->as_string())
                                      : 500;
  return e;
}

DdpError MakeDdpError(int code, std::string reason) {
  DdpError e;
  e.error = Value(code);
  e.reason = std::move(reason);
  e.http_status = code;
  return e;
}

DdpError MakeDdpError(std::string code, int http_status, std::string reason) {
  DdpError e;
  e.error = Value(std::move(code));
  e.reason = std::move(reason);
  e.http_status = http_status;
  return e;
}

DdpError InternalServerError() { return MakeDdpError(500, "Internal server error"); }

absl::Status ConflictError(std::string_view reason) {
  return WithCode(absl::FailedPreconditionError(ToAbsl(reason)), "conflict");
}

absl::Status TooManyRequestsError(std::string_view reason) {
  return WithCode(absl::ResourceExhaustedError(ToAbsl(reason)), "too-many-requests");
}

absl::Status WithDetails(absl::Status status, const Value& details) {
  status.SetPayload(ToAbsl(kDetailsPayload), absl::Cord(ToAbsl(ToJson(details))));
  return status;
}

absl::Status RateLimitedError(int64_t time_to_reset_ms) {
  Object details;
  details.Append("timeToReset", Value(time_to_reset_ms));
  return WithDetails(
      TooManyRequestsError(StrCat("Error, too many requests. Please slow down. You must wait ",
                                  (time_to_reset_ms + 999) / 1000, " seconds before trying again.")),
      Value(std::move(details)));
}

bool IsInternalError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return false;
    default:
      return true;
  }
}

DdpError DdpErrorFromStatus(const absl::Status& status) {
  std::string reason(status.message());
  if (auto code = status.GetPayload(ToAbsl(kCodePayload))) {
    std::string c(*code);
    int http = HttpStatusForCode(c);
    DdpError e = MakeDdpError(std::move(c), http, std::move(reason));
    if (auto details = status.GetPayload(ToAbsl(kDetailsPayload))) {
      absl::StatusOr<Value> v = ParseJson(std::string(*details));
      if (v.ok()) e.details = std::move(*v);
    }
    return e;
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return MakeDdpError(400, std::move(reason));
    case absl::StatusCode::kUnauthenticated:
      return MakeDdpError(401, std::move(reason));
    case absl::StatusCode::kPermissionDenied:
      return MakeDdpError(403, std::move(reason));
    case absl::StatusCode::kNotFound:
      return MakeDdpError(404, std::move(reason));
    case absl::StatusCode::kAlreadyExists:
      return MakeDdpError(409, std::move(reason));
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return MakeDdpError("conflict", 409, std::move(reason));
    case absl::StatusCode::kResourceExhausted:
      return MakeDdpError("too-many-requests", 429, std::move(reason));
    case absl::StatusCode::kUnavailable:
      return MakeDdpError(503, std::move(reason));
    case absl::StatusCode::kDeadlineExceeded:
      return MakeDdpError(504, std::move(reason));
    default:
      return InternalServerError();
  }
}

}  // namespace ddp

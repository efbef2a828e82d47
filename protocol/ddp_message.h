// DDP messages (Meteor's DDP spec, versions 1, pre2 and pre1) as typed
// structs, with decoding from and encoding to JSON text.
//
// Decoding validates the fields each message needs and ignores unknown
// ones. A failed decode returns InvalidArgument whose TopLevelReason() is
// the exact reason a server puts in its top-level `error` message:
//   "Parse error"                  not JSON / not UTF-8 / beyond the limits
//   "Bad request"                  not an object, no `msg`, unknown `msg`,
//                                  or a malformed message of another kind
//   "Malformed subscription"       `sub` with a non-string id or name, or
//                                  params that are not an array
//   "Malformed method invocation"  `method` with a non-string id or method,
//                                  params that are not an array, or a
//                                  non-string randomSeed
// `connect` is the exception: a malformed connect is still decoded (with the
// fields it has) because the server answers it with `failed`, not `error`.
//
// Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/json.h"
#include "protocol/value.h"

namespace ddp {

// The versions this implementation speaks, most preferred first.
inline constexpr std::string_view kSupportedDdpVersions[] = {"1", "pre2", "pre1"};

struct ConnectMsg {
  std::string version;  // empty when missing or not a string
  std::vector<std::string> support;
  std::optional<std::string> session;
  bool well_formed = true;  // false when `version`/`support` had wrong types
  // ddpd's resume (the `ddpd_resume` field, see server/ddp/resume.h): what a
  // reconnecting client holds, {"docs": {collection: {id: digest}}}.
  std::optional<Value> resume;
  // Meteor 3.5's session resumption: with `session`, how many messages
  // (other than ping and pong) the client received in that session.
  // Absent unless a non-negative integer.
  std::optional<uint64_t> received_count;
};
struct ConnectedMsg {
  std::string session;
  // `ddpd_resume` in the reply: "diff" when the server took the client's
  // resume (it then sends only what differs from what the client holds).
  std::optional<std::string> resume;
};
struct FailedMsg {
  std::string version;
};
struct PingMsg {
  std::optional<std::string> id;
};
struct PongMsg {
  std::optional<std::string> id;
};
struct SubMsg {
  std::string id;
  std::string name;
  Array params;
};
struct UnsubMsg {
  std::string id;
};
struct NosubMsg {
  std::string id;
  std::optional<Value> error;
};
struct ReadyMsg {
  std::vector<std::string> subs;
};
struct AddedMsg {
  std::string collection;
  std::string id;
  Object fields;
};
struct ChangedMsg {
  std::string collection;
  std::string id;
  Object fields;
  std::vector<std::string> cleared;
};
struct RemovedMsg {
  std::string collection;
  std::string id;
};
struct AddedBeforeMsg {
  std::string collection;
  std::string id;
  Object fields;
  std::optional<std::string> before;  // nullopt: at the end
};
struct MovedBeforeMsg {
  std::string collection;
  std::string id;
  std::optional<std::string> before;
};
struct MethodMsg {
  std::string method;
  Array params;
  std::string id;
  std::optional<std::string> random_seed;
};
struct ResultMsg {
  std::string id;
  std::optional<Value> error;
  std::optional<Value> result;  // absent when the method returned nothing
};
struct UpdatedMsg {
  std::vector<std::string> methods;
};
struct ErrorMsg {
  std::string reason;
  std::optional<Value> offending_message;
};
// Meteor 3.5: the client leaves on purpose; its session is not kept for a
// reconnect.
struct DisconnectMsg {};

using Message =
    std::variant<ConnectMsg, ConnectedMsg, FailedMsg, PingMsg, PongMsg, SubMsg, UnsubMsg,
                 NosubMsg, ReadyMsg, AddedMsg, ChangedMsg, RemovedMsg, AddedBeforeMsg,
                 MovedBeforeMsg, MethodMsg, ResultMsg, UpdatedMsg, ErrorMsg, DisconnectMsg>;

// The `msg` name of a message ("connect", "added", ...).
std::string_view MessageName(const Message& m);

// Top-level error reasons (API.md §3).
inline constexpr std::string_view kParseError = "Parse error";
inline constexpr std::string_view kBadRequest = "Bad request";
inline constexpr std::string_view kMustConnectFirst = "Must connect first";
inline constexpr std::string_view kAlreadyConnected = "Already connected";
inline constexpr std::string_view kMalformedSubscription = "Malformed subscription";
inline constexpr std::string_view kMalformedMethod = "Malformed method invocation";

// The top-level reason carried by a decode error ("" for other statuses).
std::string TopLevelReason(const absl::Status& status);

// Decodes a parsed message. On success the fields are moved out of `v`; on
// failure `v` is left untouched so it can be echoed as offendingMessage.
absl::StatusOr<Message> DecodeMessage(Value& v);

// Parses and decodes one text frame.
absl::StatusOr<Message> DecodeMessage(std::string_view text, const JsonLimits& limits = {});

// Encodes any message as one JSON text.
void AppendMessage(const Message& m, std::string* out);
std::string EncodeMessage(const Message& m);

// Fast paths for the data messages the server sends most, without building
// a Message first.
std::string EncodeAdded(std::string_view collection, std::string_view id, const Object& fields);
std::string EncodeChanged(std::string_view collection, std::string_view id, const Object& fields,
                          const std::vector<std::string>& cleared);
std::string EncodeRemoved(std::string_view collection, std::string_view id);

}  // namespace ddp

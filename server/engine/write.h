// Transactions: what a write asks for, parsed from DDP method params or
// HTTP bodies (API.md §5), and what it returns.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/value.h"
#include "query/modifier.h"
#include "query/selector.h"

namespace ddp::engine {

// What an access rule lets one caller write (server/access sets it; the
// committer enforces it against the state it applies to):
// - documents that fail `filter` do not exist for the op: updates, removes
//   and preconditions pass them by as if absent;
// - what an op writes must pass `filter` (else PermissionDenied, and the
//   transaction is not applied), and an insert's or a publish's document
//   that would replace one failing it is refused;
// - `hidden` fields are kept from the stored document by replacements (the
//   caller can neither see nor write them).
struct WriteGuard {
  query::Selector filter;
  std::vector<std::string> hidden;
};

struct WriteOp {
  enum class Kind { kInsert, kUpdate, kRemove, kPublish, kExpect };
  Kind kind = Kind::kInsert;
  std::string topic;
  // insert: one document; publish: one or more.
  std::vector<Object> docs;
  // update / remove / expect-match.
  query::Selector selector;
  query::Modifier modifier;
  bool multi = false;
  bool upsert = false;
  bool return_object = false;  // Meteor's _returnObject: {numberAffected, insertedId}
  // expect
  std::string id;
  std::optional<bool> exists;
  std::optional<uint64_t> version;
  std::optional<query::Selector> match;
  // null: the caller may write anything (no rules, or a rule without a row
  // filter or hidden fields).
  std::shared_ptr<const WriteGuard> guard;
};

// The shape of the result the caller expects back.
enum class ResultShape {
  kTx,       // {seq, results}
  kInsert,   // the _id
  kUpdate,   // number, or {numberAffected, insertedId}
  kRemove,   // number
  kPublish,  // {ids, seq}
};

struct TxRequest {
  std::vector<WriteOp> ops;
  std::string key;  // idempotency key; empty for none
  ResultShape shape = ResultShape::kTx;
};

struct TxResult {
  uint64_t seq = 0;            // the transaction's seq (the last seq when it wrote nothing)
  std::vector<Value> results;  // one per op
  bool replayed = false;       // answered from an idempotency key
};

// The value a method returns for `result` in `shape`.
Value ResultValue(const TxResult& r, ResultShape shape);

// Parsers. Errors are InvalidArgument (400) naming the offending part.
absl::StatusOr<TxRequest> ParseTx(const Value& ops, const Value& options);
absl::StatusOr<TxRequest> ParseInsert(std::string_view topic, const Array& params);
absl::StatusOr<TxRequest> ParseUpdate(std::string_view topic, const Array& params);
absl::StatusOr<TxRequest> ParseRemove(std::string_view topic, const Array& params);
// `docs`: a document or an array of documents.
absl::StatusOr<TxRequest> ParsePublish(std::string_view topic, const Value& docs);

}  // namespace ddp::engine

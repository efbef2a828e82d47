// Aggregation expressions (API.md §6): field paths ("$a.b"), literals,
// objects and arrays of expressions, and the operators $add $subtract
// $multiply $divide $mod $concat $toLower $toUpper $cond $ifNull $eq $ne
// $gt $gte $lt $lte $cmp $dateTrunc $literal.
//
// Evaluation never fails: where MongoDB would abort an aggregation (divide
// by zero, $concat of a number), the result is null, because a live query
// must keep running for the other documents. Compilation errors (unknown
// operator, wrong arity) are InvalidArgument naming the operator.
//
// A compiled Expr is immutable and thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/value.h"

namespace ddp::query {

class Expr {
 public:
  struct Node;

  // A constant null.
  Expr();
  static absl::StatusOr<Expr> Compile(const Value& spec);

  // nullopt means "missing" (a field path that does not resolve), which
  // $project and $addFields treat as "leave the field out".
  std::optional<Value> Evaluate(const Object& doc) const;
  // Missing as null.
  Value EvaluateOrNull(const Object& doc) const;

  // True for a field path or an expression that reads fields.
  bool reads_fields() const;
  // "a.b" when the expression is exactly the field path "$a.b".
  const std::optional<std::string>& field_path() const;

 private:
  std::shared_ptr<const Node> root_;
  std::optional<std::string> field_path_;
};

// MongoDB truthiness in aggregation: false, null, missing, 0 are false.
bool Truthy(const std::optional<Value>& v);

// A string that is equal for values MongoDB considers equal (1 and 1.0
// included) and different otherwise: keys for joins, groups and hashing.
std::string KeyString(const Value& v);

}  // namespace ddp::query

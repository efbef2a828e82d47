// Status helpers shared by every module.
//
// Module APIs return absl::Status / absl::StatusOr<T>; nothing throws across a
// module boundary. These macros keep the early-return plumbing short.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define DDP_STATUS_CONCAT_INNER_(a, b) a##b
#define DDP_STATUS_CONCAT_(a, b) DDP_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status ddp_status_ = (expr);       \
    if (!ddp_status_.ok()) return ddp_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(DDP_STATUS_CONCAT_(ddp_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

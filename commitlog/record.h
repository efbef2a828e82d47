// The record of one commit group in a shared log: everything another node
// needs to reach the same state by applying it (documents written, their
// versions, the change-log records, idempotency keys, the seqs and time).
//
// What a node computes for itself is left out: the documents a group
// replaces (each node reads them from its own state, which is the same
// state), and the LogBodies that depend on how far that node trimmed its
// change log.
//
// Format (version 1), integers as LEB128 varints, strings as length +
// bytes:
//   'D' 1 | last_seq | time_millis | idem_expires_millis
//   | n_writes  { topic | id | version | prev_version | has_doc [ json ] }
//   | n_log     { seq | record }
//   | n_idem    { key | result }
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace ddp::commitlog {

// The first byte of every record.
inline constexpr char kRecordMagic = 'D';

std::string EncodeGroup(const storage::CommitBatch& batch);
// DataLoss when `bytes` is not a record this version can read.
absl::StatusOr<storage::CommitBatch> DecodeGroup(std::string_view bytes);

}  // namespace ddp::commitlog

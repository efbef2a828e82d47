// Publications and methods for tests, shared by the in-process server tests
// and the test_server binary that the npm client tests drive. None of this
// is in the production ddpd.
//
// Methods: echo, add, fail (404), throw, nothing (no result), slow [ms],
//   counter.inc (changes the `counter` publication's document before it
//   replies), ticker.tick [v] (sets {v} on every `ticker` subscriber),
//   subs.count (live ticker subscriptions).
// Publications: items [n], items-b [n] (same ids, other fields), counter,
//   ticker, denied (403), throws, flood [count, bytes], self-stop, whoami
//   (documents that depend on the logged-in user), pending (never ready).
#pragma once

#include <memory>

#include "server/ddp/registry.h"

namespace ddp::testing {

std::shared_ptr<Registry> MakeTestRegistry();

}  // namespace ddp::testing

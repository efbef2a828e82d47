// A subscriber's view of one collection built only from the data messages
// it received, for tests that compare it with a reference.
#pragma once

#include <map>
#include <string>

#include "protocol/value.h"

namespace ddp::testing {

using View = std::map<std::string, Object>;  // id -> fields (without _id)

// Applies one data message (added, changed, removed; others are ignored)
// to the view; returns a description of a protocol violation, or "".
std::string Apply(View& view, const Value& m);

// The view as one comparable string.
std::string Canonical(const View& view);

}  // namespace ddp::testing

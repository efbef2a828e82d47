// The currency of live queries: changes to documents, keyed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/data_change.h"
#include "protocol/value.h"

namespace ddp::query {

using DocPtr = std::shared_ptr<const Object>;

// One document's change as it flows between operators. `before` null: it
// appeared; `after` null: it went away; both: it changed.
struct DocDelta {
  std::string key;    // unique within the evaluation's stream
  std::string id;     // the DDP document id
  std::string topic;  // the topic it came from ("" for derived documents)
  DocPtr before;
  DocPtr after;
};
using DocDeltas = std::vector<DocDelta>;

// What a subscriber is told (DDP data messages).
using LiveDelta = DataChange;
using LiveDeltas = std::vector<LiveDelta>;

}  // namespace ddp::query

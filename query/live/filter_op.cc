// $match (and the query's filter): passes documents that match; a document
// that starts or stops matching becomes an addition or a removal.
#include "query/live/operator.h"

namespace ddp::query {

void EmitChange(DocDeltas* out, const DocDelta& like, DocPtr before, DocPtr after) {
  if (before == nullptr && after == nullptr) return;
  if (before != nullptr && after != nullptr && (before == after || *before == *after)) return;
  out->push_back(DocDelta{like.key, like.id, like.topic, std::move(before), std::move(after)});
}

namespace {

class FilterOp : public Operator {
 public:
  explicit FilterOp(const FilterStage& s) : s_(s) {}
  absl::Status Apply(const DocDeltas& in, DocDeltas* out) override {
    for (const DocDelta& d : in) {
      DocPtr before = d.before && s_.selector.Matches(*d.before) ? d.before : nullptr;
      DocPtr after = d.after && s_.selector.Matches(*d.after) ? d.after : nullptr;
      EmitChange(out, d, std::move(before), std::move(after));
    }
    return absl::OkStatus();
  }

 private:
  const FilterStage& s_;
};

}  // namespace

std::unique_ptr<Operator> MakeFilterOp(const FilterStage& s) { return std::make_unique<FilterOp>(s); }

}  // namespace ddp::query

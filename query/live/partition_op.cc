// $partition {by, count, index}: only the documents whose key hashes to
// partition `index` of `count`, so that several consumers can split a topic.
// The hash is FNV-1a over the key's KeyString, stable across runs and
// machines.
#include "query/live/operator.h"

namespace ddp::query {
namespace {

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

class PartitionOp : public Operator {
 public:
  explicit PartitionOp(const PartitionStage& s) : s_(s) {}
  absl::Status Apply(const DocDeltas& in, DocDeltas* out) override {
    for (const DocDelta& d : in) {
      DocPtr before = d.before && Mine(*d.before) ? d.before : nullptr;
      DocPtr after = d.after && Mine(*d.after) ? d.after : nullptr;
      EmitChange(out, d, std::move(before), std::move(after));
    }
    return absl::OkStatus();
  }

 private:
  bool Mine(const Object& doc) const {
    uint64_t h = Fnv1a(KeyString(s_.by.EvaluateOrNull(doc)));
    return static_cast<int64_t>(h % static_cast<uint64_t>(s_.count)) == s_.index;
  }
  const PartitionStage& s_;
};

}  // namespace

std::unique_ptr<Operator> MakePartitionOp(const PartitionStage& s) {
  return std::make_unique<PartitionOp>(s);
}

}  // namespace ddp::query

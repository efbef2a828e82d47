#include "query/sort.h"

#include "common/strings.h"

namespace ddp::query {

absl::StatusOr<Sort> Sort::Compile(const Value& spec) {
  Sort out;
  if (spec.is_null()) return out;
  if (!spec.is_object()) return absl::InvalidArgumentError("invalid sort: must be an object");
  for (const Member& m : spec.as_object()) {
    if (!m.value.is_number() || (m.value.ToDouble() != 1 && m.value.ToDouble() != -1)) {
      return absl::InvalidArgumentError(
          StrCat("invalid sort: the value of '", m.key, "' must be 1 or -1"));
    }
    if (m.key.empty() || m.key[0] == '$') {
      return absl::InvalidArgumentError(StrCat("invalid sort: bad field '", m.key, "'"));
    }
    out.keys_.emplace_back(Path(m.key), m.value.ToDouble() > 0 ? 1 : -1);
  }
  return out;
}

Value Sort::KeyOf(const Value& doc, size_t field) const {
  const auto& [path, dir] = keys_[field];
  Branches branches, expanded;
  LookupBranches(doc, path, &branches);
  ExpandArrays(branches, /*skip_arrays=*/true, &expanded);
  const Value* best = nullptr;
  bool any_missing = false;
  for (const Branch& b : expanded) {
    if (b.value == nullptr) {
      any_missing = true;
      continue;
    }
    if (best == nullptr || (dir > 0 ? ddp::Compare(*b.value, *best) < 0
                                    : ddp::Compare(*b.value, *best) > 0)) {
      best = b.value;
    }
  }
  if (best == nullptr) return Value();
  // A missing branch is null, which sorts below everything but null.
  if (any_missing && dir > 0) return Value();
  return *best;
}

bool Sort::IsEmptyArrayKey(const Value& doc, size_t field) const {
  Branches branches;
  LookupBranches(doc, keys_[field].first, &branches);
  if (branches.empty()) return false;
  for (const Branch& b : branches) {
    if (b.value == nullptr || !b.value->is_array() || !b.value->as_array().empty()) return false;
  }
  return true;
}

int Sort::Compare(const Value& a, const Value& b) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    // An empty array sorts below null and missing (MongoDB's "undefined").
    bool ea = IsEmptyArrayKey(a, i), eb = IsEmptyArrayKey(b, i);
    int c = ea != eb ? (ea ? -1 : 1) : ea ? 0 : ddp::Compare(KeyOf(a, i), KeyOf(b, i));
    if (c != 0) return keys_[i].second > 0 ? c : -c;
  }
  static const Value kNull;
  const Value* ia = a.Find("_id");
  const Value* ib = b.Find("_id");
  return ddp::Compare(ia ? *ia : kNull, ib ? *ib : kNull);
}

}  // namespace ddp::query

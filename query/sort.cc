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

Value Sort::KeyOf(const Value& doc, size_t field) const { return KeyOfImpl(doc, field); }

template <typename Doc>
Value Sort::KeyOfImpl(const Doc& doc, size_t field) const {
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

template <typename Doc>
bool Sort::IsEmptyArrayKey(const Doc& doc, size_t field) const {
  Branches branches;
  LookupBranches(doc, keys_[field].first, &branches);
  if (branches.empty()) return false;
  for (const Branch& b : branches) {
    if (b.value == nullptr || !b.value->is_array() || !b.value->as_array().empty()) return false;
  }
  return true;
}

Sort::Key Sort::KeyFor(const Object& doc) const {
  Key k;
  k.fields.reserve(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) {
    bool empty = IsEmptyArrayKey(doc, i);
    k.fields.emplace_back(empty, empty ? Value() : KeyOfImpl(doc, i));
  }
  const Value* id = doc.Find("_id");
  if (id != nullptr) k.id = *id;
  return k;
}

int Sort::Compare(const Key& a, const Key& b) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    // An empty array sorts below null and missing (MongoDB's "undefined").
    bool ea = a.fields[i].first, eb = b.fields[i].first;
    int c = ea != eb ? (ea ? -1 : 1) : ea ? 0 : ddp::Compare(a.fields[i].second, b.fields[i].second);
    if (c != 0) return keys_[i].second > 0 ? c : -c;
  }
  return ddp::Compare(a.id, b.id);
}

int Sort::Compare(const Object& a, const Object& b) const { return Compare(KeyFor(a), KeyFor(b)); }

int Sort::Compare(const Value& a, const Value& b) const {
  if (a.is_object() && b.is_object()) return Compare(a.as_object(), b.as_object());
  return ddp::Compare(a, b);
}

}  // namespace ddp::query

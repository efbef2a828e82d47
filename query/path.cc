#include "query/path.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "query/expr.h"

namespace ddp::query {

Path::Path(std::string_view dotted) : dotted_(dotted) {
  for (absl::string_view part : absl::StrSplit(ToAbsl(dotted), '.')) {
    parts_.emplace_back(part.data(), part.size());
  }
}

bool IsNumericKey(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return s.size() == 1 || s[0] != '0';
}

namespace {

size_t ToIndex(std::string_view s) {
  size_t v = 0;
  for (char c : s) v = v * 10 + static_cast<size_t>(c - '0');
  return v;
}

void Lookup(const Value& doc, const std::vector<std::string>& parts, size_t i, Branches* out);

// Continues a lookup from `first`, the value of parts[i] in a container
// (an array when `in_array`).
void Step(const Value* first, bool in_array, const std::vector<std::string>& parts, size_t i,
          Branches* out) {
  if (i + 1 == parts.size()) {
    out->push_back(Branch{first, in_array && first != nullptr && first->is_array()});
    return;
  }
  if (first == nullptr || !(first->is_object() || first->is_array())) {
    if (!in_array) out->push_back(Branch{nullptr, false});
    return;
  }
  Lookup(*first, parts, i + 1, out);
  if (first->is_array()) {
    for (const Value& element : first->as_array()) {
      if (element.is_object()) Lookup(element, parts, i + 1, out);
    }
  }
}

void Lookup(const Value& doc, const std::vector<std::string>& parts, size_t i, Branches* out) {
  const std::string& part = parts[i];
  if (doc.is_array()) {
    // Only a numeric step can go into an array.
    if (!IsNumericKey(part)) return;
    size_t index = ToIndex(part);
    if (index >= doc.as_array().size()) return;
    Step(&doc.as_array()[index], true, parts, i, out);
    return;
  }
  Step(doc.Find(part), false, parts, i, out);
}

}  // namespace

void LookupBranches(const Value& doc, const Path& path, Branches* out) {
  if (path.empty()) return;
  Lookup(doc, path.parts(), 0, out);
}

void LookupBranches(const Object& doc, const Path& path, Branches* out) {
  if (path.empty()) return;
  Step(doc.Find(path.parts()[0]), false, path.parts(), 0, out);
}

std::vector<std::string> EqualityKeys(const Object& doc, const Path& path) {
  Branches branches, expanded;
  LookupBranches(doc, path, &branches);
  ExpandArrays(branches, /*skip_arrays=*/false, &expanded);
  std::vector<std::string> keys;
  bool any_null = expanded.empty();
  for (const Branch& b : expanded) {
    if (b.value == nullptr || b.value->is_null()) {
      any_null = true;
    } else {
      keys.push_back(KeyString(*b.value));
    }
  }
  if (any_null) keys.push_back(KeyString(Value()));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

void ExpandArrays(const Branches& in, bool skip_arrays, Branches* out) {
  for (const Branch& b : in) {
    bool is_array = b.value != nullptr && b.value->is_array();
    bool iterate = is_array && !b.dont_iterate;
    if (!(skip_arrays && iterate)) out->push_back(Branch{b.value, false});
    if (iterate) {
      for (const Value& e : b.value->as_array()) out->push_back(Branch{&e, false});
    }
  }
}

}  // namespace ddp::query

#include "server/net/conflate.h"

#include <algorithm>

#include "common/strings.h"
#include "protocol/ddp_message.h"

namespace ddp::net_internal {
namespace {

std::string Key(std::string_view collection, std::string_view id) {
  return StrCat(collection, std::string_view("\0", 1), id);
}

// Applies a `changed` (fields, cleared) to the fields of an `added`.
void Apply(Object& fields, const Object& set, const std::vector<std::string>& cleared) {
  for (const Member& m : set) fields.Set(m.key, m.value);
  for (const std::string& c : cleared) fields.Erase(c);
}

}  // namespace

std::optional<DocKey> KeyOf(std::string_view message) {
  absl::StatusOr<Message> m = DecodeMessage(message);
  if (!m.ok()) return std::nullopt;
  if (const auto* a = std::get_if<AddedMsg>(&*m)) {
    return DocKey{DocKey::Kind::kAdded, Key(a->collection, a->id)};
  }
  if (const auto* c = std::get_if<ChangedMsg>(&*m)) {
    return DocKey{DocKey::Kind::kChanged, Key(c->collection, c->id)};
  }
  if (const auto* r = std::get_if<RemovedMsg>(&*m)) {
    return DocKey{DocKey::Kind::kRemoved, Key(r->collection, r->id)};
  }
  if (const auto* b = std::get_if<AddedBeforeMsg>(&*m)) {
    return DocKey{DocKey::Kind::kOrdered, Key(b->collection, b->id)};
  }
  if (const auto* v = std::get_if<MovedBeforeMsg>(&*m)) {
    return DocKey{DocKey::Kind::kOrdered, Key(v->collection, v->id)};
  }
  return std::nullopt;
}

Merged Merge(std::string_view pending, std::string_view next) {
  absl::StatusOr<Message> p = DecodeMessage(pending);
  absl::StatusOr<Message> n = DecodeMessage(next);
  if (!p.ok() || !n.ok()) return {};
  auto replace = [](const Message& m) {
    return Merged{Merged::Kind::kReplace, std::make_shared<const std::string>(EncodeMessage(m))};
  };
  if (auto* added = std::get_if<AddedMsg>(&*p)) {
    if (const auto* c = std::get_if<ChangedMsg>(&*n)) {
      Apply(added->fields, c->fields, c->cleared);
      return replace(*p);
    }
    if (std::holds_alternative<RemovedMsg>(*n)) return Merged{Merged::Kind::kDropBoth, nullptr};
    return {};
  }
  if (auto* changed = std::get_if<ChangedMsg>(&*p)) {
    if (const auto* c = std::get_if<ChangedMsg>(&*n)) {
      for (const Member& m : c->fields) {
        changed->fields.Set(m.key, m.value);
        std::erase(changed->cleared, m.key);
      }
      for (const std::string& k : c->cleared) {
        changed->fields.Erase(k);
        if (std::find(changed->cleared.begin(), changed->cleared.end(), k) ==
            changed->cleared.end()) {
          changed->cleared.push_back(k);
        }
      }
      return replace(*p);
    }
    if (std::holds_alternative<RemovedMsg>(*n)) {
      return Merged{Merged::Kind::kReplace, std::make_shared<const std::string>(next)};
    }
  }
  return {};
}

}  // namespace ddp::net_internal

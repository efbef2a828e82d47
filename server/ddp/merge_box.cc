#include "server/ddp/merge_box.h"

#include <algorithm>

#include "common/check.h"
#include "common/strings.h"
#include "protocol/ddp_message.h"

namespace ddp {
namespace {

absl::Status Misuse(std::string_view what, std::string_view collection, std::string_view id) {
  return absl::FailedPreconditionError(StrCat(what, " (collection '", collection, "', id '", id, "')"));
}

}  // namespace

MergeBox::Field* MergeBox::Document::FindField(std::string_view key) {
  for (Field& f : fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

void MergeBox::Touch(SubHandle sub, std::string_view collection) {
  if (StringSet& touched = touched_[sub]; !touched.contains(collection)) touched.emplace(collection);
}

void MergeBox::Hold(Document& doc, SubHandle sub, std::string_view collection,
                    const Object& fields, const std::shared_ptr<const Object>& shared) {
  doc.holders.push_back(sub);
  Touch(sub, collection);
  if (shared) {
    DDP_CHECK(shared.get() == &fields);
    doc.shared = shared;
  } else {
    doc.fields.reserve(fields.size());
    for (const Member& m : fields) doc.fields.push_back(Field{m.key, sub, m.value, {}});
  }
}

void MergeBox::Materialize(Document& doc) {
  if (!doc.shared) return;
  DDP_CHECK(doc.holders.size() == 1 && doc.fields.empty());
  const SubHandle owner = doc.holders.front();
  doc.fields.reserve(doc.shared->size());
  for (const Member& m : *doc.shared) doc.fields.push_back(Field{m.key, owner, m.value, {}});
  doc.shared.reset();
}

bool MergeBox::SetField(Document& doc, SubHandle sub, std::string key, Value value) {
  Field* f = doc.FindField(key);
  if (f == nullptr) {
    doc.fields.push_back(Field{std::move(key), sub, std::move(value), {}});
    return true;
  }
  if (f->owner == sub) {
    if (f->value == value) return false;
    f->value = std::move(value);
    return true;
  }
  for (auto& [other, v] : f->others) {
    if (other == sub) {
      v = std::move(value);
      return false;
    }
  }
  f->others.emplace_back(sub, std::move(value));
  return false;
}

bool MergeBox::ClearField(Document& doc, SubHandle sub, std::string_view key, bool* vanished) {
  *vanished = false;
  auto it = std::find_if(doc.fields.begin(), doc.fields.end(),
                         [&](const Field& f) { return f.key == key; });
  if (it == doc.fields.end()) return false;
  Field& f = *it;
  if (f.owner != sub) {
    auto o = std::find_if(f.others.begin(), f.others.end(),
                          [&](const auto& p) { return p.first == sub; });
    if (o != f.others.end()) f.others.erase(o);
    return false;
  }
  if (f.others.empty()) {
    doc.fields.erase(it);
    *vanished = true;
    return true;
  }
  // The next subscription in line takes over.
  auto [next_owner, next_value] = std::move(f.others.front());
  f.others.erase(f.others.begin());
  f.owner = next_owner;
  bool changed = f.value != next_value;
  f.value = std::move(next_value);
  return changed;
}

absl::Status MergeBox::Added(SubHandle sub, std::string_view collection, std::string_view id,
                             const Object& fields, MergeSink& sink, const EncodedChange& encoded,
                             const std::shared_ptr<const Object>& shared) {
  if (auto owner = ordered_owner_.find(collection); owner != ordered_owner_.end()) {
    return absl::InvalidArgumentError(
        StrCat("collection '", collection, "' is used by an ordered subscription"));
  }
  Collection& coll = collections_[collection];
  auto [it, inserted] = coll.try_emplace(id);
  Document& doc = it->second;
  if (!inserted && std::find(doc.holders.begin(), doc.holders.end(), sub) != doc.holders.end()) {
    return Misuse("added a document the subscription already published", collection, id);
  }
  if (inserted) {
    // The common case: the client gets exactly what the subscription sent.
    Hold(doc, sub, collection, fields, shared);
    if (encoded) {
      sink.SendEncoded(encoded);
    } else {
      sink.SendAdded(collection, id, fields);
    }
    return absl::OkStatus();
  }
  Materialize(doc);  // a second holder: per-field precedence from here on
  doc.holders.push_back(sub);
  Touch(sub, collection);
  Object visible;
  for (const Member& m : fields) {
    if (SetField(doc, sub, m.key, m.value)) visible.Append(m.key, m.value);
  }
  if (!visible.empty()) sink.SendChanged(collection, id, visible, {});
  return absl::OkStatus();
}

absl::Status MergeBox::Changed(SubHandle sub, std::string_view collection, std::string_view id,
                               const Object& fields, const std::vector<std::string>& cleared,
                               MergeSink& sink, const EncodedChange& encoded) {
  auto coll = collections_.find(collection);
  Document* doc = nullptr;
  if (coll != collections_.end()) {
    auto it = coll->second.find(id);
    if (it != coll->second.end()) doc = &it->second;
  }
  if (doc == nullptr ||
      std::find(doc->holders.begin(), doc->holders.end(), sub) == doc->holders.end()) {
    return Misuse("changed a document the subscription does not hold", collection, id);
  }
  Materialize(*doc);
  Object visible;
  for (const Member& m : fields) {
    if (SetField(*doc, sub, m.key, m.value)) visible.Append(m.key, m.value);
  }
  std::vector<std::string> vanished_keys;
  for (const std::string& key : cleared) {
    if (fields.Contains(key)) continue;  // set and cleared in one call: the set wins
    bool vanished;
    if (ClearField(*doc, sub, key, &vanished)) {
      if (vanished) {
        vanished_keys.push_back(key);
      } else {
        visible.Set(key, doc->FindField(key)->value);
      }
    }
  }
  if (visible.empty() && vanished_keys.empty()) return absl::OkStatus();
  // Everything set is visible (in the same order) and everything cleared
  // vanished: the client's message is the change itself.
  if (encoded && visible.size() == fields.size() && vanished_keys.size() == cleared.size()) {
    sink.SendEncoded(encoded);
  } else {
    sink.SendChanged(collection, id, visible, vanished_keys);
  }
  return absl::OkStatus();
}

absl::Status MergeBox::Removed(SubHandle sub, std::string_view collection, std::string_view id,
                               MergeSink& sink, const EncodedChange& encoded) {
  auto coll = collections_.find(collection);
  if (coll == collections_.end()) return Misuse("removed an unknown document", collection, id);
  auto it = coll->second.find(id);
  if (it == coll->second.end()) return Misuse("removed an unknown document", collection, id);
  Document& doc = it->second;
  auto holder = std::find(doc.holders.begin(), doc.holders.end(), sub);
  if (holder == doc.holders.end()) {
    return Misuse("removed a document the subscription does not hold", collection, id);
  }
  doc.holders.erase(holder);
  if (doc.holders.empty()) {
    coll->second.erase(it);
    if (coll->second.empty()) collections_.erase(coll);
    if (encoded) {
      sink.SendEncoded(encoded);
    } else {
      sink.SendRemoved(collection, id);
    }
    return absl::OkStatus();
  }
  // Others still hold it: retract this subscription's fields.
  Object visible;
  std::vector<std::string> vanished_keys;
  std::vector<std::string> keys;
  for (const Field& f : doc.fields) {
    if (f.owner == sub) {
      keys.push_back(f.key);
    } else {
      for (const auto& o : f.others) {
        if (o.first == sub) keys.push_back(f.key);
      }
    }
  }
  for (const std::string& key : keys) {
    bool vanished;
    if (ClearField(doc, sub, key, &vanished)) {
      if (vanished) {
        vanished_keys.push_back(key);
      } else {
        visible.Append(key, doc.FindField(key)->value);
      }
    }
  }
  if (!visible.empty() || !vanished_keys.empty()) {
    sink.SendChanged(collection, id, visible, vanished_keys);
  }
  return absl::OkStatus();
}

absl::Status MergeBox::AddedBefore(SubHandle sub, std::string_view collection,
                                   std::string_view id, const Object& fields,
                                   const std::optional<std::string>& before, MergeSink& sink,
                                   const EncodedChange& encoded,
                                   const std::shared_ptr<const Object>& shared) {
  auto owner = ordered_owner_.find(collection);
  if (owner == ordered_owner_.end()) {
    if (auto coll = collections_.find(collection); coll != collections_.end() && !coll->second.empty()) {
      return absl::InvalidArgumentError(StrCat(
          "collection '", collection, "' already has documents of an unordered subscription"));
    }
    ordered_owner_.emplace(collection, sub);
  } else if (owner->second != sub) {
    return absl::InvalidArgumentError(
        StrCat("collection '", collection, "' is ordered by another subscription"));
  }
  Collection& coll = collections_[collection];
  auto [it, inserted] = coll.try_emplace(id);
  if (!inserted) return Misuse("added a document the subscription already published", collection, id);
  Hold(it->second, sub, collection, fields, shared);
  if (encoded) {
    sink.SendEncoded(encoded);
  } else {
    sink.SendAddedBefore(collection, id, fields, before);
  }
  return absl::OkStatus();
}

absl::Status MergeBox::MovedBefore(SubHandle sub, std::string_view collection,
                                   std::string_view id, const std::optional<std::string>& before,
                                   MergeSink& sink, const EncodedChange& encoded) {
  auto owner = ordered_owner_.find(collection);
  if (owner == ordered_owner_.end() || owner->second != sub || !Holds(sub, collection, id)) {
    return Misuse("moved a document the subscription does not hold in order", collection, id);
  }
  if (encoded) {
    sink.SendEncoded(encoded);
  } else {
    sink.SendMovedBefore(collection, id, before);
  }
  return absl::OkStatus();
}

void MergeSink::SendEncoded(const std::shared_ptr<const std::string>& message) {
  absl::StatusOr<Message> m = DecodeMessage(std::string_view(*message));
  DDP_CHECK(m.ok());  // the caller encoded it from a DataChange
  if (auto* a = std::get_if<AddedMsg>(&*m)) {
    SendAdded(a->collection, a->id, a->fields);
  } else if (auto* c = std::get_if<ChangedMsg>(&*m)) {
    SendChanged(c->collection, c->id, c->fields, c->cleared);
  } else if (auto* r = std::get_if<RemovedMsg>(&*m)) {
    SendRemoved(r->collection, r->id);
  } else if (auto* ab = std::get_if<AddedBeforeMsg>(&*m)) {
    SendAddedBefore(ab->collection, ab->id, ab->fields, ab->before);
  } else if (auto* mb = std::get_if<MovedBeforeMsg>(&*m)) {
    SendMovedBefore(mb->collection, mb->id, mb->before);
  } else {
    DDP_CHECK(false && "an encoded change is not a data message");
  }
}

void MergeBox::RemoveSubscription(SubHandle sub, MergeSink& sink) {
  absl::erase_if(ordered_owner_, [&](const auto& entry) { return entry.second == sub; });
  auto t = touched_.find(sub);
  if (t == touched_.end()) return;
  StringSet touched = std::move(t->second);
  touched_.erase(t);
  for (const std::string& collection : touched) {
    auto coll = collections_.find(collection);
    if (coll == collections_.end()) continue;
    // Collect first: Removed() edits the collection.
    std::vector<std::string> ids;
    for (const auto& [id, doc] : coll->second) {
      if (std::find(doc.holders.begin(), doc.holders.end(), sub) != doc.holders.end()) {
        ids.push_back(id);
      }
    }
    for (const std::string& id : ids) {
      // Cannot fail: the document is held by construction.
      absl::Status s = Removed(sub, collection, id, sink);
      (void)s;
    }
  }
}

bool MergeBox::Holds(SubHandle sub, std::string_view collection, std::string_view id) const {
  auto coll = collections_.find(collection);
  if (coll == collections_.end()) return false;
  auto it = coll->second.find(id);
  if (it == coll->second.end()) return false;
  const auto& holders = it->second.holders;
  return std::find(holders.begin(), holders.end(), sub) != holders.end();
}

size_t MergeBox::document_count() const {
  size_t n = 0;
  for (const auto& [name, coll] : collections_) n += coll.size();
  return n;
}

std::optional<Object> MergeBox::ClientView(std::string_view collection, std::string_view id) const {
  auto coll = collections_.find(collection);
  if (coll == collections_.end()) return std::nullopt;
  auto it = coll->second.find(id);
  if (it == coll->second.end()) return std::nullopt;
  if (it->second.shared) return *it->second.shared;
  Object o;
  for (const Field& f : it->second.fields) o.Append(f.key, f.value);
  return o;
}

}  // namespace ddp

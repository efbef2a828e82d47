#include "server/ddp/merge_box.h"

#include <algorithm>
#include <memory>
#include <random>
#include <utility>

#include "common/check.h"
#include "common/strings.h"
#include "protocol/ddp_message.h"

namespace ddp {
namespace {

absl::Status Misuse(std::string_view what, std::string_view collection, std::string_view id) {
  return absl::FailedPreconditionError(StrCat(what, " (collection '", collection, "', id '", id, "')"));
}

// A change from the document's only holder, with its whole document: the
// client's message is the change itself (never an empty one).
void SendExactChange(MergeSink& sink, std::string_view collection, std::string_view id,
                     const Object& fields, const std::vector<std::string>& cleared,
                     const EncodedChange& encoded) {
  if (fields.empty() && cleared.empty()) return;
  if (encoded) {
    sink.SendEncoded(encoded);
  } else {
    sink.SendChanged(collection, id, fields, cleared);
  }
}

// A sole-subscription list's `later` holds the ids changed or removed since
// their add (and the removed ones' documents stay alive in `added`): past a
// quarter of the list, the list is rewritten (or, on a change, becomes the
// index), so each entry costs O(1) amortized.
bool TimeToCompact(size_t later, size_t present) { return later > 64 + present / 4; }

}  // namespace

MergeBox::Field* MergeBox::Merged::FindField(std::string_view key) {
  for (Field& f : fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

// ---------------------------------------------------------------- Entry

MergeBox::Entry::Entry(SharedDocumentRef doc, SubHandle holder)
    : bits_(reinterpret_cast<uintptr_t>(doc.Release())), hash_(0), holder_(holder) {
  static_assert(alignof(SharedDocument) >= 2 && alignof(Merged) >= 2, "the tag bit is free");
  hash_ = shared()->id_hash();
}

MergeBox::Entry::Entry(Entry&& other) noexcept
    : bits_(std::exchange(other.bits_, 0)), hash_(other.hash_), holder_(other.holder_) {}

MergeBox::Entry& MergeBox::Entry::operator=(Entry&& other) noexcept {
  if (this != &other) {
    Reset();
    bits_ = std::exchange(other.bits_, 0);
    hash_ = other.hash_;
    holder_ = other.holder_;
  }
  return *this;
}

MergeBox::Entry::~Entry() { Reset(); }

void MergeBox::Entry::Reset() {
  if (bits_ & 1) {
    delete &merged();
  } else {
    // Drops the reference the entry held.
    SharedDocumentRef::FromReleased(reinterpret_cast<const SharedDocument*>(bits_));
  }
  bits_ = 0;
}

const SharedDocument* MergeBox::Entry::shared() const {
  return (bits_ & 1) ? nullptr : reinterpret_cast<const SharedDocument*>(bits_);
}

MergeBox::Merged& MergeBox::Entry::merged() const {
  DDP_CHECK(bits_ & 1);
  return *reinterpret_cast<Merged*>(bits_ & ~uintptr_t{1});
}

std::string_view MergeBox::Entry::id() const {
  if (const SharedDocument* d = shared()) return d->id();
  return merged().id;
}

bool MergeBox::Entry::HeldBy(SubHandle sub) const {
  if (shared() != nullptr) return holder_ == sub;
  const auto& holders = merged().holders;
  return std::find(holders.begin(), holders.end(), sub) != holders.end();
}

MergeBox::Merged& MergeBox::Entry::Materialize() const {
  if (const SharedDocument* d = shared()) {
    auto m = std::make_unique<Merged>();
    m->id = d->id();
    m->holders.push_back(holder_);
    m->fields.reserve(d->fields().size());
    for (const Member& f : d->fields()) m->fields.push_back(Field{f.key, holder_, f.value, {}});
    SharedDocumentRef::FromReleased(d);  // drops the shared reference
    bits_ = reinterpret_cast<uintptr_t>(m.release()) | 1;
  }
  return merged();
}

void MergeBox::Entry::Replace(SharedDocumentRef doc) const {
  DDP_CHECK(shared() != nullptr && doc && doc->id_hash() == hash_);
  SharedDocumentRef::FromReleased(shared());  // drops the old reference
  bits_ = reinterpret_cast<uintptr_t>(doc.Release());
}

// ---------------------------------------------------------------- SoleLog

bool MergeBox::Collection::has_documents() const { return !empty() || (sole && sole->present > 0); }

template <typename Fn>
void MergeBox::SoleLog::ForEach(Fn&& fn) const {
  for (const SharedDocumentRef& doc : added) {
    if (!later.empty() && later.contains(doc->id())) continue;
    fn(doc);
  }
  for (const auto& [id, doc] : later) {
    if (doc) fn(doc);
  }
}

void MergeBox::SoleLog::Compact() {
  std::deque<SharedDocumentRef> now;
  ForEach([&](const SharedDocumentRef& doc) { now.push_back(doc); });
  added = std::move(now);
  later.clear();
}

// ---------------------------------------------------------------- MergeBox

MergeBox::Collection* MergeBox::FindCollection(std::string_view name) const {
  if (cached_ != nullptr && cached_name_ == name) return cached_;
  auto it = collections_.find(name);
  if (it == collections_.end()) return nullptr;
  cached_name_ = it->first;
  cached_ = const_cast<Collection*>(&it->second);
  return cached_;
}

MergeBox::Collection& MergeBox::GetCollection(std::string_view name) {
  if (Collection* c = FindCollection(name)) return *c;
  auto it = collections_.try_emplace(name).first;
  cached_name_ = it->first;
  cached_ = &it->second;
  return *cached_;
}

void MergeBox::EraseCollection(std::string_view name) {
  cached_ = nullptr;
  touched_coll_ = nullptr;
  collections_.erase(std::string(name));
}

const MergeBox::Entry* MergeBox::Find(std::string_view collection, std::string_view id) const {
  const Collection* coll = FindCollection(collection);
  if (coll == nullptr) return nullptr;
  auto it = coll->find(Key(id));
  return it == coll->end() ? nullptr : &*it;
}

void MergeBox::Prefetch(std::string_view collection, std::string_view id,
                        uint32_t id_hash) const {
  const Collection* coll = FindCollection(collection);
  if (coll != nullptr && !coll->sole) coll->prefetch(IdKey{id, id_hash});
}

const SharedDocument* MergeBox::FindSole(const SoleLog& log, std::string_view id) {
  if (auto it = log.later.find(id); it != log.later.end()) return it->second.get();
  for (const SharedDocumentRef& doc : log.added) {
    if (doc->id() == id) return doc.get();
  }
  return nullptr;
}

bool MergeBox::AddSole(Collection& coll, SubHandle sub, std::string_view collection,
                       const SharedDocumentRef& shared) {
  if (!shared) return false;
  if (!coll.sole) {
    if (!coll.empty()) return false;
    coll.sole = std::make_unique<SoleLog>();
    coll.sole->holder = sub;
  } else if (coll.sole->holder != sub) {
    return false;
  }
  SoleLog& log = *coll.sole;
  ++log.present;
  Touch(sub, collection, &coll);
  if (!log.later.empty()) {
    // Added again after its removal.
    if (auto it = log.later.find(shared->id()); it != log.later.end()) {
      it->second = shared;
      return true;
    }
  }
  log.added.push_back(shared);
  return true;
}

void MergeBox::Index(Collection& coll) {
  std::unique_ptr<SoleLog> log = std::move(coll.sole);
  coll.reserve(log->present);
  log->ForEach([&](const SharedDocumentRef& doc) { coll.emplace(doc, log->holder); });
}

void MergeBox::Touch(SubHandle sub, std::string_view collection, const Collection* coll) {
  if (sub == touched_sub_ && coll == touched_coll_) return;
  if (StringSet& touched = touched_[sub]; !touched.contains(collection)) touched.emplace(collection);
  touched_sub_ = sub;
  touched_coll_ = coll;
}

void MergeBox::MaybeGrow(Collection& coll) {
  // Tables below this rehash in well under 100 us: not worth spreading.
  constexpr size_t kSpreadFrom = 1024;
  auto max_load = [](size_t capacity) { return capacity - capacity / 8; };  // absl's
  if (coll.grow_capacity == coll.capacity() && coll.size() >= coll.grow_at &&
      coll.size() >= kSpreadFrom) {
    coll.reserve(max_load(coll.capacity()) + 1);  // the next capacity: twice this one
  }
  if (coll.capacity() != coll.grow_capacity) {
    // Not a secret, only different per table.
    thread_local std::minstd_rand random(0x5eed);
    coll.grow_capacity = coll.capacity();
    const size_t load = max_load(coll.capacity());
    coll.grow_at = load - std::uniform_int_distribution<size_t>(0, load / 4)(random);
  }
}

bool MergeBox::Hold(Collection& coll, SubHandle sub, std::string_view collection,
                    std::string_view id, const Object& fields, const SharedDocumentRef& shared) {
  if (coll.size() >= coll.grow_at) MaybeGrow(coll);
  bool inserted = false;
  const IdKey key = shared ? IdKey{id, shared->id_hash()} : Key(id);
  coll.lazy_emplace(key, [&](const Collection::constructor& construct) {
    inserted = true;
    if (shared) {
      DDP_CHECK(&shared->fields() == &fields && shared->id() == id);
      construct(shared, sub);
    } else {
      construct(SharedDocumentRef::Make(std::string(id), fields), sub);
    }
  });
  if (inserted) Touch(sub, collection, &coll);
  return inserted;
}

bool MergeBox::SetField(Merged& doc, SubHandle sub, std::string key, Value value) {
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

bool MergeBox::ClearField(Merged& doc, SubHandle sub, std::string_view key, bool* vanished) {
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
                             const SharedDocumentRef& shared) {
  if (auto owner = ordered_owner_.find(collection); owner != ordered_owner_.end()) {
    return absl::InvalidArgumentError(
        StrCat("collection '", collection, "' is used by an ordered subscription"));
  }
  Collection& coll = GetCollection(collection);
  const bool sole = AddSole(coll, sub, collection, shared);
  if (!sole && coll.sole) Index(coll);  // a second subscription, or no shared document
  if (sole || Hold(coll, sub, collection, id, fields, shared)) {
    // The common case: the client gets exactly what the subscription sent.
    if (encoded) {
      sink.SendEncoded(encoded);
    } else {
      sink.SendAdded(collection, id, fields);
    }
    return absl::OkStatus();
  }
  const Entry& entry = *coll.find(shared ? IdKey{id, shared->id_hash()} : Key(id));
  if (entry.HeldBy(sub)) {
    return Misuse("added a document the subscription already published", collection, id);
  }
  Merged& doc = entry.Materialize();  // a second holder: per-field precedence from here on
  doc.holders.push_back(sub);
  Touch(sub, collection, &coll);
  Object visible;
  for (const Member& m : fields) {
    if (SetField(doc, sub, m.key, m.value)) visible.Append(m.key, m.value);
  }
  if (!visible.empty()) sink.SendChanged(collection, id, visible, {});
  return absl::OkStatus();
}

absl::Status MergeBox::Changed(SubHandle sub, std::string_view collection, std::string_view id,
                               const Object& fields, const std::vector<std::string>& cleared,
                               MergeSink& sink, const EncodedChange& encoded,
                               const SharedDocumentRef& after) {
  if (Collection* coll = FindCollection(collection); coll != nullptr && coll->sole) {
    SoleLog& log = *coll->sole;
    if (log.holder != sub) {
      return Misuse("changed a document the subscription does not hold", collection, id);
    }
    if (after) {
      DDP_CHECK(after->id() == id);
      log.later.insert_or_assign(std::string(id), after);
      SendExactChange(sink, collection, id, fields, cleared, encoded);
      // Documents that keep changing are better served by the index (an
      // entry swaps its reference in place; the list copies each changed
      // id and rewrites itself): past the point of a rewrite, it becomes one.
      if (TimeToCompact(log.later.size(), log.present)) Index(*coll);
      return absl::OkStatus();
    }
    Index(*coll);  // without the whole document the list cannot follow
  }
  const Entry* entry = Find(collection, id);
  if (entry == nullptr || !entry->HeldBy(sub)) {
    return Misuse("changed a document the subscription does not hold", collection, id);
  }
  if (after && entry->shared() != nullptr) {
    // The only holder changes the document as it published it: the client
    // sees exactly the change, and then exactly `after`.
    DDP_CHECK(after->id() == id);
    entry->Replace(after);
    SendExactChange(sink, collection, id, fields, cleared, encoded);
    return absl::OkStatus();
  }
  Merged& doc = entry->Materialize();
  Object visible;
  for (const Member& m : fields) {
    if (SetField(doc, sub, m.key, m.value)) visible.Append(m.key, m.value);
  }
  std::vector<std::string> vanished_keys;
  for (const std::string& key : cleared) {
    if (fields.Contains(key)) continue;  // set and cleared in one call: the set wins
    bool vanished;
    if (ClearField(doc, sub, key, &vanished)) {
      if (vanished) {
        vanished_keys.push_back(key);
      } else {
        visible.Set(key, doc.FindField(key)->value);
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
  Collection* coll = FindCollection(collection);
  if (coll == nullptr) return Misuse("removed an unknown document", collection, id);
  if (coll->sole) {
    SoleLog& log = *coll->sole;
    if (log.holder != sub) {
      return Misuse("removed a document the subscription does not hold", collection, id);
    }
    if (encoded) {
      sink.SendEncoded(encoded);
    } else {
      sink.SendRemoved(collection, id);
    }
    if (--log.present == 0) {
      EraseCollection(collection);
      return absl::OkStatus();
    }
    log.later.insert_or_assign(std::string(id), nullptr);
    if (TimeToCompact(log.later.size(), log.present)) log.Compact();
    return absl::OkStatus();
  }
  auto it = coll->find(Key(id));
  if (it == coll->end()) return Misuse("removed an unknown document", collection, id);
  if (!it->HeldBy(sub)) {
    return Misuse("removed a document the subscription does not hold", collection, id);
  }
  Merged* doc = nullptr;
  if (it->shared() == nullptr) {
    doc = &it->merged();
    doc->holders.erase(std::find(doc->holders.begin(), doc->holders.end(), sub));
  }
  if (doc == nullptr || doc->holders.empty()) {
    // `id` may point into the entry: the message goes out before it does.
    if (encoded) {
      sink.SendEncoded(encoded);
    } else {
      sink.SendRemoved(collection, id);
    }
    coll->erase(it);
    if (coll->empty()) EraseCollection(collection);
    return absl::OkStatus();
  }
  // Others still hold it: retract this subscription's fields.
  Object visible;
  std::vector<std::string> vanished_keys;
  std::vector<std::string> keys;
  for (const Field& f : doc->fields) {
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
    if (ClearField(*doc, sub, key, &vanished)) {
      if (vanished) {
        vanished_keys.push_back(key);
      } else {
        visible.Append(key, doc->FindField(key)->value);
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
                                   const SharedDocumentRef& shared) {
  auto owner = ordered_owner_.find(collection);
  if (owner == ordered_owner_.end()) {
    if (const Collection* coll = FindCollection(collection); coll != nullptr && coll->has_documents()) {
      return absl::InvalidArgumentError(StrCat(
          "collection '", collection, "' already has documents of an unordered subscription"));
    }
    ordered_owner_.emplace(collection, sub);
  } else if (owner->second != sub) {
    return absl::InvalidArgumentError(
        StrCat("collection '", collection, "' is ordered by another subscription"));
  }
  if (!Hold(GetCollection(collection), sub, collection, id, fields, shared)) {
    return Misuse("added a document the subscription already published", collection, id);
  }
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
  if (touched_sub_ == sub) touched_coll_ = nullptr;
  for (const std::string& collection : touched) {
    const Collection* coll = FindCollection(collection);
    if (coll == nullptr) continue;
    if (coll->sole) {
      if (coll->sole->holder == sub) {
        coll->sole->ForEach(
            [&](const SharedDocumentRef& doc) { sink.SendRemoved(collection, doc->id()); });
        EraseCollection(collection);
      }
      continue;
    }
    // Collect first: Removed() edits the collection.
    std::vector<std::string> ids;
    for (const Entry& entry : *coll) {
      if (entry.HeldBy(sub)) ids.emplace_back(entry.id());
    }
    for (const std::string& id : ids) {
      // Cannot fail: the document is held by construction.
      absl::Status s = Removed(sub, collection, id, sink);
      (void)s;
    }
  }
}

bool MergeBox::Holds(SubHandle sub, std::string_view collection, std::string_view id) const {
  if (const Collection* coll = FindCollection(collection); coll != nullptr && coll->sole) {
    return coll->sole->holder == sub && FindSole(*coll->sole, id) != nullptr;
  }
  const Entry* entry = Find(collection, id);
  return entry != nullptr && entry->HeldBy(sub);
}

size_t MergeBox::document_count() const {
  size_t n = 0;
  for (const auto& [name, coll] : collections_) n += coll.sole ? coll.sole->present : coll.size();
  return n;
}

void MergeBox::ForEachDocument(
    const std::function<void(std::string_view collection, std::string_view id,
                             const Object& fields)>& fn) const {
  for (const auto& [name, coll] : collections_) {
    if (coll.sole) {
      // A named reference: clang 14 cannot capture a structured binding.
      const auto& collection = name;
      coll.sole->ForEach(
          [&](const SharedDocumentRef& doc) { fn(collection, doc->id(), doc->fields()); });
      continue;
    }
    for (const Entry& entry : coll) {
      if (const SharedDocument* d = entry.shared()) {
        fn(name, entry.id(), d->fields());
        continue;
      }
      Object o;
      for (const Field& f : entry.merged().fields) o.Append(f.key, f.value);
      fn(name, entry.id(), o);
    }
  }
}

std::optional<Object> MergeBox::ClientView(std::string_view collection, std::string_view id) const {
  if (const Collection* coll = FindCollection(collection); coll != nullptr && coll->sole) {
    const SharedDocument* doc = FindSole(*coll->sole, id);
    if (doc == nullptr) return std::nullopt;
    return doc->fields();
  }
  const Entry* entry = Find(collection, id);
  if (entry == nullptr) return std::nullopt;
  if (const SharedDocument* d = entry->shared()) return d->fields();
  Object o;
  for (const Field& f : entry->merged().fields) o.Append(f.key, f.value);
  return o;
}

}  // namespace ddp

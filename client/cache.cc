#include "client/cache.h"

#include <algorithm>

#include "protocol/digest.h"

namespace ddp {

const Object* Collection::Find(const std::string& id) const {
  auto it = docs_.find(id);
  return it == docs_.end() ? nullptr : &it->second;
}

const Collection* Cache::Get(const std::string& collection) const {
  auto it = collections_.find(collection);
  return it == collections_.end() ? nullptr : &it->second;
}

std::vector<std::string> Cache::CollectionNames() const {
  std::vector<std::string> out;
  for (const auto& [name, c] : collections_) out.push_back(name);
  return out;
}

namespace {

void Place(std::vector<std::string>& order, const std::string& id,
           const std::optional<std::string>& before) {
  std::erase(order, id);
  auto at = before ? std::find(order.begin(), order.end(), *before) : order.end();
  order.insert(at, id);
}

}  // namespace

namespace {
const Object kNoFields;
const std::vector<std::string> kNoCleared;
const std::optional<std::string> kAtEnd;
}  // namespace

bool Cache::Apply(const Message& m) {
  if (!store_) {
    if (const auto* a = std::get_if<AddedMsg>(&m)) {
      NotifyAdded(a->collection, a->id, a->fields);
    } else if (const auto* ab = std::get_if<AddedBeforeMsg>(&m)) {
      NotifyAdded(ab->collection, ab->id, ab->fields, &ab->before);
    } else if (const auto* ch = std::get_if<ChangedMsg>(&m)) {
      NotifyChanged(ch->collection, ch->id, ch->fields, ch->cleared);
    } else if (const auto* r = std::get_if<RemovedMsg>(&m)) {
      NotifyRemoved(r->collection, r->id);
    } else if (const auto* mv = std::get_if<MovedBeforeMsg>(&m)) {
      NotifyMoved(mv->collection, mv->id, mv->before);
    } else {
      return false;
    }
    return true;
  }
  if (const auto* a = std::get_if<AddedMsg>(&m)) {
    Collection& c = collections_[a->collection];
    auto held = c.docs_.find(a->id);
    if (held != c.docs_.end()) {
      Object fields;
      std::vector<std::string> cleared;
      for (const Member& f : a->fields) {
        const Value* v = held->second.Find(f.key);
        if (v == nullptr || *v != f.value) fields.Append(f.key, f.value);
      }
      for (const Member& f : held->second) {
        if (!a->fields.Contains(f.key)) cleared.push_back(f.key);
      }
      held->second = a->fields;
      if (!fields.empty() || !cleared.empty()) NotifyChanged(a->collection, a->id, fields, cleared);
      return true;
    }
    c.docs_[a->id] = a->fields;
    NotifyAdded(a->collection, a->id, a->fields);
    return true;
  }
  if (const auto* a = std::get_if<AddedBeforeMsg>(&m)) {
    Collection& c = collections_[a->collection];
    c.docs_[a->id] = a->fields;
    Place(c.order_, a->id, a->before);
    NotifyAdded(a->collection, a->id, a->fields, &a->before);
    return true;
  }
  if (const auto* ch = std::get_if<ChangedMsg>(&m)) {
    Collection& c = collections_[ch->collection];
    Object& doc = c.docs_[ch->id];
    for (const Member& f : ch->fields) doc.Set(f.key, f.value);
    for (const std::string& k : ch->cleared) doc.Erase(k);
    NotifyChanged(ch->collection, ch->id, ch->fields, ch->cleared);
    return true;
  }
  if (const auto* r = std::get_if<RemovedMsg>(&m)) {
    auto it = collections_.find(r->collection);
    if (it == collections_.end()) return true;
    if (it->second.docs_.erase(r->id) == 0) return true;
    std::erase(it->second.order_, r->id);
    NotifyRemoved(r->collection, r->id);
    return true;
  }
  if (const auto* mv = std::get_if<MovedBeforeMsg>(&m)) {
    Collection& c = collections_[mv->collection];
    Place(c.order_, mv->id, mv->before);
    NotifyMoved(mv->collection, mv->id, mv->before);
    return true;
  }
  return false;
}

uint64_t Cache::Observe(const std::string& collection, ObserveCallbacks callbacks) {
  uint64_t h = next_observer_++;
  observers_.emplace(h, std::make_pair(collection, std::move(callbacks)));
  return h;
}

void Cache::Unobserve(uint64_t handle) { observers_.erase(handle); }

void Cache::Notify(const CacheEvent& e) {
  // Observers may unobserve themselves from a callback: walk a snapshot of
  // the handles and look each up again.
  std::vector<uint64_t> handles;
  handles.reserve(observers_.size());
  for (const auto& [h, o] : observers_) {
    if (o.first == e.collection || o.first.empty()) handles.push_back(h);
  }
  for (uint64_t h : handles) {
    auto it = observers_.find(h);
    if (it == observers_.end()) continue;
    ObserveCallbacks& cb = it->second.second;
    switch (e.kind) {
      case CacheEvent::Kind::kAdded:
        if (cb.added) cb.added(e.id, e.fields);
        if (e.ordered && cb.moved) cb.moved(e.id, e.before);
        break;
      case CacheEvent::Kind::kChanged:
        if (cb.changed) cb.changed(e.id, e.fields, e.cleared);
        break;
      case CacheEvent::Kind::kRemoved:
        if (cb.removed) cb.removed(e.id);
        break;
      case CacheEvent::Kind::kMoved:
        if (cb.moved) cb.moved(e.id, e.before);
        break;
    }
    it = observers_.find(h);
    if (it != observers_.end() && it->second.second.event) it->second.second.event(e);
  }
}

void Cache::NotifyAdded(const std::string& c, const std::string& id, const Object& fields,
                        const std::optional<std::string>* before) {
  if (observers_.empty()) return;
  Notify(CacheEvent{CacheEvent::Kind::kAdded, c, id, fields, kNoCleared, before ? *before : kAtEnd,
                    before != nullptr});
}
void Cache::NotifyChanged(const std::string& c, const std::string& id, const Object& fields,
                          const std::vector<std::string>& cleared) {
  if (observers_.empty()) return;
  Notify(CacheEvent{CacheEvent::Kind::kChanged, c, id, fields, cleared, kAtEnd});
}
void Cache::NotifyRemoved(const std::string& c, const std::string& id) {
  if (observers_.empty()) return;
  Notify(CacheEvent{CacheEvent::Kind::kRemoved, c, id, kNoFields, kNoCleared, kAtEnd});
}
void Cache::NotifyMoved(const std::string& c, const std::string& id,
                        const std::optional<std::string>& before) {
  if (observers_.empty()) return;
  Notify(CacheEvent{CacheEvent::Kind::kMoved, c, id, kNoFields, kNoCleared, before, true});
}

std::optional<Value> Cache::ResumeClaims(size_t max_docs,
                                         const std::vector<std::string>& subs) const {
  if (!store_) return std::nullopt;
  Object docs;
  size_t n = 0;
  for (const auto& [name, c] : collections_) {
    // Ordered collections too: the server sends `removed` before each
    // `addedBefore` of a claimed document (the order comes again whole) and
    // retracts what is gone.
    if (c.docs_.empty()) continue;
    n += c.docs_.size();
    if (n > max_docs) return std::nullopt;
    Object ids;
    ids.reserve(c.docs_.size());
    for (const auto& [id, fields] : c.docs_) ids.Append(id, Value(DigestText(FieldsDigest(fields))));
    docs.Append(name, Value(std::move(ids)));
  }
  if (n == 0) return std::nullopt;
  Array ids;
  for (const std::string& s : subs) ids.push_back(Value(s));
  return Value(Object{{"docs", Value(std::move(docs))}, {"subs", Value(std::move(ids))}});
}

void Cache::ReplaceWith(Cache fresh) {
  // Removals and changes against the old content, then additions.
  for (auto& [name, old] : collections_) {
    const Collection* now = fresh.Get(name);
    std::vector<std::string> gone;
    for (auto& [id, doc] : old.docs_) {
      const Object* next = now ? now->Find(id) : nullptr;
      if (next == nullptr) {
        gone.push_back(id);
        continue;
      }
      Object fields;
      std::vector<std::string> cleared;
      for (const Member& m : *next) {
        const Value* v = doc.Find(m.key);
        if (v == nullptr || *v != m.value) fields.Append(m.key, m.value);
      }
      for (const Member& m : doc) {
        if (!next->Contains(m.key)) cleared.push_back(m.key);
      }
      if (!fields.empty() || !cleared.empty()) NotifyChanged(name, id, fields, cleared);
    }
    for (const std::string& id : gone) NotifyRemoved(name, id);
  }
  for (auto& [name, now] : fresh.collections_) {
    const Collection* old = Get(name);
    for (auto& [id, doc] : now.docs_) {
      if (old == nullptr || old->Find(id) == nullptr) NotifyAdded(name, id, doc);
    }
  }
  // Ordered collections whose order differs: every document placed again,
  // from the last to the first, which observers can apply one by one.
  for (auto& [name, now] : fresh.collections_) {
    if (now.order_.empty()) continue;
    const Collection* old = Get(name);
    if (old != nullptr && old->order_ == now.order_) continue;
    std::optional<std::string> before;
    for (auto it = now.order_.rbegin(); it != now.order_.rend(); ++it) {
      NotifyMoved(name, *it, before);
      before = *it;
    }
  }
  // Keep the observers, take the documents.
  collections_ = std::move(fresh.collections_);
}

void Cache::Clear() { collections_.clear(); }

}  // namespace ddp

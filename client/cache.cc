#include "client/cache.h"

#include <algorithm>

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

bool Cache::Apply(const Message& m) {
  if (const auto* a = std::get_if<AddedMsg>(&m)) {
    Collection& c = collections_[a->collection];
    c.docs_[a->id] = a->fields;
    NotifyAdded(a->collection, a->id, a->fields);
    return true;
  }
  if (const auto* a = std::get_if<AddedBeforeMsg>(&m)) {
    Collection& c = collections_[a->collection];
    c.docs_[a->id] = a->fields;
    Place(c.order_, a->id, a->before);
    NotifyAdded(a->collection, a->id, a->fields);
    NotifyMoved(a->collection, a->id, a->before);
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

void Cache::NotifyAdded(const std::string& c, const std::string& id, const Object& fields) {
  for (auto& [h, o] : observers_) {
    if ((o.first == c || o.first.empty()) && o.second.added) o.second.added(id, fields);
  }
}
void Cache::NotifyChanged(const std::string& c, const std::string& id, const Object& fields,
                          const std::vector<std::string>& cleared) {
  for (auto& [h, o] : observers_) {
    if ((o.first == c || o.first.empty()) && o.second.changed) o.second.changed(id, fields, cleared);
  }
}
void Cache::NotifyRemoved(const std::string& c, const std::string& id) {
  for (auto& [h, o] : observers_) {
    if ((o.first == c || o.first.empty()) && o.second.removed) o.second.removed(id);
  }
}
void Cache::NotifyMoved(const std::string& c, const std::string& id,
                        const std::optional<std::string>& before) {
  for (auto& [h, o] : observers_) {
    if ((o.first == c || o.first.empty()) && o.second.moved) o.second.moved(id, before);
  }
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
  // Keep the observers, take the documents.
  auto observers = std::move(observers_);
  uint64_t next = next_observer_;
  collections_ = std::move(fresh.collections_);
  observers_ = std::move(observers);
  next_observer_ = next;
}

void Cache::Clear() { collections_.clear(); }

}  // namespace ddp

#include "server/engine/live.h"

#include <algorithm>

#include "server/engine/topic_name.h"

namespace ddp::engine {
namespace {

// DDP `fields` never carry `_id`: the id travels in the message.
Object WithoutId(Object o) {
  o.Erase("_id");
  return o;
}

}  // namespace

const std::string& CollectionFor(const LiveQuery& query, const std::string& topic) {
  return query.as.empty() ? topic : query.as;
}

void DiffFields(const Object& before, const Object& after, Object* fields,
                std::vector<std::string>* cleared) {
  for (const Member& m : after) {
    if (m.key == "_id") continue;
    const Value* old = before.Find(m.key);
    if (old == nullptr || *old != m.value) fields->Append(m.key, m.value);
  }
  for (const Member& m : before) {
    if (m.key == "_id") continue;
    if (!after.Contains(m.key)) cleared->push_back(m.key);
  }
}

LiveRegistry::Id LiveRegistry::Add(LiveQuery query, std::shared_ptr<LiveSink> sink) {
  Id id = next_id_++;
  if (query.is_pattern) {
    patterns_.push_back(id);
  } else {
    by_topic_[query.target].push_back(id);
  }
  subs_.emplace(id, Sub{std::move(query), std::move(sink)});
  return id;
}

void LiveRegistry::Remove(Id id) {
  auto it = subs_.find(id);
  if (it == subs_.end()) return;
  if (it->second.query.is_pattern) {
    std::erase(patterns_, id);
  } else {
    auto t = by_topic_.find(it->second.query.target);
    if (t != by_topic_.end()) {
      std::erase(t->second, id);
      if (t->second.empty()) by_topic_.erase(t);
    }
  }
  subs_.erase(it);
}

const LiveQuery* LiveRegistry::Find(Id id) const {
  auto it = subs_.find(id);
  return it == subs_.end() ? nullptr : &it->second.query;
}

std::shared_ptr<LiveSink> LiveRegistry::SinkOf(Id id) const {
  auto it = subs_.find(id);
  return it == subs_.end() ? nullptr : it->second.sink;
}

std::optional<Delta> LiveRegistry::InitialDelta(Id id, const std::string& topic,
                                                const std::string& doc_id,
                                                const Object& doc) const {
  auto it = subs_.find(id);
  if (it == subs_.end()) return std::nullopt;
  const LiveQuery& q = it->second.query;
  if (!q.filter.Matches(doc)) return std::nullopt;
  Delta d;
  d.kind = Delta::Kind::kAdded;
  d.collection = CollectionFor(q, topic);
  d.id = doc_id;
  d.fields = WithoutId(q.fields.Apply(doc));
  return d;
}

std::optional<Delta> LiveRegistry::DeltaFor(const Sub& sub, const Change& c) const {
  const LiveQuery& q = sub.query;
  auto matches = [&](const std::shared_ptr<const Object>& doc) {
    return doc != nullptr && q.filter.Matches(*doc);
  };
  bool was = matches(c.before);
  bool is = matches(c.after);
  if (!was && !is) return std::nullopt;
  Delta d;
  d.collection = CollectionFor(q, c.topic);
  d.id = c.id;
  if (!was) {
    d.kind = Delta::Kind::kAdded;
    d.fields = WithoutId(q.fields.Apply(*c.after));
    return d;
  }
  if (!is) {
    d.kind = Delta::Kind::kRemoved;
    return d;
  }
  d.kind = Delta::Kind::kChanged;
  if (q.fields.keeps_all()) {
    DiffFields(*c.before, *c.after, &d.fields, &d.cleared);
  } else {
    DiffFields(q.fields.Apply(*c.before), q.fields.Apply(*c.after), &d.fields, &d.cleared);
  }
  if (d.fields.empty() && d.cleared.empty()) return std::nullopt;
  return d;
}

void LiveRegistry::OnCommit(const CommittedTx& tx) {
  if (subs_.empty()) return;
  // Deltas per subscription, in change order, sent as one batch each.
  absl::flat_hash_map<Id, std::vector<Delta>> out;
  std::vector<Id> order;
  auto emit = [&](Id id, const Sub& sub, const Change& c) {
    std::optional<Delta> d = DeltaFor(sub, c);
    if (!d) return;
    auto [it, inserted] = out.try_emplace(id);
    if (inserted) order.push_back(id);
    it->second.push_back(std::move(*d));
  };
  for (const Change& c : tx.changes) {
    if (auto t = by_topic_.find(c.topic); t != by_topic_.end()) {
      for (Id id : t->second) emit(id, subs_.at(id), c);
    }
    for (Id id : patterns_) {
      const Sub& sub = subs_.at(id);
      if (TopicMatches(sub.query.target, c.topic)) emit(id, sub, c);
    }
  }
  for (Id id : order) subs_.at(id).sink->Send(std::move(out[id]));
}

}  // namespace ddp::engine

// LiveEvaluation: runs a plan's operators over change batches and turns the
// last operator's document changes into what a DDP subscriber needs:
// `added` / `changed` (only changed fields, `cleared`) / `removed`, or for
// ordered results `addedBefore` / `movedBefore` too, computed by replaying
// the client's list against the new order.
#include <set>

#include "common/incremental_map.h"
#include "common/status_macros.h"
#include "common/string_map.h"
#include "common/strings.h"
#include "query/live/plan.h"

namespace ddp::query {
namespace {

// DDP fields carry no `_id` (the id travels in the message). When the
// document's `_id` is not that id (a $group key that is not a string), it
// goes along as `_key` so that the client still has it.
Object WithoutId(Object o, std::string_view ddp_id) {
  if (const Value* id = o.Find("_id"); id != nullptr && !(id->is_string() && id->as_string() == ddp_id)) {
    Value key = *id;
    o.Erase("_id");
    o.Set("_key", std::move(key));
    return o;
  }
  o.Erase("_id");
  return o;
}

void Diff(const Object& before, const Object& after, Object* fields,
          std::vector<std::string>* cleared) {
  for (const Member& m : after) {
    if (m.key == "_id") continue;
    const Value* old = before.Find(m.key);
    if (old == nullptr || *old != m.value) fields->Append(m.key, m.value);
  }
  for (const Member& m : before) {
    if (m.key != "_id" && !after.Contains(m.key)) cleared->push_back(m.key);
  }
}

}  // namespace

struct LiveEvaluation::Impl {
  // Kept small (96-byte slots with the key): with many results, the one
  // random access per change to this map is a cache miss, and a smaller
  // table keeps more of it in cache.
  struct Result {
    const std::string* collection;  // interned in `collections`
    std::string id;
    DocPtr doc;  // before `fields` projection
    std::unique_ptr<Sort::Key> sort_key;  // ordered results only
  };
  struct OrderLess {
    const Sort* sort;
    bool operator()(const std::pair<Sort::Key, std::string>& a,
                    const std::pair<Sort::Key, std::string>& b) const {
      int c = sort->Compare(a.first, b.first);
      return c != 0 ? c < 0 : a.second < b.second;
    }
  };

  std::vector<std::unique_ptr<Operator>> ops;
  std::vector<std::pair<size_t, LookupOperator*>> lookups;  // stage index, operator
  std::set<std::string, std::less<>> collections;  // output collection names
  std::string last_topic;                          // CollectionOf's one-entry cache
  const std::string* last_collection = nullptr;
  const std::string* CollectionOf(const LivePlan& plan, const std::string& topic) {
    if (last_collection == nullptr || topic != last_topic) {
      last_topic = topic;
      last_collection = &*collections.insert(CollectionFor(plan, topic)).first;
    }
    return last_collection;
  }
  // By key. It grows a step at a time: an event topic's result can hold
  // hundreds of thousands of documents, and a rehash of all of them at once
  // stalled every commit (incremental_map.h).
  IncrementalStringMap<Result> results;
  std::set<std::pair<Sort::Key, std::string>, OrderLess> order;  // ordered results only
  DocDeltas scratch[2];  // operator outputs of one batch (see Run)
  bool failed = false;
};

LiveEvaluation::LiveEvaluation(std::shared_ptr<const LivePlan> plan)
    : plan_(std::move(plan)), impl_(std::make_unique<Impl>()) {
  impl_->order = decltype(impl_->order)(Impl::OrderLess{&plan_->order});
  for (const Stage& stage : plan_->stages) {
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, FilterStage>) {
            impl_->ops.push_back(MakeFilterOp(s));
          } else if constexpr (std::is_same_v<T, PartitionStage>) {
            impl_->ops.push_back(MakePartitionOp(s));
          } else if constexpr (std::is_same_v<T, ProjectStage>) {
            impl_->ops.push_back(MakeProjectOp(s));
          } else if constexpr (std::is_same_v<T, SortLimitStage>) {
            impl_->ops.push_back(MakeSortLimitOp(s, plan_->limits));
          } else if constexpr (std::is_same_v<T, GroupStage>) {
            impl_->ops.push_back(MakeGroupOp(s, plan_->limits));
          } else if constexpr (std::is_same_v<T, WindowStage>) {
            impl_->ops.push_back(MakeWindowOp(s, plan_->limits));
          } else if constexpr (std::is_same_v<T, LookupStage>) {
            std::unique_ptr<LookupOperator> op = MakeLookupOp(s);
            impl_->lookups.emplace_back(impl_->ops.size(), op.get());
            impl_->ops.push_back(std::move(op));
          }
        },
        stage);
  }
}

LiveEvaluation::~LiveEvaluation() = default;

namespace {

// Runs `in` through ops[from..]; returns the last output, which is `in`
// itself when no operator ran, else one of the two scratch vectors (their
// capacity is kept from batch to batch).
absl::StatusOr<const DocDeltas*> Run(std::vector<std::unique_ptr<Operator>>& ops, size_t from,
                                     const DocDeltas& in, DocDeltas (&scratch)[2]) {
  const DocDeltas* cur = &in;
  for (size_t i = from; i < ops.size() && !cur->empty(); ++i) {
    DocDeltas& next = cur == &scratch[0] ? scratch[1] : scratch[0];
    next.clear();
    RETURN_IF_ERROR(ops[i]->Apply(*cur, &next));
    cur = &next;
  }
  return cur;
}

}  // namespace

absl::Status LiveEvaluation::ApplySource(std::string_view topic,
                                         const std::vector<DocDelta>& changes, LiveDeltas* out) {
  if (impl_->failed) return absl::FailedPreconditionError("the evaluation stopped after an error");
  // Operators key documents by `key` and name their topic; the engine's
  // changes usually carry both already (then they are used as they are).
  bool as_is = !plan_->is_pattern;
  for (size_t i = 0; as_is && i < changes.size(); ++i) {
    as_is = changes[i].topic == topic && changes[i].key == changes[i].id;
  }
  DocDeltas keyed;
  if (!as_is) {
    keyed.reserve(changes.size());
    for (const DocDelta& c : changes) {
      DocDelta d = c;
      d.topic = std::string(topic);
      // Documents of different topics may share an id under a pattern.
      d.key = plan_->is_pattern ? StrCat(topic, "\x1f", c.id) : c.id;
      keyed.push_back(std::move(d));
    }
  }
  absl::StatusOr<const DocDeltas*> final_changes =
      Run(impl_->ops, 0, as_is ? changes : keyed, impl_->scratch);
  if (!final_changes.ok()) {
    impl_->failed = true;
    ReleaseScratch();
    return final_changes.status();
  }
  absl::Status s = EmitFinal(**final_changes, out);
  ReleaseScratch();
  return s;
}

void LiveEvaluation::ReleaseScratch() {
  // The scratch must not keep documents alive between batches, nor the
  // capacity of a large batch (the initial load) for the evaluation's life.
  constexpr size_t kKeptCapacity = 64;
  for (DocDeltas& d : impl_->scratch) {
    if (d.capacity() > kKeptCapacity) {
      DocDeltas().swap(d);
    } else {
      d.clear();
    }
  }
}

absl::Status LiveEvaluation::EmitFinal(const std::vector<DocDelta>& final_changes, LiveDeltas* out) {
  const bool ordered = plan_->ordered;
  std::vector<std::string> old_order;
  if (ordered) {
    old_order.reserve(impl_->order.size());
    for (const auto& [k, key] : impl_->order) old_order.push_back(key);
  }
  for (const DocDelta& d : final_changes) {
    Impl::Result* found = impl_->results.Find(d.key);
    if (d.after == nullptr) {
      if (found == nullptr) continue;
      if (ordered) impl_->order.erase({*found->sort_key, d.key});
      out->push_back(LiveDelta{LiveDelta::Kind::kRemoved, *found->collection, found->id, {}, {}, {}, {}});
      impl_->results.Erase(d.key);
      continue;
    }
    Sort::Key key = ordered ? plan_->order.KeyFor(*d.after) : Sort::Key();
    if (found == nullptr) {
      Impl::Result r{impl_->CollectionOf(*plan_, d.topic), d.id,
                     d.after, ordered ? std::make_unique<Sort::Key>(key) : nullptr};
      if (!ordered) {
        out->push_back(LiveDelta{LiveDelta::Kind::kAdded, *r.collection, r.id,
                                 WithoutId(plan_->fields.Apply(*d.after), r.id), {}, {}, {}});
      } else {
        impl_->order.insert({key, d.key});
      }
      impl_->results.Emplace(d.key, std::move(r));
    } else {
      Impl::Result& r = *found;
      LiveDelta c{LiveDelta::Kind::kChanged, *r.collection, r.id, {}, {}, {}, {}};
      if (plan_->fields.keeps_all()) {
        Diff(*r.doc, *d.after, &c.fields, &c.cleared);
      } else {
        Diff(plan_->fields.Apply(*r.doc), plan_->fields.Apply(*d.after), &c.fields, &c.cleared);
      }
      if (!c.fields.empty() || !c.cleared.empty()) {
        // The whole document after the change, made once for every
        // subscriber's merge box (see DataChange::after).
        c.after = SharedDocumentRef::Make(r.id, WithoutId(plan_->fields.Apply(*d.after), r.id));
        out->push_back(std::move(c));
      }
      if (ordered) {
        impl_->order.erase({*r.sort_key, d.key});
        impl_->order.insert({key, d.key});
        *r.sort_key = std::move(key);
      }
      r.doc = d.after;
    }
  }
  if (impl_->results.size() > plan_->limits.max_result) {
    impl_->failed = true;
    return absl::ResourceExhaustedError(StrCat("live query limit: more than ",
                                               plan_->limits.max_result,
                                               " documents in the result (max_result)"));
  }
  if (!ordered) return absl::OkStatus();
  // Replay the client's list (old order minus removals) against the new
  // order: insert what is new, move what is out of place.
  std::vector<std::string> client;
  client.reserve(old_order.size());
  for (const std::string& k : old_order) {
    if (impl_->results.Contains(k)) client.push_back(k);
  }
  StringSet in_client(client.begin(), client.end());
  size_t i = 0;
  for (const auto& [sk, key] : impl_->order) {
    const Impl::Result& r = *impl_->results.Find(key);
    auto before_id = [&](size_t pos) -> std::optional<std::string> {
      if (pos >= client.size()) return std::nullopt;
      return impl_->results.Find(client[pos])->id;
    };
    if (!in_client.contains(key)) {
      out->push_back(LiveDelta{LiveDelta::Kind::kAddedBefore, *r.collection, r.id,
                               WithoutId(plan_->fields.Apply(*r.doc), r.id), {}, before_id(i), {}});
      client.insert(client.begin() + static_cast<ptrdiff_t>(i), key);
      in_client.insert(key);
    } else if (client[i] != key) {
      auto at = std::find(client.begin() + static_cast<ptrdiff_t>(i), client.end(), key);
      client.erase(at);
      out->push_back(LiveDelta{LiveDelta::Kind::kMovedBefore, *r.collection, r.id, {}, {}, before_id(i), {}});
      client.insert(client.begin() + static_cast<ptrdiff_t>(i), key);
    }
    ++i;
  }
  return absl::OkStatus();
}

absl::Status LiveEvaluation::ApplyForeign(std::string_view topic,
                                          const std::vector<DocDelta>& changes, LiveDeltas* out) {
  if (impl_->failed) return absl::FailedPreconditionError("the evaluation stopped after an error");
  // Each $lookup on this topic gets the changes; what it emits runs through
  // the stages after it, then out like source changes.
  for (size_t n = 0; n < impl_->lookups.size(); ++n) {
    if (plan_->lookup_topics[n] != topic) continue;
    auto [index, op] = impl_->lookups[n];
    DocDeltas emitted;
    absl::Status s = op->ApplyForeign(changes, &emitted);
    if (!s.ok()) {
      impl_->failed = true;
      return s;
    }
    if (emitted.empty()) continue;
    // Re-enter the pipeline after the lookup: reuse ApplySource's emission
    // by running the tail here.
    absl::StatusOr<const DocDeltas*> tail = Run(impl_->ops, index + 1, emitted, impl_->scratch);
    if (!tail.ok()) {
      impl_->failed = true;
      ReleaseScratch();
      return tail.status();
    }
    s = EmitFinal(**tail, out);
    ReleaseScratch();
    RETURN_IF_ERROR(s);
  }
  return absl::OkStatus();
}

LiveDeltas LiveEvaluation::Snapshot() const {
  LiveDeltas out;
  for (ResultDoc& r : Documents()) {
    LiveDelta d;
    d.kind = plan_->ordered ? LiveDelta::Kind::kAddedBefore : LiveDelta::Kind::kAdded;
    d.collection = std::move(r.collection);
    d.fields = WithoutId(std::move(r.doc), r.id);
    d.id = std::move(r.id);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<LiveEvaluation::ResultDoc> LiveEvaluation::Documents() const {
  std::vector<ResultDoc> out;
  out.reserve(impl_->results.size());
  auto emit = [&](const Impl::Result& r) {
    out.push_back(ResultDoc{*r.collection, r.id, plan_->fields.Apply(*r.doc)});
  };
  if (plan_->ordered) {
    for (const auto& [k, key] : impl_->order) emit(*impl_->results.Find(key));
    return out;
  }
  // Unordered: still in the plan's order, so `query` returns sorted results.
  std::vector<const Impl::Result*> all;
  all.reserve(impl_->results.size());
  impl_->results.ForEach([&](const std::string&, const Impl::Result& r) { all.push_back(&r); });
  std::vector<std::pair<Sort::Key, const Impl::Result*>> keyed;
  keyed.reserve(all.size());
  for (const Impl::Result* r : all) keyed.emplace_back(plan_->order.KeyFor(*r->doc), r);
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    int c = plan_->order.Compare(a.first, b.first);
    return c != 0 ? c < 0 : a.second->id < b.second->id;
  });
  for (const auto& [k, r] : keyed) emit(*r);
  return out;
}

size_t LiveEvaluation::size() const { return impl_->results.size(); }

}  // namespace ddp::query

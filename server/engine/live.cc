#include "server/engine/live.h"

#include <algorithm>
#include <chrono>
#include <iterator>

#include "common/strings.h"
#include "query/expr.h"
#include "query/path.h"
#include "server/engine/topic_name.h"
#include "spdlog/spdlog.h"

namespace ddp::engine {

void LiveRegistry::Register(uint64_t eval_id, Evaluation& e) {
  const query::LivePlan& plan = *e.plan;
  for (const std::string& from : plan.lookup_topics) {
    auto& list = lookups_[from];
    if (std::find(list.begin(), list.end(), eval_id) == list.end()) list.push_back(eval_id);
  }
  if (plan.is_pattern) {
    patterns_.push_back(eval_id);
    return;
  }
  TopicRouting& r = routing_[plan.target];
  const auto& eqs = plan.filter.equalities();
  if (eqs.empty()) {
    r.unindexed.push_back(eval_id);
    return;
  }
  e.routed_field = eqs[0].first;
  e.routed_key = query::KeyString(eqs[0].second);
  r.by_field[e.routed_field][e.routed_key].push_back(eval_id);
  ++r.indexed;
}

void LiveRegistry::Unregister(uint64_t eval_id, Evaluation& e) {
  const query::LivePlan& plan = *e.plan;
  for (const std::string& from : plan.lookup_topics) {
    auto it = lookups_.find(from);
    if (it == lookups_.end()) continue;
    std::erase(it->second, eval_id);
    if (it->second.empty()) lookups_.erase(it);
  }
  if (plan.is_pattern) {
    std::erase(patterns_, eval_id);
    return;
  }
  auto r = routing_.find(plan.target);
  if (r == routing_.end()) return;
  if (e.routed_field.empty()) {
    std::erase(r->second.unindexed, eval_id);
  } else {
    auto f = r->second.by_field.find(e.routed_field);
    if (f != r->second.by_field.end()) {
      auto k = f->second.find(e.routed_key);
      if (k != f->second.end()) {
        std::erase(k->second, eval_id);
        --r->second.indexed;
        if (k->second.empty()) f->second.erase(k);
      }
      if (f->second.empty()) r->second.by_field.erase(f);
    }
  }
  if (r->second.unindexed.empty() && r->second.by_field.empty()) routing_.erase(r);
}

absl::StatusOr<LiveRegistry::Id> LiveRegistry::Add(std::shared_ptr<const query::LivePlan> plan,
                                                   std::shared_ptr<LiveSink> sink,
                                                   const Loader& load) {
  uint64_t eval_id;
  auto existing = by_canonical_.find(plan->canonical);
  if (existing != by_canonical_.end()) {
    eval_id = existing->second;
    stats_.shared_joins++;
  } else {
    auto eval = std::make_unique<query::LiveEvaluation>(plan);
    // Initial load: the $lookup sources first, so that joins see them, then
    // the queried topic(s). Nothing commits meanwhile (committer thread).
    std::vector<query::LiveDelta> ignored;
    for (const std::string& from : plan->lookup_topics) {
      std::vector<query::DocDelta> batch;
      absl::Status s = load(from, false, [&](const std::string& topic, const std::string& id, Object doc) {
        batch.push_back(query::DocDelta{id, id, topic, nullptr,
                                        std::make_shared<const Object>(std::move(doc))});
      });
      if (!s.ok()) return s;
      if (!batch.empty()) {
        absl::Status a = eval->ApplyForeign(from, batch, &ignored);
        if (!a.ok()) return absl::InvalidArgumentError(a.message());
      }
    }
    StringMap<std::vector<query::DocDelta>> by_topic;
    absl::Status s = load(plan->target, plan->is_pattern,
                          [&](const std::string& topic, const std::string& id, Object doc) {
                            by_topic[topic].push_back(query::DocDelta{
                                id, id, topic, nullptr,
                                std::make_shared<const Object>(std::move(doc))});
                          });
    if (!s.ok()) return s;
    for (auto& [topic, batch] : by_topic) {
      absl::Status a = eval->ApplySource(topic, batch, &ignored);
      // A limit exceeded while loading: the query is too expensive (400).
      if (!a.ok()) return absl::InvalidArgumentError(a.message());
    }
    eval_id = next_eval_++;
    Evaluation& e = evals_[eval_id];
    e.plan = plan;
    e.eval = std::move(eval);
    Register(eval_id, e);
    by_canonical_.emplace(plan->canonical, eval_id);
    stats_.evaluations_created++;
    stats_.evaluations_by_kind[static_cast<size_t>(KindOf(*plan))]++;
  }
  Evaluation& e = evals_.at(eval_id);
  Id id = next_sub_++;
  e.subscribers.push_back(id);
  subs_.emplace(id, std::make_pair(eval_id, sink));
  stats_.evaluations = static_cast<int64_t>(evals_.size());
  stats_.subscriptions = static_cast<int64_t>(subs_.size());
  // The initial result goes to this subscriber alone: not encoded here (the
  // session encodes what its merge box sends), but with its documents
  // shared, as live batches have them (the merge box keeps those, and a
  // collection this subscription alone fills needs no index).
  auto snapshot = std::make_shared<ChangeBatch>();
  snapshot->changes = e.eval->Snapshot();
  snapshot->ShareDocuments();
  if (!snapshot->changes.empty()) sink->Send(std::move(snapshot));
  sink->Ready();
  return id;
}

std::vector<EvaluationInfo> LiveRegistry::Describe(size_t max) const {
  static constexpr const char* kStageNames[] = {"$match", "$partition", "$project",
                                                "$sort/$limit", "$group", "$window",
                                                "$lookup"};
  static_assert(std::size(kStageNames) == std::variant_size_v<query::Stage>);
  std::vector<EvaluationInfo> out;
  out.reserve(evals_.size());
  for (const auto& [id, e] : evals_) {
    EvaluationInfo& i = out.emplace_back();
    i.target = e.plan->target;
    const size_t newline = e.plan->canonical.find('\n');
    i.query = newline == std::string::npos ? e.plan->canonical : e.plan->canonical.substr(newline + 1);
    i.kind = KindOf(*e.plan);
    for (const query::Stage& stage : e.plan->stages) i.operators.push_back(kStageNames[stage.index()]);
    i.subscribers = e.subscribers.size();
    i.changes_in = e.changes_in;
    i.deltas_out = e.deltas_out;
    i.busy_nanos = e.busy_nanos;
  }
  std::sort(out.begin(), out.end(), [](const EvaluationInfo& a, const EvaluationInfo& b) {
    return a.busy_nanos != b.busy_nanos ? a.busy_nanos > b.busy_nanos : a.query < b.query;
  });
  if (out.size() > max) out.resize(max);
  return out;
}

EvalKind KindOf(const query::LivePlan& plan) {
  EvalKind kind = EvalKind::kFilter;
  for (const query::Stage& stage : plan.stages) {
    EvalKind k = EvalKind::kFilter;
    if (std::holds_alternative<query::SortLimitStage>(stage)) k = EvalKind::kSortLimit;
    if (std::holds_alternative<query::PartitionStage>(stage)) k = EvalKind::kPartition;
    if (std::holds_alternative<query::LookupStage>(stage)) k = EvalKind::kLookup;
    if (std::holds_alternative<query::GroupStage>(stage)) k = EvalKind::kGroup;
    if (std::holds_alternative<query::WindowStage>(stage)) k = EvalKind::kWindow;
    kind = std::max(kind, k);
  }
  return kind;
}

void LiveRegistry::Clear() {
  subs_.clear();
  evals_.clear();
  by_canonical_.clear();
  routing_.clear();
  patterns_.clear();
  lookups_.clear();
  stats_.evaluations = 0;
  for (auto& n : stats_.evaluations_by_kind) n = 0;
  stats_.subscriptions = 0;
}

void LiveRegistry::Remove(Id id) {
  auto it = subs_.find(id);
  if (it == subs_.end()) return;
  uint64_t eval_id = it->second.first;
  subs_.erase(it);
  auto e = evals_.find(eval_id);
  if (e != evals_.end()) {
    std::erase(e->second.subscribers, id);
    if (e->second.subscribers.empty()) {
      Unregister(eval_id, e->second);
      by_canonical_.erase(e->second.plan->canonical);
      stats_.evaluations_by_kind[static_cast<size_t>(KindOf(*e->second.plan))]--;
      evals_.erase(e);
    }
  }
  stats_.evaluations = static_cast<int64_t>(evals_.size());
  stats_.subscriptions = static_cast<int64_t>(subs_.size());
}

void LiveRegistry::Fail(uint64_t eval_id, const absl::Status& status) {
  auto e = evals_.find(eval_id);
  if (e == evals_.end()) return;
  spdlog::warn("live query on '{}' stopped: {}", e->second.plan->target, ToStd(status.message()));
  std::vector<Id> subscribers = e->second.subscribers;
  absl::Status client_error = absl::InvalidArgumentError(status.message());
  for (Id sub : subscribers) {
    auto s = subs_.find(sub);
    if (s != subs_.end()) s->second.second->Fail(client_error);
    Remove(sub);
  }
}

void LiveRegistry::OnCommit(const CommittedTx& tx) { OnCommit(std::span<const CommittedTx>(&tx, 1)); }

void LiveRegistry::OnCommit(std::span<const CommittedTx> group) {
  if (evals_.empty()) return;
  // One batch per evaluation for the whole commit group: each subscriber
  // gets one post, one merge-box pass and one gathered write for all of
  // the group's transactions (whole transactions, in seq order), instead
  // of one per transaction.
  Pending pending;
  for (const CommittedTx& tx : group) Evaluate(tx, pending);
  for (uint64_t eval_id : pending.order) Deliver(eval_id, pending);
}

void LiveRegistry::Deliver(uint64_t eval_id, Pending& pending) {
  auto p = pending.out.find(eval_id);
  if (p == pending.out.end() || p->second.empty()) return;
  auto e = evals_.find(eval_id);
  if (e == evals_.end()) return;
  // One batch for every subscriber, each message encoded once here
  // rather than once per subscriber on the I/O threads.
  auto shared = std::make_shared<ChangeBatch>();
  shared->changes = std::move(p->second);
  p->second.clear();
  shared->Encode();
  ChangeBatchPtr batch = std::move(shared);
  for (Id sub : e->second.subscribers) subs_.at(sub).second->Send(batch);
}

void LiveRegistry::Evaluate(const CommittedTx& tx, Pending& pending) {
  if (evals_.empty()) return;
  // Per evaluation: the changes it must see, by topic, as source or foreign.
  struct Work {
    StringMap<std::vector<query::DocDelta>> source;
    StringMap<std::vector<query::DocDelta>> foreign;
  };
  absl::flat_hash_map<uint64_t, Work> work;
  std::vector<uint64_t> order;
  auto add = [&](uint64_t eval_id, const Change& c, bool foreign) {
    auto [it, inserted] = work.try_emplace(eval_id);
    if (inserted) order.push_back(eval_id);
    auto& list = foreign ? it->second.foreign[c.topic] : it->second.source[c.topic];
    list.push_back(query::DocDelta{c.id, c.id, c.topic, c.before, c.after});
  };
  for (const Change& c : tx.changes) {
    if (auto r = routing_.find(c.topic); r != routing_.end()) {
      const TopicRouting& routing = r->second;
      std::vector<uint64_t> candidates = routing.unindexed;
      for (const auto& [field, values] : routing.by_field) {
        query::Path path(field);
        std::vector<std::string> keys;
        for (const std::shared_ptr<const Object>& doc : {c.before, c.after}) {
          if (doc == nullptr) continue;
          std::vector<std::string> k = query::EqualityKeys(*doc, path);
          keys.insert(keys.end(), k.begin(), k.end());
        }
        for (const std::string& k : keys) {
          auto hit = values.find(k);
          if (hit != values.end()) candidates.insert(candidates.end(), hit->second.begin(), hit->second.end());
        }
      }
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
      stats_.changes_routed += static_cast<int64_t>(candidates.size());
      stats_.changes_skipped += static_cast<int64_t>(routing.size() - candidates.size());
      for (uint64_t id : candidates) add(id, c, false);
    }
    for (uint64_t id : patterns_) {
      if (TopicMatches(evals_.at(id).plan->target, c.topic)) add(id, c, false);
    }
    if (auto l = lookups_.find(c.topic); l != lookups_.end()) {
      for (uint64_t id : l->second) add(id, c, true);
    }
  }
  for (uint64_t eval_id : order) {
    auto e = evals_.find(eval_id);
    if (e == evals_.end()) continue;
    Work& w = work[eval_id];
    std::vector<query::LiveDelta> out;
    absl::Status s;
    const auto started = std::chrono::steady_clock::now();
    for (auto& [topic, batch] : w.foreign) {
      e->second.changes_in += batch.size();
      if (s.ok()) s = e->second.eval->ApplyForeign(topic, batch, &out);
    }
    for (auto& [topic, batch] : w.source) {
      e->second.changes_in += batch.size();
      if (s.ok()) s = e->second.eval->ApplySource(topic, batch, &out);
    }
    e->second.busy_nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
    e->second.deltas_out += out.size();
    if (!s.ok()) {
      // What earlier transactions of the group produced goes out first.
      Deliver(eval_id, pending);
      Fail(eval_id, s);
      continue;
    }
    if (out.empty()) continue;
    auto [p, inserted] = pending.out.try_emplace(eval_id);
    if (inserted) pending.order.push_back(eval_id);
    if (p->second.empty()) {
      p->second = std::move(out);
    } else {
      p->second.insert(p->second.end(), std::make_move_iterator(out.begin()),
                       std::make_move_iterator(out.end()));
    }
  }
}

}  // namespace ddp::engine

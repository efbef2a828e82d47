#include "server/ddp/rerun.h"

namespace ddp {

void RerunBaseline::Start(
    const std::function<void(const std::function<void(std::string_view, std::string_view,
                                                       const Object&)>&)>& view,
    std::vector<std::string> awaited, std::vector<std::string> ready_before) {
  // What the client holds: during an earlier re-run, what it has not
  // re-sent yet (still in the baseline) and what it has sent or changed
  // since (in the merge box, the newer state).
  view([this](std::string_view collection, std::string_view id, const Object& fields) {
    held_[collection].insert_or_assign(std::string(id), fields);
  });
  active_ = true;
  for (std::string& id : awaited) awaited_.insert(std::move(id));
  for (std::string& id : ready_before) ready_before_.insert(std::move(id));
}

bool RerunBaseline::LetAddedThrough(std::string_view collection, std::string_view id,
                                    const Object& fields, Changed* changed) {
  auto coll = held_.find(collection);
  if (coll == held_.end()) return true;
  auto doc = coll->second.find(id);
  if (doc == coll->second.end()) return true;
  const Object& before = doc->second;
  for (const Member& m : fields) {
    const Value* old = before.Find(m.key);
    if (old == nullptr || !(*old == m.value)) changed->fields.Append(m.key, m.value);
  }
  for (const Member& m : before) {
    if (fields.Find(m.key) == nullptr) changed->cleared.push_back(m.key);
  }
  coll->second.erase(doc);
  if (coll->second.empty()) held_.erase(coll);
  return false;
}

bool RerunBaseline::Take(std::string_view collection, std::string_view id) {
  auto coll = held_.find(collection);
  if (coll == held_.end()) return false;
  auto doc = coll->second.find(id);
  if (doc == coll->second.end()) return false;
  coll->second.erase(doc);
  if (coll->second.empty()) held_.erase(coll);
  return true;
}

bool RerunBaseline::Settled(std::string_view sub_id) {
  if (auto it = awaited_.find(sub_id); it != awaited_.end()) awaited_.erase(it);
  return active_ && awaited_.empty();
}

void RerunBaseline::Forget(std::string_view sub_id) {
  if (auto it = ready_before_.find(sub_id); it != ready_before_.end()) ready_before_.erase(it);
}

bool RerunBaseline::SuppressReady(std::string_view sub_id) {
  auto it = ready_before_.find(sub_id);
  if (it == ready_before_.end()) return false;
  ready_before_.erase(it);
  return true;
}

void RerunBaseline::RetractRest(
    const std::function<void(std::string_view collection, std::string_view id)>& fn) {
  for (const auto& [collection, docs] : held_) {
    for (const auto& [id, fields] : docs) fn(collection, id);
  }
  held_.clear();
  awaited_.clear();
  ready_before_.clear();
  active_ = false;
}

}  // namespace ddp

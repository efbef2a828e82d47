#include "common/executor.h"

namespace ddp {
namespace {
thread_local PostBatch* current_batch = nullptr;
}  // namespace

PostBatch::PostBatch() : outer_(current_batch) {
  if (outer_ == nullptr) current_batch = this;
}

PostBatch::~PostBatch() {
  if (outer_ != nullptr) return;
  current_batch = nullptr;
  // Usually every post went to one target; keep the first appearance order
  // of targets and the posting order within each.
  while (!held_.empty()) {
    std::shared_ptr<PostTarget> target = held_.front().first;
    std::vector<absl::AnyInvocable<void() &&>> fns;
    std::vector<std::pair<std::shared_ptr<PostTarget>, absl::AnyInvocable<void() &&>>> rest;
    fns.reserve(held_.size());
    for (auto& [t, fn] : held_) {
      if (t == target) {
        fns.push_back(std::move(fn));
      } else {
        rest.emplace_back(std::move(t), std::move(fn));
      }
    }
    held_ = std::move(rest);
    target->PostAll(std::move(fns));
  }
}

bool PostBatch::Active() { return current_batch != nullptr; }

void PostBatch::Hold(std::shared_ptr<PostTarget> target, absl::AnyInvocable<void() &&> fn) {
  current_batch->held_.emplace_back(std::move(target), std::move(fn));
}

}  // namespace ddp

// $sort + $skip + $limit as a live window: every input document is kept in
// sort order; the output is the window [skip, skip + limit). A document
// that leaves the window (removed, or pushed out by a better one) is
// removed downstream and the next one in order slides in: the window
// refills from the operator's own sorted set, so it is always exact.
//
// Cost per batch: O(log n) per input change plus O(skip + limit) to diff
// the window. Memory: every input document (shared pointers, not copies).
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "common/string_map.h"
#include "query/live/operator.h"

namespace ddp::query {
namespace {

class SortLimitOp : public Operator {
 public:
  explicit SortLimitOp(const SortLimitStage& s) : s_(s), set_(Less{&s_.sort}) {}

  absl::Status Apply(const DocDeltas& in, DocDeltas* out) override {
    if (in.empty()) return absl::OkStatus();
    // The window is the first `reach` entries (skip + limit). A change whose
    // old and new entries both sort after the current last one cannot alter
    // it while the window is full: the common case for a small window over
    // many documents costs O(log n).
    size_t reach = s_.limit == 0 ? SIZE_MAX : static_cast<size_t>(s_.skip + s_.limit);
    bool full = set_.size() >= reach && reach != SIZE_MAX;
    std::optional<Entry> boundary;
    if (full) boundary = *std::next(set_.begin(), static_cast<ptrdiff_t>(reach - 1));
    bool touches = !full;
    Less less{&s_.sort};
    for (const DocDelta& d : in) {
      auto it = by_key_.find(d.key);
      if (it != by_key_.end()) {
        if (!touches && !less(*boundary, *it->second)) touches = true;
        set_.erase(it->second);
        by_key_.erase(it);
      }
      if (d.after != nullptr) {
        Entry e{s_.sort.KeyFor(*d.after), d.key, d.id, d.topic, d.after};
        if (!touches && !less(*boundary, e)) touches = true;
        auto pos = set_.insert(std::move(e)).first;
        by_key_.emplace(d.key, pos);
      }
    }
    if (!touches) return absl::OkStatus();
    // Diff the new window against what downstream holds.
    StringMap<Held> next;
    auto it = set_.begin();
    for (int64_t i = 0; i < s_.skip && it != set_.end(); ++i) ++it;
    for (size_t n = 0; it != set_.end() && (s_.limit == 0 || n < static_cast<size_t>(s_.limit));
         ++it, ++n) {
      DocDelta like{it->key, it->id, it->topic, nullptr, nullptr};
      auto old = window_.find(it->key);
      if (old == window_.end()) {
        EmitChange(out, like, nullptr, it->doc);
      } else {
        EmitChange(out, like, old->second.doc, it->doc);
        window_.erase(old);
      }
      next.emplace(it->key, Held{it->id, it->topic, it->doc});
    }
    for (auto& [key, held] : window_) {
      EmitChange(out, DocDelta{key, held.id, held.topic, nullptr, nullptr}, held.doc, nullptr);
    }
    window_ = std::move(next);
    return absl::OkStatus();
  }

 private:
  struct Entry {
    Sort::Key sort_key;
    std::string key;
    std::string id;
    std::string topic;
    DocPtr doc;
  };
  struct Less {
    const Sort* sort;
    bool operator()(const Entry& a, const Entry& b) const {
      int c = sort->Compare(a.sort_key, b.sort_key);
      return c != 0 ? c < 0 : a.key < b.key;
    }
  };
  using Set = std::set<Entry, Less>;
  // What downstream currently holds for a key in the window.
  struct Held {
    std::string id;
    std::string topic;
    DocPtr doc;
  };

  const SortLimitStage& s_;
  Set set_;
  StringMap<Set::iterator> by_key_;
  StringMap<Held> window_;
};

}  // namespace

std::unique_ptr<Operator> MakeSortLimitOp(const SortLimitStage& s, const LiveLimits&) {
  return std::make_unique<SortLimitOp>(s);
}

}  // namespace ddp::query

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
    std::vector<Slot> before_window = Window();
    for (const DocDelta& d : in) {
      auto it = by_key_.find(d.key);
      if (it != by_key_.end()) {
        set_.erase(it->second);
        by_key_.erase(it);
      }
      if (d.after != nullptr) {
        Entry e{s_.sort.KeyFor(*d.after), d.key, d.id, d.topic, d.after};
        auto pos = set_.insert(std::move(e)).first;
        by_key_.emplace(d.key, pos);
      }
    }
    std::vector<Slot> after_window = Window();
    StringMap<const Slot*> old_by_key;
    for (const Slot& e : before_window) old_by_key.emplace(e.key, &e);
    StringSet still;
    for (const Slot& e : after_window) {
      auto it = old_by_key.find(e.key);
      DocDelta like{e.key, e.id, e.topic, nullptr, nullptr};
      if (it == old_by_key.end()) {
        EmitChange(out, like, nullptr, e.doc);
      } else {
        still.insert(e.key);
        EmitChange(out, like, it->second->doc, e.doc);
      }
    }
    for (const Slot& e : before_window) {
      if (!still.contains(e.key)) {
        EmitChange(out, DocDelta{e.key, e.id, e.topic, nullptr, nullptr}, e.doc, nullptr);
      }
    }
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
  // A window member as seen at one moment (the set may change after).
  struct Slot {
    std::string key;
    std::string id;
    std::string topic;
    DocPtr doc;
  };

  std::vector<Slot> Window() const {
    std::vector<Slot> w;
    auto it = set_.begin();
    for (int64_t i = 0; i < s_.skip && it != set_.end(); ++i) ++it;
    for (; it != set_.end() && (s_.limit == 0 || static_cast<int64_t>(w.size()) < s_.limit); ++it) {
      w.push_back(Slot{it->key, it->id, it->topic, it->doc});
    }
    return w;
  }

  const SortLimitStage& s_;
  Set set_;
  StringMap<Set::iterator> by_key_;
};

}  // namespace

std::unique_ptr<Operator> MakeSortLimitOp(const SortLimitStage& s, const LiveLimits&) {
  return std::make_unique<SortLimitOp>(s);
}

}  // namespace ddp::query

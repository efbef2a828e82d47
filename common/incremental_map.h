// IncrementalStringMap: a StringMap (string_map.h) whose growth never
// rehashes everything at once.
//
// A flat hash map grows by allocating a table twice as large and moving
// every entry into it in one call: with the 65k documents of a live query's
// result that took the committer 11 ms (perf sched), and every commit of
// every topic waited behind it. Here, when the table would grow, it becomes
// the "old" table, a new one with room for twice its entries takes the
// inserts, and each later insert or erase moves a few entries from the old
// table to the new one (the way Redis grows its dictionaries). Lookups
// look in both while entries move. The new table is reserved at twice the
// old one's size, and entries move four per insert or erase, so the move
// ends long before the new table would have to grow.
//
// Erasures count too: absl leaves a tombstone in a slot it cannot free at
// once, and a table whose inserts and tombstones reach its growth limit is
// rehashed in place, all at once again. So the move starts when the inserts
// into the current table (an upper bound of its live entries plus its
// tombstones) reach that limit; a table of erased entries moves into a
// smaller one.
//
// Small tables (below kMinIncrementalCapacity slots) grow as absl grows
// them: moving a few thousand entries costs less than the bookkeeping.
//
// Not thread-safe, like the map it wraps. Pointers to values stay valid
// until the value is erased or moved to the new table (any insert or erase
// may move it): do not hold them across those calls. Entries move only on
// inserts and erasures: a map that is only looked up and updated in place
// keeps two tables (and looks in both) until the next insert or erase.
#pragma once

#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "common/string_map.h"

namespace ddp {

template <typename V>
class IncrementalStringMap {
 public:
  static constexpr size_t kMinIncrementalCapacity = 4096;
  static constexpr int kMovesPerUpdate = 4;

  IncrementalStringMap() = default;
  // Not copyable or movable: `next_` points into `old_`.
  IncrementalStringMap(const IncrementalStringMap&) = delete;
  IncrementalStringMap& operator=(const IncrementalStringMap&) = delete;

  V* Find(std::string_view key) {
    if (auto it = cur_.find(key); it != cur_.end()) return &it->second;
    if (!old_.empty()) {
      if (auto it = old_.find(key); it != old_.end()) return &it->second;
    }
    return nullptr;
  }
  const V* Find(std::string_view key) const {
    return const_cast<IncrementalStringMap*>(this)->Find(key);
  }
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }

  // Inserts `value` under `key` unless the key is present; returns the
  // stored value and whether it was inserted.
  std::pair<V*, bool> Emplace(std::string key, V value) {
    if (V* v = Find(key)) return {v, false};
    MaybeStartMoving();
    auto [it, inserted] = cur_.emplace(std::move(key), std::move(value));
    ++inserts_;
    V* stored = &it->second;
    MoveSome();
    // MoveSome only moves old entries into cur_; a flat map may relocate
    // cur_'s slots when it grows, but cur_ was reserved to never grow
    // while entries move, so `stored` is still valid.
    return {stored, true};
  }

  // Returns whether the key was present.
  bool Erase(std::string_view key) {
    bool erased = cur_.erase(key) > 0;
    if (!erased && !old_.empty()) {
      auto it = old_.find(key);
      if (it != old_.end()) {
        if (it == next_) ++next_;  // keep the move's position valid
        old_.erase(it);
        erased = true;
      }
    }
    MoveSome();
    return erased;
  }

  size_t size() const { return cur_.size() + old_.size(); }
  bool empty() const { return size() == 0; }
  // Whether entries are still moving to the new table (for tests).
  bool moving() const { return !old_.empty(); }

  // fn(const std::string& key, const V& value) for every entry, in no
  // particular order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [k, v] : old_) fn(k, v);
    for (const auto& [k, v] : cur_) fn(k, v);
  }

 private:
  void MaybeStartMoving() {
    if (!old_.empty()) return;  // still moving: cur_ has room (see above)
    const size_t capacity = cur_.capacity();
    if (capacity < kMinIncrementalCapacity) return;
    // absl grows (or rehashes in place) a table once its entries and
    // tombstones reach capacity - capacity / 8.
    if (inserts_ + 1 < capacity - capacity / 8) return;
    old_ = std::move(cur_);
    cur_ = StringMap<V>();
    cur_.reserve(2 * old_.size());
    inserts_ = 0;
    next_ = old_.begin();
  }

  void MoveSome() {
    for (int i = 0; i < kMovesPerUpdate && !old_.empty(); ++i) {
      auto at = next_++;
      cur_.insert(old_.extract(at));
      ++inserts_;
    }
    if (old_.empty() && old_.capacity() > 0) old_ = StringMap<V>();  // free the table
  }

  StringMap<V> cur_;
  StringMap<V> old_;  // entries still to move; empty when not growing
  size_t inserts_ = 0;  // into cur_ since it was made
  typename StringMap<V>::iterator next_;  // the next entry of old_ to move
};

}  // namespace ddp

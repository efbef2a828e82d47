// Fifo: a first-in first-out queue that holds no memory while empty.
//
// std::deque allocates a map and a block as soon as it is constructed, which
// is most of what an idle connection's empty queues cost (about 1 KiB each
// in libstdc++). Fifo is a vector with a moving head: push_back is amortized
// O(1), pop_front O(1), and the storage is released when the queue drains.
// Elements do not have stable addresses (push_back may move them).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace ddp {

template <typename T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }

  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& back() { return items_.back(); }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    // Reuse the consumed prefix instead of growing past it.
    if (head_ > 0 && items_.size() == items_.capacity() && head_ >= items_.size() / 2) Compact();
    return items_.emplace_back(std::forward<Args>(args)...);
  }
  void push_back(T item) { emplace_back(std::move(item)); }

  void pop_front() {
    items_[head_] = T();  // release what the element holds now
    if (++head_ == items_.size()) clear();
  }
  void pop_back() {
    items_.pop_back();
    if (empty()) clear();
  }
  void clear() {
    std::vector<T>().swap(items_);
    head_ = 0;
  }

  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

 private:
  void Compact() {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }

  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace ddp

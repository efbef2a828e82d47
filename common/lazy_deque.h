// LazyDeque: a std::deque that holds no memory while empty.
//
// An empty std::deque still holds a map and a block (about 600 bytes in
// libstdc++), which is most of what an idle connection's empty queues cost.
// LazyDeque allocates its deque on the first push and frees it when the
// last element leaves. Elements keep stable addresses while queued, as in
// std::deque (write buffers may point into them).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>

namespace ddp {

template <typename T>
class LazyDeque {
 public:
  bool empty() const { return !items_ || items_->empty(); }
  size_t size() const { return items_ ? items_->size() : 0; }

  T& front() { return items_->front(); }
  T& operator[](size_t i) { return (*items_)[i]; }
  T& back() { return items_->back(); }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    if (!items_) items_ = std::make_unique<std::deque<T>>();
    return items_->emplace_back(std::forward<Args>(args)...);
  }
  void push_back(T item) { emplace_back(std::move(item)); }

  void pop_front() {
    items_->pop_front();
    if (items_->empty()) items_.reset();
  }
  void pop_back() {
    items_->pop_back();
    if (items_->empty()) items_.reset();
  }
  void clear() { items_.reset(); }

  auto begin() const { return items_ ? items_->cbegin() : Empty().cbegin(); }
  auto end() const { return items_ ? items_->cend() : Empty().cend(); }

 private:
  static const std::deque<T>& Empty() {
    static const std::deque<T> empty;
    return empty;
  }
  std::unique_ptr<std::deque<T>> items_;
};

}  // namespace ddp

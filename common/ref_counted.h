// RefCounted / RefPtr: a reference count inside the object and an 8-byte
// pointer that holds one reference (std::shared_ptr's is 16 bytes: pointer
// and control block). For immutable objects shared by many small index
// entries, where the entry's size is the memory per client (the merge box).
//
// The count is atomic: references are taken and dropped on several threads.
// Objects are created with RefPtr<T>::Make and deleted with the last
// reference.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace ddp {

template <typename T>
class RefPtr;

template <typename T>
class RefCounted {
 protected:
  RefCounted() = default;
  ~RefCounted() = default;

 private:
  template <typename U>
  friend class RefPtr;
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;
  mutable std::atomic<uint32_t> refs_{0};
};

template <typename T>
class RefPtr {
 public:
  RefPtr() = default;
  RefPtr(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  RefPtr(const RefPtr& other) : p_(other.p_) { Ref(p_); }
  RefPtr(RefPtr&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  RefPtr& operator=(RefPtr other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  ~RefPtr() { Unref(p_); }

  template <typename... Args>
  static RefPtr Make(Args&&... args) {
    T* p = new T(std::forward<Args>(args)...);
    Ref(p);
    return RefPtr(p);
  }

  // Takes a new reference to an object another RefPtr holds (for owners
  // that keep the raw pointer, as the merge box's tagged entries do).
  static RefPtr FromRaw(T* p) {
    Ref(p);
    return RefPtr(p);
  }
  // Gives up the reference without dropping it; FromReleased takes it back.
  T* Release() { return std::exchange(p_, nullptr); }
  static RefPtr FromReleased(T* p) { return RefPtr(p); }

  T* get() const { return p_; }
  T& operator*() const { return *p_; }
  T* operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  bool operator==(const RefPtr& other) const { return p_ == other.p_; }

 private:
  // Adopts a reference already counted.
  explicit RefPtr(T* p) : p_(p) {}
  using Base = RefCounted<std::remove_const_t<T>>;
  static void Ref(T* p) {
    if (p != nullptr) static_cast<const Base*>(p)->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  static void Unref(T* p) {
    if (p != nullptr &&
        static_cast<const Base*>(p)->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete p;
    }
  }

  T* p_ = nullptr;
};

}  // namespace ddp

#include "protocol/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/check.h"

namespace ddp {
namespace {

constexpr char kUnmistakable[] = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
constexpr unsigned kAlphabetSize = sizeof(kUnmistakable) - 1;  // 55
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void FillRandom(void* buf, size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      DDP_CHECK(errno == EINTR);
      continue;
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
}

// A per-thread buffer of random bytes so that ids cost one syscall per 4 KiB.
class RandomPool {
 public:
  unsigned char Byte() {
    if (pos_ == sizeof(buf_)) {
      FillRandom(buf_, sizeof(buf_));
      pos_ = 0;
    }
    return buf_[pos_++];
  }

 private:
  unsigned char buf_[4096];
  size_t pos_ = sizeof(buf_);
};

thread_local RandomPool pool;

}  // namespace

std::string RandomId() {
  std::string id(kRandomIdLength, '\0');
  // Rejection sampling keeps the characters uniform: accept bytes below the
  // largest multiple of 55 that fits in a byte.
  constexpr unsigned kLimit = 256 - 256 % kAlphabetSize;
  for (size_t i = 0; i < kRandomIdLength;) {
    unsigned b = pool.Byte();
    if (b < kLimit) id[i++] = kUnmistakable[b % kAlphabetSize];
  }
  return id;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(pool.Byte());
  return out;
}

std::string EventIdGenerator::Next() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return NextAt(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
}

std::string EventIdGenerator::NextAt(uint64_t unix_millis) {
  uint64_t millis, hi, lo;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (unix_millis > last_millis_) {
      last_millis_ = unix_millis;
      unsigned char r[10];
      for (unsigned char& b : r) b = pool.Byte();  // the pool, not a syscall per millisecond
      rand_hi_ = (uint64_t{r[0]} << 8) | r[1];
      std::memcpy(&rand_lo_, r + 2, 8);
      // Leave headroom so steps within one millisecond (< 2^33 each) cannot
      // overflow the 80 bits.
      rand_hi_ &= 0x7fff;
    } else {
      // Same millisecond, or the clock went back: stay monotonic, by a
      // random step of 1 to 2^32, so that the next id cannot be told from
      // this one (an insert skips its duplicate check for a generated id:
      // nobody may plant a document under the next one).
      uint32_t r;
      unsigned char b[4];
      for (unsigned char& x : b) x = pool.Byte();
      std::memcpy(&r, b, 4);
      const uint64_t before = rand_lo_;
      rand_lo_ += uint64_t{r} + 1;
      if (rand_lo_ < before) ++rand_hi_;
    }
    millis = last_millis_;
    hi = rand_hi_;
    lo = rand_lo_;
  }
  std::string out(26, '0');
  // 48 bits of time in 10 characters (the first carries 3 bits).
  for (int i = 9; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kCrockford[millis & 31];
    millis >>= 5;
  }
  // 80 random bits in 16 characters.
  for (int i = 25; i >= 10; --i) {
    out[static_cast<size_t>(i)] = kCrockford[lo & 31];
    lo = (lo >> 5) | ((hi & 31) << 59);
    hi >>= 5;
  }
  return out;
}

EventIdGenerator& DefaultEventIds() {
  static EventIdGenerator* gen = new EventIdGenerator();
  return *gen;
}

}  // namespace ddp

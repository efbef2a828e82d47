// Identifiers.
//
// RandomId(): Meteor's Random.id(): 17 characters from the 55-character
// "unmistakable" alphabet, from the kernel's CSPRNG. Used for session ids
// and subscription ids: names nobody should guess.
//
// EventIdGenerator: time-ordered ids for documents inserted, upserted or
// published without `_id` (like MongoDB's ObjectId, they sort by creation
// and show the creation time): 26-character ULIDs (48-bit millisecond time
// + 80 random bits, Crockford base32), so ids sort by creation time as
// strings. Within one millisecond (or after the clock went back) the
// random part grows by a random step of 1 to 2^32, so ids of one process
// are strictly increasing and the next cannot be told from the last;
// across restarts the fresh random part keeps them unique.
//
// Both are thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace ddp {

inline constexpr size_t kRandomIdLength = 17;
std::string RandomId();

// `n` bytes from the kernel's CSPRNG.
std::string RandomBytes(size_t n);

class EventIdGenerator {
 public:
  // The next id for the current wall-clock time.
  std::string Next();
  // The next id as if the clock read `unix_millis` (for tests); never goes
  // back below an id already handed out.
  std::string NextAt(uint64_t unix_millis);

 private:
  std::mutex mu_;
  uint64_t last_millis_ = 0;
  uint64_t rand_hi_ = 0;  // upper 16 of the 80 random bits
  uint64_t rand_lo_ = 0;  // lower 64
};

// A process-wide generator.
EventIdGenerator& DefaultEventIds();

}  // namespace ddp

#include "protocol/digest.h"

#include "protocol/json.h"

namespace ddp {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t Fnv(uint64_t h, std::string_view bytes) {
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= kFnvPrime;
  }
  return h;
}

// splitmix64's finalizer: a sum of per-field hashes, spread over all bits.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t FieldsDigest(const Object& fields) {
  uint64_t sum = 0;
  std::string json;
  for (const Member& m : fields) {
    json.clear();
    AppendJson(m.value, &json);
    uint64_t h = Fnv(kFnvOffset, m.key);
    h = Fnv(h, std::string_view("\0", 1));
    sum += Mix(Fnv(h, json));
  }
  return Mix(sum + fields.size());
}

std::string DigestText(uint64_t digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[digest & 0xf];
    digest >>= 4;
  }
  return out;
}

std::optional<uint64_t> ParseDigestText(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace ddp

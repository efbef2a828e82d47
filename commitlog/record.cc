#include "commitlog/record.h"

#include <memory>

#include "common/strings.h"

namespace ddp::commitlog {
namespace {

constexpr char kMagic = kRecordMagic;
constexpr char kVersion = 1;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

// Reads from a record; every read checks the bounds, so a damaged record
// is an error, never a read past its end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= in_.size()) return false;
      uint8_t b = static_cast<uint8_t>(in_[at_++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool String(std::string_view* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size() - at_) return false;
    *s = in_.substr(at_, n);
    at_ += n;
    return true;
  }
  bool Byte(char* c) {
    if (at_ >= in_.size()) return false;
    *c = in_[at_++];
    return true;
  }
  bool done() const { return at_ == in_.size(); }
  // Counts are bounded by what is left (each element takes >= 1 byte), so
  // a damaged count cannot make us reserve gigabytes.
  bool Count(uint64_t* n) { return Varint(n) && *n <= in_.size() - at_; }

 private:
  std::string_view in_;
  size_t at_ = 0;
};

}  // namespace

std::string EncodeGroup(const storage::CommitBatch& batch) {
  size_t size = 32;
  for (const storage::DocWrite& w : batch.writes) {
    size += w.topic.size() + w.id.size() + 24 + (w.json ? w.json->size() : 0);
  }
  for (const auto& [seq, record] : batch.log) size += record.size() + 12;
  std::string out;
  out.reserve(size);
  out.push_back(kMagic);
  out.push_back(kVersion);
  PutVarint(&out, batch.last_seq);
  PutVarint(&out, static_cast<uint64_t>(batch.time_millis));
  PutVarint(&out, static_cast<uint64_t>(batch.idempotency_expires_millis));
  PutVarint(&out, batch.writes.size());
  for (const storage::DocWrite& w : batch.writes) {
    PutString(&out, w.topic);
    PutString(&out, w.id);
    PutVarint(&out, w.version);
    PutVarint(&out, w.prev_version);
    out.push_back(w.json ? 1 : 0);
    if (w.json) PutString(&out, *w.json);
  }
  PutVarint(&out, batch.log.size());
  for (const auto& [seq, record] : batch.log) {
    PutVarint(&out, seq);
    PutString(&out, record);
  }
  PutVarint(&out, batch.idempotency.size());
  for (const auto& [key, result] : batch.idempotency) {
    PutString(&out, key);
    PutString(&out, result);
  }
  return out;
}

absl::StatusOr<storage::CommitBatch> DecodeGroup(std::string_view bytes) {
  auto bad = [](std::string_view what) {
    return absl::DataLossError(StrCat("commit log: unreadable group record (", what, ")"));
  };
  Reader r(bytes);
  char magic = 0, version = 0;
  if (!r.Byte(&magic) || magic != kMagic) return bad("not a ddpd record");
  if (!r.Byte(&version) || version != kVersion) {
    return bad(StrCat("record version ", static_cast<int>(version), ", this ddpd reads version ",
                      static_cast<int>(kVersion)));
  }
  storage::CommitBatch b;
  uint64_t time, expires, n;
  if (!r.Varint(&b.last_seq) || !r.Varint(&time) || !r.Varint(&expires)) return bad("header");
  b.time_millis = static_cast<int64_t>(time);
  b.idempotency_expires_millis = static_cast<int64_t>(expires);
  if (!r.Count(&n)) return bad("write count");
  b.writes.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    storage::DocWrite& w = b.writes.emplace_back();
    std::string_view topic, id;
    char has_doc;
    if (!r.String(&topic) || !r.String(&id) || !r.Varint(&w.version) ||
        !r.Varint(&w.prev_version) || !r.Byte(&has_doc)) {
      return bad("write");
    }
    w.topic = topic;
    w.id = id;
    if (has_doc) {
      std::string_view json;
      if (!r.String(&json)) return bad("document");
      w.json = std::make_shared<const std::string>(json);
    }
  }
  if (!r.Count(&n)) return bad("log count");
  b.log.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t seq;
    std::string_view record;
    if (!r.Varint(&seq) || !r.String(&record)) return bad("log entry");
    b.log.emplace_back(seq, std::string(record));
  }
  if (!r.Count(&n)) return bad("idempotency count");
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view key, result;
    if (!r.String(&key) || !r.String(&result)) return bad("idempotency key");
    b.idempotency.emplace_back(std::string(key), std::string(result));
  }
  if (!r.done()) return bad("trailing bytes");
  for (size_t i = 1; i < b.log.size(); ++i) {
    if (b.log[i].first != b.log[i - 1].first + 1) return bad("seqs not contiguous");
  }
  if (!b.log.empty() && b.log.back().first != b.last_seq) return bad("last seq");
  return b;
}

}  // namespace ddp::commitlog

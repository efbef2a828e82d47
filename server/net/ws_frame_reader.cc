#include "server/net/ws_frame_reader.h"

#include <cstring>

#include "common/xor_mask.h"

namespace ddp::net_internal {
namespace {

constexpr uint8_t kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9,
                  kPong = 0xA;

uint64_t BigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Copies `n` masked bytes from `src` to `dst`, unmasking them.
void Unmask(const char* src, size_t n, const char* key, char* dst) { XorMask(src, n, key, dst); }

bool IsValidCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

// The length of `s` without a multi-byte character cut at its end (the
// rest of which is still to come), so that the prefix can be validated on
// its own. A byte that cannot start a character ends nothing: it is left
// in, for the validator to refuse.
size_t CompletePrefix(std::string_view s) {
  for (size_t k = 1; k <= 3 && k <= s.size(); ++k) {
    const auto b = static_cast<unsigned char>(s[s.size() - k]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    if (b < 0xC2 || b > 0xF4) return s.size();  // ASCII, or no character starts so
    const size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    return need > k ? s.size() - k : s.size();
  }
  return s.size();
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* e = p + s.size();
  while (p < e) {
    if (e - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte, an overlong lead (C0, C1) or beyond F4
    }
    if (e - p <= n) return false;  // truncated
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return false;
    if (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
    p += n + 1;
  }
  return true;
}

size_t ServerFrameHeader(uint8_t opcode, size_t n, char (&h)[10]) {
  h[0] = static_cast<char>(0x80 | opcode);
  if (n < 126) {
    h[1] = static_cast<char>(n);
    return 2;
  }
  if (n <= 0xFFFF) {
    h[1] = 126;
    h[2] = static_cast<char>(n >> 8);
    h[3] = static_cast<char>(n);
    return 4;
  }
  h[1] = 127;
  for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<char>(static_cast<uint64_t>(n) >> (56 - 8 * i));
  return 10;
}

WsError WsFrameReader::Fail(uint16_t code, std::string reason) {
  error_ = WsError{code, std::move(reason)};
  pending_.clear();
  message_.clear();
  in_message_ = false;
  return error_;
}

WsError WsFrameReader::Feed(std::string_view data,
                            absl::FunctionRef<void(const WsEvent&)> on_event) {
  if (error_.code != 0) return error_;
  // Parse straight from `data` when nothing is pending (the usual case: a
  // read holds whole frames); only an unfinished tail is copied.
  std::string_view buf = data;
  if (!pending_.empty()) {
    pending_.append(data);
    buf = pending_;
  }
  // Unmasked single-frame messages go through a per-thread buffer (the
  // callback sees them before the next Feed on this thread).
  thread_local std::string unmasked;
  size_t pos = 0;
  while (buf.size() - pos >= 2) {
    const char* f = buf.data() + pos;
    const size_t avail = buf.size() - pos;
    const auto b0 = static_cast<unsigned char>(f[0]);
    const auto b1 = static_cast<unsigned char>(f[1]);
    const bool fin = (b0 & 0x80) != 0;
    const uint8_t opcode = b0 & 0x0F;
    if ((b0 & 0x70) != 0) return Fail(1002, "reserved bits set without an extension");
    if ((b1 & 0x80) == 0) return Fail(1002, "client frames must be masked");
    const bool control = (opcode & 0x8) != 0;
    if (opcode != kContinuation && opcode != kText && opcode != kBinary && opcode != kClose &&
        opcode != kPing && opcode != kPong) {
      return Fail(1002, "unknown opcode");
    }
    size_t header = 2;
    uint64_t len = b1 & 0x7F;
    if (len == 126) {
      if (avail < 4) break;
      len = BigEndian(f + 2, 2);
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = BigEndian(f + 2, 8);
      if (len >> 63) return Fail(1002, "frame length out of range");
      header = 10;
    }
    if (control) {
      if (!fin) return Fail(1002, "fragmented control frame");
      if (len > 125) return Fail(1002, "control frame longer than 125 bytes");
    } else {
      if (opcode == kContinuation && !in_message_) return Fail(1002, "continuation without a message");
      if (opcode != kContinuation && in_message_) {
        return Fail(1002, "a new message inside a fragmented one");
      }
      const size_t so_far = in_message_ ? message_.size() : 0;
      if (len > max_message_bytes_ - so_far) return Fail(1009, "message too big");
    }
    if (avail - header < 4 || avail - header - 4 < len) break;  // the rest is still coming
    const char* key = f + header;
    const char* payload = key + 4;
    const size_t n = static_cast<size_t>(len);
    pos += header + 4 + n;
    if (control) {
      char body[125];
      Unmask(payload, n, key, body);
      WsEvent ev{WsEvent::Kind::kPing, std::string_view(body, n)};
      if (opcode == kPong) ev.kind = WsEvent::Kind::kPong;
      if (opcode == kClose) {
        ev.kind = WsEvent::Kind::kClose;
        if (n == 1) return Fail(1002, "close frame with a 1-byte payload");
        ev.close_code = 1005;
        if (n >= 2) {
          ev.close_code = static_cast<uint16_t>(BigEndian(body, 2));
          if (!IsValidCloseCode(ev.close_code)) return Fail(1002, "invalid close code");
          ev.payload = std::string_view(body + 2, n - 2);
          if (!IsValidUtf8(ev.payload)) return Fail(1007, "close reason is not UTF-8");
        }
      }
      on_event(ev);
      continue;
    }
    if (opcode != kContinuation) {
      message_is_text_ = opcode == kText;
    }
    if (fin && !in_message_) {
      // A whole message in one frame: no copy into message_.
      unmasked.resize(n);
      Unmask(payload, n, key, unmasked.data());
      if (message_is_text_ && !IsValidUtf8(unmasked)) return Fail(1007, "text message is not UTF-8");
      on_event(WsEvent{message_is_text_ ? WsEvent::Kind::kText : WsEvent::Kind::kBinary, unmasked});
      if (unmasked.capacity() > 64 * 1024) std::string().swap(unmasked);
      continue;
    }
    const size_t at = message_.size();
    message_.resize(at + n);
    Unmask(payload, n, key, message_.data() + at);
    in_message_ = !fin;
    if (message_is_text_) {
      // Fragments are checked as they come (up to the last whole
      // character), so that invalid text fails at once rather than after
      // the sender has streamed the rest of the message.
      const size_t end = fin ? message_.size() : CompletePrefix(message_);
      if (end > utf8_checked_ &&
          !IsValidUtf8(std::string_view(message_).substr(utf8_checked_, end - utf8_checked_))) {
        return Fail(1007, "text message is not UTF-8");
      }
      utf8_checked_ = end;
    }
    if (fin) {
      on_event(WsEvent{message_is_text_ ? WsEvent::Kind::kText : WsEvent::Kind::kBinary, message_});
      std::string().swap(message_);
      utf8_checked_ = 0;
    }
  }
  // Keep the unfinished tail (nothing at all when the reads held whole
  // frames, so that an idle connection holds no buffer).
  if (pos == buf.size()) {
    std::string().swap(pending_);
  } else if (buf.data() == pending_.data()) {
    pending_.erase(0, pos);
  } else {
    pending_.assign(buf.substr(pos));
  }
  return WsError{};
}

}  // namespace ddp::net_internal

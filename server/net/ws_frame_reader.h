// WsFrameReader: the server side of RFC 6455 framing, for connections that
// did not negotiate an extension (no permessage-deflate). After the
// handshake (Beast's), such a connection reads frames with this instead of
// Beast's WebSocket stream, whose state (~4.7 KiB with its pending read and
// the buffer that read prepares) was most of an idle connection's memory.
//
// Bytes go in as they arrive; complete messages and control frames come out
// through a callback. It holds nothing between messages: an idle
// connection's reader is empty.
//
// Checks (the close code the connection should send): reserved bits, unknown
// opcodes, unmasked client frames, fragmented or oversized control frames,
// continuation without a message, a new message inside a fragmented one,
// malformed close payloads -> 1002; a message beyond the size limit -> 1009
// (as soon as a frame header says so, before its payload is buffered);
// invalid UTF-8 in a text message or a close reason -> 1007.
//
// Not thread-safe (one connection's strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace ddp::net_internal {

struct WsEvent {
  enum class Kind { kText, kBinary, kPing, kPong, kClose };
  Kind kind;
  // The message (text, binary), or the control frame's payload (ping, pong),
  // or the close reason. Valid only during the callback.
  std::string_view payload;
  uint16_t close_code = 0;  // kClose: the peer's code; 1005 when it gave none
};

struct WsError {
  uint16_t code = 0;  // 0: no error
  std::string reason;
};

class WsFrameReader {
 public:
  explicit WsFrameReader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Consumes `data`; calls `on_event` for every complete message or control
  // frame, in order. Stops at the first protocol error and returns it (the
  // reader then refuses everything). Returns {0} otherwise.
  WsError Feed(std::string_view data, absl::FunctionRef<void(const WsEvent&)> on_event);

  // Whether bytes of an unfinished frame or message are buffered.
  bool buffering() const { return !pending_.empty() || in_message_; }

 private:
  WsError Fail(uint16_t code, std::string reason);

  const size_t max_message_bytes_;
  std::string pending_;  // bytes of the frame being received (header and payload)
  std::string message_;  // payload of a fragmented message so far
  size_t utf8_checked_ = 0;  // bytes of message_ known to be valid UTF-8
  bool in_message_ = false;
  bool message_is_text_ = false;
  WsError error_;
};

// Whether `s` is valid UTF-8 (no overlong forms, surrogates or code points
// beyond U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Writes the header of an unmasked server frame with `opcode` (FIN set) for
// a payload of `n` bytes into `h`; returns its length (2, 4 or 10).
size_t ServerFrameHeader(uint8_t opcode, size_t n, char (&h)[10]);

}  // namespace ddp::net_internal

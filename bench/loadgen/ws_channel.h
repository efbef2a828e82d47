// WsChannel: the load generator's WebSocket client for DDP and MQTT over
// WebSocket. Beast does the opening handshake; after it, frames are read
// and written on the socket directly:
//
//  - reads go into one large buffer (256 KiB, as nats.c's reads for the
//    NATS driver) and every complete frame in it is handed over in one
//    pass, where Beast's async_read would be one operation, one handler
//    and one UTF-8 check per message;
//  - messages sent during one turn of the loop are masked into one buffer
//    and written together, where Beast writes one message per operation.
//
// Both matter because the load generator must not be what limits a
// measurement: with Beast's stream it spent more CPU per DDP message than
// nats.c does per NATS message, and ran out of its core first.
//
// Scope: what a load generator needs. Server frames are taken as RFC 6455
// says they come (unmasked; fragmented messages are joined); pings are
// answered; a close frame from the server, a protocol error or a socket
// error end the channel through on_error. Nothing is read before the
// handshake completes and the protocols spoken here are client-first
// (DDP `connect`, MQTT CONNECT), so no server bytes can be left in Beast's
// handshake buffer. Masking keys come from a fast PRNG: they need no
// cryptographic strength against our own servers.
//
// Threading: one io_context thread, like the rest of the load generator.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "boost/asio.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"

namespace loadgen {

class WsChannel : public std::enable_shared_from_this<WsChannel> {
 public:
  struct Callbacks {
    // The handshake completed: Send may be called.
    std::function<void()> on_open;
    // One complete text or binary message; valid only during the call.
    std::function<void(std::string_view)> on_message;
    // The channel failed or the server closed it; not called after Close().
    std::function<void(const std::string&)> on_error;
  };

  explicit WsChannel(boost::asio::io_context& ioc);

  // Connects, upgrades (offering `subprotocol` when not empty) and starts
  // reading. Data messages are sent as binary frames when `binary`.
  void Open(const boost::asio::ip::tcp::endpoint& ep, std::string path, std::string subprotocol,
            bool binary, Callbacks callbacks);
  // Queues one message; everything queued in this turn goes out together.
  void Send(std::string_view payload);
  // A close frame after what is queued, then the socket is shut down and
  // closed once the server answers (or its side ends). No callbacks after.
  void Close();

 private:
  void Fail(const std::string& what);
  void ReadMore();
  // Parses every complete frame in the read buffer; false when the channel
  // ended on the way.
  bool ParseFrames();
  void QueueFrame(uint8_t opcode, std::string_view payload);
  void ScheduleFlush();
  void Flush();
  void Finish();

  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  Callbacks callbacks_;
  bool binary_ = false;
  bool open_ = false, closing_ = false, done_ = false;
  // Read buffer: bytes [begin_, end_) are unparsed.
  std::vector<char> in_;
  size_t begin_ = 0, end_ = 0;
  std::string fragments_;  // a fragmented message so far
  bool in_fragmented_ = false;
  // Frames queued this turn, and the ones being written.
  std::string out_, writing_buf_;
  bool writing_ = false, flush_posted_ = false;
  uint64_t prng_;
};

// Callbacks that forward to `conn`'s OnOpen(), OnMessage(std::string_view)
// and Fail(const std::string&) while it lives. They do not keep it alive:
// the scenario owns its connections, and a callback after it let one go
// does nothing.
template <typename Conn>
WsChannel::Callbacks ForwardTo(const std::shared_ptr<Conn>& conn) {
  std::weak_ptr<Conn> weak = conn;
  WsChannel::Callbacks callbacks;
  callbacks.on_open = [weak] {
    if (auto self = weak.lock()) self->OnOpen();
  };
  callbacks.on_message = [weak](std::string_view m) {
    if (auto self = weak.lock()) self->OnMessage(m);
  };
  callbacks.on_error = [weak](const std::string& what) {
    if (auto self = weak.lock()) self->Fail(what);
  };
  return callbacks;
}

}  // namespace loadgen

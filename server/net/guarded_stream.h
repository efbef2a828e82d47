// GuardedStream: the layer under Beast's WebSocket stream that lets a
// connection write pre-framed data frames itself, many per syscall, while
// Beast keeps writing its own frames (the pong it owes a client ping, the
// close reply, every frame when permessage-deflate is on).
//
// Why: one `write` per WebSocket message is what bounds fan-out (a syscall
// per frame); a connection with frames queued should hand the kernel all of
// them at once (writev), and a message sent to many connections should be
// framed once and shared. Beast writes one message per operation, so the
// connection frames data itself (server frames are unmasked, the bytes are
// the same for every client) and writes them here, gathered.
//
// The guard: Beast writes control frames from inside its read operation,
// at moments the connection does not choose. Every write, Beast's and the
// connection's, goes through this queue and runs to completion before the
// next starts, so frames never interleave on the wire.
//
// Not thread-safe: everything runs on the connection's strand.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/lazy_deque.h"

#include "absl/functional/any_invocable.h"
#include "boost/asio.hpp"
#include "boost/beast.hpp"

namespace ddp::net_internal {

class GuardedStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using WriteDone = absl::AnyInvocable<void(boost::beast::error_code, size_t) &&>;

  // Keeps only the socket of the HTTP connection's stream: Beast's
  // tcp_stream (timers, rate policy; ~0.5 KiB) serves the HTTP phase, and
  // an upgraded connection's timeouts are the session's heartbeats.
  explicit GuardedStream(boost::beast::tcp_stream stream) : stream_(stream.release_socket()) {}
  explicit GuardedStream(boost::asio::ip::tcp::socket socket) : stream_(std::move(socket)) {}

  executor_type get_executor() noexcept { return stream_.get_executor(); }
  boost::asio::ip::tcp::socket& next_layer() noexcept { return stream_; }
  const boost::asio::ip::tcp::socket& next_layer() const noexcept { return stream_; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return stream_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  // Beast's writes. The bytes are copied (control frames are a few bytes;
  // deflated frames are already a copy) and written whole: Beast sees one
  // complete write and never interleaves a partial one with ours.
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::beast::error_code, size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          auto bytes = std::make_shared<std::string>(boost::asio::buffer_size(b), '\0');
          boost::asio::buffer_copy(boost::asio::buffer(bytes->data(), bytes->size()), b);
          // Completion goes through the handler's own executor (the strand),
          // posted: an initiating function must not complete inline.
          auto ex = boost::asio::get_associated_executor(handler, get_executor());
          Write w;
          w.buffers.push_back(boost::asio::buffer(bytes->data(), bytes->size()));
          w.owned = std::move(bytes);
          w.done = [handler = std::move(handler), ex](boost::beast::error_code ec,
                                                      size_t n) mutable {
            boost::asio::post(ex, [handler = std::move(handler), ec, n]() mutable {
              std::move(handler)(ec, n);
            });
          };
          Enqueue(std::move(w));
        },
        token, buffers);
  }

  // The connection's writes: `buffers` must stay valid until `done` runs
  // (on the strand, never inline).
  void WriteGathered(std::vector<boost::asio::const_buffer> buffers, WriteDone done) {
    Write w;
    w.buffers = std::move(buffers);
    w.done = std::move(done);
    Enqueue(std::move(w));
  }

  // True while a write is in flight or waiting.
  bool busy() const { return queue_->writing; }

 private:
  struct Write {
    std::vector<boost::asio::const_buffer> buffers;
    std::shared_ptr<std::string> owned;  // Beast's copied bytes
    WriteDone done;
  };
  struct Queue {
    bool writing = false;
    LazyDeque<Write> waiting;  // holds no memory while empty (idle connections)
  };
  // The write on the wire. It belongs to the in-flight operation's handler,
  // not to this stream: a `done` usually holds the connection that owns
  // this stream, and when the io_context is destroyed with the write in
  // flight, destroying the handler must release the writes (this one and
  // those waiting) or the connection would keep itself alive forever.
  struct InFlight {
    std::shared_ptr<Queue> queue;
    Write write;
    bool completed = false;
    ~InFlight() {
      if (completed) return;
      // Destroyed without completing (io_context shutdown): drop the
      // waiting writes first, then (members) this one.
      LazyDeque<Write> dropped = std::move(queue->waiting);
      queue->writing = false;
    }
  };

  void Enqueue(Write w) {
    queue_->waiting.push_back(std::move(w));
    if (!queue_->writing) Next();
  }

  void Next() {
    if (queue_->waiting.empty()) {
      queue_->writing = false;
      return;
    }
    queue_->writing = true;
    auto flight = std::make_unique<InFlight>();
    flight->queue = queue_;
    flight->write = std::move(queue_->waiting.front());
    queue_->waiting.pop_front();
    std::vector<boost::asio::const_buffer> buffers = flight->write.buffers;
    boost::asio::async_write(
        stream_, buffers,
        boost::asio::bind_executor(
            get_executor(), [this, flight = std::move(flight)](boost::beast::error_code ec,
                                                               size_t n) mutable {
              flight->completed = true;
              WriteDone done = std::move(flight->write.done);
              flight.reset();
              Next();
              // Last: `done` may hold the last reference to the connection
              // (and so to this stream).
              std::move(done)(ec, n);
            }));
  }

  boost::asio::ip::tcp::socket stream_;
  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
};

// Closing handshake support for websocket::stream<GuardedStream> (found by
// argument-dependent lookup): tear down the TCP stream below.
inline void teardown(boost::beast::role_type role, GuardedStream& s,
                     boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, GuardedStream& s, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace ddp::net_internal

#include "ws_channel.h"

#include <chrono>
#include <cstring>

#include "boost/beast/http/field.hpp"
#include "common/xor_mask.h"

namespace loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr uint8_t kOpContinuation = 0x0, kOpText = 0x1, kOpBinary = 0x2, kOpClose = 0x8,
                  kOpPing = 0x9, kOpPong = 0xA;

uint64_t ReadBe(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

WsChannel::WsChannel(asio::io_context& ioc)
    : ws_(ioc), prng_(0x9E3779B97F4A7C15ull ^ reinterpret_cast<uintptr_t>(this)) {}

void WsChannel::Open(const tcp::endpoint& ep, std::string path, std::string subprotocol,
                     bool binary, Callbacks callbacks) {
  callbacks_ = std::move(callbacks);
  binary_ = binary;
  // Handshakes time out: a server that accepts but never answers must not
  // hang a run.
  ws_.set_option(websocket::stream_base::timeout{std::chrono::seconds(10),
                                                 websocket::stream_base::none(), false});
  if (!subprotocol.empty()) {
    ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, subprotocol);
    }));
  }
  ws_.next_layer().async_connect(ep, [self = shared_from_this(),
                                      path = std::move(path)](beast::error_code ec) {
    if (ec) return self->Fail("connect: " + ec.message());
    self->ws_.next_layer().set_option(tcp::no_delay(true));
    self->ws_.async_handshake("127.0.0.1", path, [self](beast::error_code ec) {
      if (ec) return self->Fail("websocket handshake: " + ec.message());
      self->open_ = true;
      self->in_.resize(kReadBufferBytes);
      if (!self->closing_ && self->callbacks_.on_open) self->callbacks_.on_open();
      if (!self->done_) self->ReadMore();
    });
  });
}

void WsChannel::Send(std::string_view payload) {
  if (!open_ || closing_ || done_) return;
  QueueFrame(binary_ ? kOpBinary : kOpText, payload);
}

void WsChannel::Close() {
  if (done_ || closing_) return;
  closing_ = true;  // from here on nothing is delivered
  if (!open_) {
    Finish();
    return;
  }
  const char code[2] = {static_cast<char>(1000 >> 8), static_cast<char>(1000 & 0xff)};
  QueueFrame(kOpClose, std::string_view(code, 2));
}

void WsChannel::Fail(const std::string& what) {
  if (done_) return;
  bool was_closing = closing_;
  Finish();
  if (!was_closing && callbacks_.on_error) callbacks_.on_error(what);
}

void WsChannel::Finish() {
  if (done_) return;
  done_ = true;
  beast::error_code ignored;
  ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  ws_.next_layer().close(ignored);
}

void WsChannel::ReadMore() {
  if (end_ == in_.size()) {
    // Make room: drop what was parsed, or grow for a frame larger than the
    // buffer.
    if (begin_ > 0) {
      std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    } else {
      in_.resize(in_.size() * 2);
    }
  }
  ws_.next_layer().async_read_some(
      asio::buffer(in_.data() + end_, in_.size() - end_),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        if (self->done_) return;
        if (ec) {
          if (self->closing_) return self->Finish();
          return self->Fail("read: " + ec.message());
        }
        self->end_ += n;
        if (!self->ParseFrames()) return;
        if (self->begin_ == self->end_) self->begin_ = self->end_ = 0;
        self->ReadMore();
      });
}

bool WsChannel::ParseFrames() {
  while (end_ - begin_ >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + begin_);
    size_t avail = end_ - begin_;
    bool fin = (p[0] & 0x80) != 0;
    uint8_t opcode = p[0] & 0x0f;
    bool masked = (p[1] & 0x80) != 0;
    uint64_t len = p[1] & 0x7f;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = ReadBe(p + 2, 2);
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = ReadBe(p + 2, 8);
      header = 10;
    }
    if ((p[0] & 0x70) != 0) {
      Fail("protocol error: reserved bits set in a server frame");
      return false;
    }
    if (masked) {
      Fail("protocol error: masked server frame");
      return false;
    }
    if (avail - header < len) {
      // Incomplete: make sure the whole frame will fit.
      if (header + len > in_.size()) {
        std::memmove(in_.data(), in_.data() + begin_, avail);
        end_ = avail;
        begin_ = 0;
        in_.resize(header + len);
      }
      break;
    }
    std::string_view payload(in_.data() + begin_ + header, len);
    begin_ += header + len;
    switch (opcode) {
      case kOpText:
      case kOpBinary:
        if (fin) {
          if (!closing_ && callbacks_.on_message) callbacks_.on_message(payload);
        } else {
          fragments_.assign(payload);
          in_fragmented_ = true;
        }
        break;
      case kOpContinuation:
        if (!in_fragmented_) {
          Fail("protocol error: continuation frame without a message");
          return false;
        }
        fragments_.append(payload);
        if (fin) {
          in_fragmented_ = false;
          if (!closing_ && callbacks_.on_message) callbacks_.on_message(fragments_);
          fragments_.clear();
        }
        break;
      case kOpPing:
        QueueFrame(kOpPong, payload);
        break;
      case kOpPong:
        break;
      case kOpClose: {
        if (closing_) {
          Finish();
          return false;
        }
        std::string what = "server closed the connection";
        if (payload.size() >= 2) {
          what += " with code " + std::to_string(ReadBe(
                                      reinterpret_cast<const unsigned char*>(payload.data()), 2));
          if (payload.size() > 2) what += ": " + std::string(payload.substr(2));
        }
        Fail(what);
        return false;
      }
      default:
        Fail("protocol error: unknown opcode " + std::to_string(opcode));
        return false;
    }
    if (done_) return false;
  }
  return !done_;
}

void WsChannel::QueueFrame(uint8_t opcode, std::string_view payload) {
  size_t n = payload.size();
  size_t at = out_.size();
  size_t header = n < 126 ? 6 : n <= 0xffff ? 8 : 14;
  out_.resize(at + header + n);
  auto* h = reinterpret_cast<unsigned char*>(out_.data() + at);
  h[0] = static_cast<unsigned char>(0x80 | opcode);
  size_t k = 2;
  if (n < 126) {
    h[1] = static_cast<unsigned char>(0x80 | n);
  } else if (n <= 0xffff) {
    h[1] = 0x80 | 126;
    h[2] = static_cast<unsigned char>(n >> 8);
    h[3] = static_cast<unsigned char>(n);
    k = 4;
  } else {
    h[1] = 0x80 | 127;
    for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<unsigned char>(uint64_t{n} >> (56 - 8 * i));
    k = 10;
  }
  // xorshift64
  prng_ ^= prng_ << 13;
  prng_ ^= prng_ >> 7;
  prng_ ^= prng_ << 17;
  auto key = static_cast<uint32_t>(prng_);
  std::memcpy(h + k, &key, 4);
  ddp::XorMask(payload.data(), n, reinterpret_cast<const char*>(h + k), out_.data() + at + header);
  ScheduleFlush();
}

void WsChannel::ScheduleFlush() {
  if (writing_ || flush_posted_) return;
  flush_posted_ = true;
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->Flush();
  });
}

void WsChannel::Flush() {
  if (done_ || writing_ || out_.empty()) return;
  writing_ = true;
  writing_buf_.swap(out_);
  out_.clear();
  asio::async_write(ws_.next_layer(), asio::buffer(writing_buf_),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (self->done_) return;
                      if (ec) return self->Fail("write: " + ec.message());
                      if (!self->out_.empty()) return self->Flush();
                      if (self->closing_) {
                        // Our close frame is out: no more writes.
                        beast::error_code ignored;
                        self->ws_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
                      }
                    });
}

}  // namespace loadgen

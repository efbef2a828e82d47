// DDP driver: ddpd over a raw Boost.Beast WebSocket (no permessage-deflate:
// Beast's client does not offer it unless asked, and the peers do not
// compress either).
//
// Messages are recognized by prefix scans, never parsed: ddpd writes "msg"
// first, and the receivers only need `ts`, which FindTs scans for. Parsing
// JSON here would make the load generator the bottleneck long before ddpd.
#include <cstdio>
#include <deque>
#include <string>

#include "boost/asio.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"
#include "loadgen.h"

namespace loadgen {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

class DdpConn : public Connection, public std::enable_shared_from_this<DdpConn> {
 public:
  DdpConn(asio::io_context& ioc, std::string topic, bool subscribe, Events events)
      : ws_(ioc), topic_(std::move(topic)), subscribe_(subscribe), events_(std::move(events)) {}

  void Start(const tcp::endpoint& ep) {
    // Handshakes time out (a server that accepts but never answers must not
    // hang a run); an established connection has no idle timeout because
    // ddpd's own heartbeats keep it alive.
    websocket::stream_base::timeout t{std::chrono::seconds(10), websocket::stream_base::none(),
                                      false};
    ws_.set_option(t);
    // Frame masks need no cryptographic randomness against our own server;
    // Beast's default secure generator costs the load generator CPU time.
    ws_.secure_prng(false);
    ws_.next_layer().async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->Fail("connect: " + ec.message());
      self->ws_.next_layer().set_option(tcp::no_delay(true));
      self->ws_.async_handshake("127.0.0.1", "/websocket", [self](beast::error_code ec) {
        if (ec) return self->Fail("websocket handshake: " + ec.message());
        self->ws_.text(true);
        self->Send(R"({"msg":"connect","version":"1","support":["1"]})");
        self->Read();
      });
    });
  }

  void Publish(std::string_view payload) override {
    std::string m;
    m.reserve(payload.size() + topic_.size() + 80);
    m.append(R"({"msg":"method","id":")")
        .append(std::to_string(++next_id_))
        .append(R"(","method":"publish","params":[")")
        .append(topic_)
        .append(R"(",)")
        .append(payload)
        .append("]}");
    Send(std::move(m));
  }

  void Call(std::string_view method, std::string_view params_json) override {
    got_result_ = got_updated_ = false;
    call_ok_ = true;
    std::string m;
    m.append(R"({"msg":"method","id":")")
        .append(std::to_string(++next_id_))
        .append(R"(","method":")")
        .append(method)
        .append(R"(","params":)")
        .append(params_json)
        .append("}");
    Send(std::move(m));
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    // The close handshake is what a polite client does; the socket goes
    // with the stream once the last handler lets go of it.
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) {});
  }

 private:
  void Fail(const std::string& what) {
    if (closed_) return;
    closed_ = true;
    if (events_.on_error) events_.on_error("ddp: " + what);
  }

  void Send(std::string m) {
    if (closed_) return;
    out_.push_back(std::move(m));
    if (!writing_) Write();
  }

  void Write() {
    writing_ = true;
    ws_.async_write(asio::buffer(out_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) return self->Fail("write: " + ec.message());
                      self->out_.pop_front();
                      if (!self->out_.empty() && !self->closed_) self->Write();
                    });
  }

  void Read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Fail("read: " + ec.message());
      auto d = self->buf_.data();
      self->Handle(std::string_view(static_cast<const char*>(d.data()), d.size()));
      self->buf_.consume(self->buf_.size());
      if (!self->closed_) self->Read();
    });
  }

  void Handle(std::string_view m) {
    // Most frequent first: data messages.
    if (StartsWith(m, R"({"msg":"added")") || StartsWith(m, R"({"msg":"changed")")) {
      if (events_.on_message) events_.on_message(m);
    } else if (StartsWith(m, R"({"msg":"result")")) {
      got_result_ = true;
      if (m.find(R"("error":)") != std::string_view::npos) {
        call_ok_ = false;
        if (!reported_error_) {
          reported_error_ = true;
          std::fprintf(stderr, "loadgen: ddp method failed: %.*s\n",
                       static_cast<int>(std::min<size_t>(m.size(), 400)), m.data());
        }
      }
      MaybeCallDone();
    } else if (StartsWith(m, R"({"msg":"updated")")) {
      got_updated_ = true;
      MaybeCallDone();
    } else if (StartsWith(m, R"({"msg":"ping")")) {
      // Echo the id when there is one, as DDP asks.
      size_t id = m.find(R"("id":)");
      if (id == std::string_view::npos) {
        Send(R"({"msg":"pong"})");
      } else {
        size_t end = m.find('}', id);
        Send(R"({"msg":"pong",)" + std::string(m.substr(id, end - id)) + "}");
      }
    } else if (StartsWith(m, R"({"msg":"connected")")) {
      if (subscribe_) {
        Send(R"({"msg":"sub","id":"s1","name":")" + topic_ + R"(","params":[]})");
      } else if (events_.on_ready) {
        events_.on_ready();
      }
    } else if (StartsWith(m, R"({"msg":"ready")")) {
      if (events_.on_ready) events_.on_ready();
    } else if (StartsWith(m, R"({"msg":"nosub")") || StartsWith(m, R"({"msg":"error")") ||
               StartsWith(m, R"({"msg":"failed")")) {
      Fail("server said " + std::string(m.substr(0, 300)));
    }
  }

  void MaybeCallDone() {
    // Publishers pipeline their calls and ignore completions; a DDP `updated`
    // may name several calls, so only one-call-at-a-time users (Call) count.
    if (got_result_ && got_updated_) {
      got_result_ = got_updated_ = false;
      if (events_.on_call_done) events_.on_call_done(call_ok_);
    }
  }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  std::string topic_;
  bool subscribe_;
  Events events_;
  bool writing_ = false;
  bool closed_ = false;
  bool got_result_ = false, got_updated_ = false, call_ok_ = true, reported_error_ = false;
  uint64_t next_id_ = 0;
};


}  // namespace

std::unique_ptr<Driver> MakeDdpDriver(asio::io_context& ioc, const Endpoint& endpoint) {
  return std::make_unique<AsioDriver<DdpConn>>(ioc, endpoint);
}

}  // namespace loadgen

// MQTT 3.1.1 drivers, QoS 0: mqtt-tcp on libmosquitto, mqtt-ws on our own
// small codec over the load generator's WebSocket channel (ws_channel.h).
//
// Why two implementations: libmosquitto 2.0.11 (Debian 12) has no client
// WebSocket transport (mosquitto.h has only MOSQ_LOG_WEBSOCKETS, for the
// broker), so the WebSocket side speaks the few packets it needs itself —
// CONNECT, SUBSCRIBE, PUBLISH, PINGREQ, DISCONNECT out; CONNACK, SUBACK,
// PUBLISH, PINGRESP in — in binary frames with the `mqtt` subprotocol,
// which mosquitto's websockets listener requires.
//
// libmosquitto is driven from our loop: mosquitto_socket() is watched by
// Asio, mosquitto_loop_read/write do the I/O, a timer calls
// mosquitto_loop_misc for keepalives. No thread per client.
#include <mosquitto.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>

#include "boost/asio.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/beast/core.hpp"
#include "loadgen.h"
#include "ws_channel.h"

namespace loadgen {
namespace {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// Keepalive announced to the broker; each client pings at half of it.
constexpr int kKeepaliveSeconds = 60;

std::string NextClientId() {
  static uint64_t n = 0;
  return "lg" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

// ---- MQTT 3.1.1 codec (the subset above) ----

void PutRemainingLength(std::string& out, size_t n) {
  do {
    auto byte = static_cast<unsigned char>(n % 128);
    n /= 128;
    if (n > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (n > 0);
}

void PutU16(std::string& out, size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void PutString(std::string& out, std::string_view s) {
  PutU16(out, s.size());
  out.append(s);
}

std::string EncodeConnect(std::string_view client_id, int keepalive) {
  std::string body;
  PutString(body, "MQTT");
  body.push_back(4);     // protocol level 3.1.1
  body.push_back(0x02);  // clean session, no will, no credentials
  PutU16(body, static_cast<size_t>(keepalive));
  PutString(body, client_id);
  std::string out(1, '\x10');
  PutRemainingLength(out, body.size());
  return out + body;
}

std::string EncodeSubscribe(uint16_t packet_id, std::string_view topic) {
  std::string body;
  PutU16(body, packet_id);
  PutString(body, topic);
  body.push_back(0);  // requested QoS 0
  std::string out(1, '\x82');
  PutRemainingLength(out, body.size());
  return out + body;
}

void EncodePublish(std::string& out, std::string_view topic, std::string_view payload) {
  out.push_back('\x30');  // QoS 0, no retain, no dup: no packet id
  PutRemainingLength(out, 2 + topic.size() + payload.size());
  PutString(out, topic);
  out.append(payload);
}

// Accumulates a byte stream and hands out whole packets: WebSocket frames
// need not align with MQTT packets.
class MqttParser {
 public:
  // Calls on_packet(first_byte, body) for each complete packet; false on a
  // malformed remaining length.
  template <typename F>
  bool Feed(std::string_view data, F&& on_packet) {
    std::string_view in = data;
    if (!buf_.empty()) {
      buf_.append(data);
      in = buf_;
    }
    size_t pos = 0;
    for (;;) {
      if (in.size() - pos < 2) break;
      size_t len = 0, mult = 1, i = pos + 1;
      bool complete = false;
      for (int k = 0; k < 4 && i < in.size(); ++k, ++i) {
        auto b = static_cast<unsigned char>(in[i]);
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) == 0) {
          complete = true;
          ++i;
          break;
        }
        if (k == 3) return false;
      }
      if (!complete || in.size() - i < len) break;
      on_packet(static_cast<unsigned char>(in[pos]), in.substr(i, len));
      pos = i + len;
    }
    if (buf_.empty()) {
      buf_.assign(in.substr(pos));
    } else {
      buf_.erase(0, pos);
    }
    return true;
  }

 private:
  std::string buf_;
};

// The payload of a PUBLISH body (after the topic, and the packet id when
// QoS > 0).
std::string_view PublishPayload(unsigned char first, std::string_view body) {
  if (body.size() < 2) return {};
  size_t topic_len =
      (static_cast<unsigned char>(body[0]) << 8) | static_cast<unsigned char>(body[1]);
  size_t at = 2 + topic_len + (((first >> 1) & 3) > 0 ? 2 : 0);
  return at <= body.size() ? body.substr(at) : std::string_view();
}

// ---- mqtt-ws: the codec over Beast ----

class MqttWsConn : public Connection, public std::enable_shared_from_this<MqttWsConn> {
 public:
  MqttWsConn(asio::io_context& ioc, std::string topic, bool subscribe, Events events)
      : ws_(std::make_shared<WsChannel>(ioc)),
        ping_timer_(ioc),
        topic_(std::move(topic)),
        subscribe_(subscribe),
        events_(std::move(events)) {}

  void Start(const tcp::endpoint& ep) {
    // mosquitto's websockets listener requires the `mqtt` subprotocol.
    ws_->Open(ep, "/mqtt", "mqtt", /*binary=*/true, ForwardTo(shared_from_this()));
  }

  // The channel's events (ForwardTo).
  void OnOpen() {
    Send(EncodeConnect(NextClientId(), kKeepaliveSeconds));
    SchedulePing();
  }
  void OnMessage(std::string_view data) {
    bool ok = parser_.Feed(data, [&](unsigned char first, std::string_view body) {
      Handle(first, body);
    });
    if (!ok) Fail("malformed packet");
  }
  void Fail(const std::string& what) {
    if (closed_) return;
    closed_ = true;
    ping_timer_.cancel();
    if (events_.on_error) events_.on_error("mqtt-ws: " + what);
  }

  void Publish(std::string_view payload) override {
    out_.clear();
    EncodePublish(out_, topic_, payload);
    Send(out_);
  }

  void Close() override {
    if (closed_) return;
    Send(std::string_view("\xe0\x00", 2));  // DISCONNECT
    closed_ = true;
    ping_timer_.cancel();
    ws_->Close();  // after the DISCONNECT, which is queued before it
  }

 private:
  void SchedulePing() {
    ping_timer_.expires_after(std::chrono::seconds(kKeepaliveSeconds / 2));
    std::weak_ptr<MqttWsConn> weak = shared_from_this();
    ping_timer_.async_wait([weak](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      self->Send(std::string_view("\xc0\x00", 2));  // PINGREQ
      self->SchedulePing();
    });
  }

  void Send(std::string_view m) {
    if (!closed_) ws_->Send(m);
  }

  void Handle(unsigned char first, std::string_view body) {
    switch (first >> 4) {
      case 3:  // PUBLISH
        if (events_.on_message) events_.on_message(PublishPayload(first, body));
        break;
      case 2:  // CONNACK: flags, return code
        if (body.size() < 2 || body[1] != 0) {
          return Fail("connection refused, code " +
                      std::to_string(body.size() < 2 ? -1 : static_cast<int>(body[1])));
        }
        if (subscribe_) {
          Send(EncodeSubscribe(1, topic_));
        } else if (events_.on_ready) {
          events_.on_ready();
        }
        break;
      case 9:  // SUBACK: packet id, granted QoS (0x80 = failure)
        if (body.size() < 3 || static_cast<unsigned char>(body[2]) == 0x80) {
          return Fail("subscription refused");
        }
        if (events_.on_ready) events_.on_ready();
        break;
      default:  // PINGRESP and anything else: nothing to do
        break;
    }
  }

  std::shared_ptr<WsChannel> ws_;
  asio::steady_timer ping_timer_;
  MqttParser parser_;
  std::string out_;  // the PUBLISH being encoded
  std::string topic_;
  bool subscribe_;
  Events events_;
  bool closed_ = false;
};

// ---- mqtt-tcp: libmosquitto ----

// Our callbacks make syscalls of their own (a publisher's write, say);
// libmosquitto reads errno after calling them to decide whether the socket
// is drained, so they must leave errno as they found it.
struct ErrnoGuard {
  int saved = errno;
  ~ErrnoGuard() { errno = saved; }
};

class MosqConn : public Connection, public std::enable_shared_from_this<MosqConn> {
 public:
  MosqConn(asio::io_context& ioc, std::string topic, bool subscribe, Events events)
      : ioc_(ioc),
        misc_timer_(ioc),
        topic_(std::move(topic)),
        subscribe_(subscribe),
        events_(std::move(events)) {}

  ~MosqConn() override {
    if (m_ != nullptr) mosquitto_destroy(m_);
  }

  void Start(const Endpoint& ep) {
    m_ = mosquitto_new(NextClientId().c_str(), true, this);
    if (m_ == nullptr) return PostFail("mosquitto_new failed");
    mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(m_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(m_, &MosqConn::OnConnect);
    mosquitto_subscribe_callback_set(m_, &MosqConn::OnSubscribe);
    mosquitto_message_callback_set(m_, &MosqConn::OnMessage);
    mosquitto_disconnect_callback_set(m_, &MosqConn::OnDisconnect);
    // A blocking TCP connect (on loopback it is answered by the kernel at
    // once); CONNECT is written before it returns, CONNACK comes to the loop.
    int rc = mosquitto_connect(m_, ep.host.c_str(), ep.port, kKeepaliveSeconds);
    if (rc != MOSQ_ERR_SUCCESS) {
      return PostFail(std::string("connect: ") +
                      (rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
    }
    sd_ = std::make_unique<asio::posix::stream_descriptor>(ioc_, mosquitto_socket(m_));
    ArmRead();
    Flush();
    ScheduleMisc();
  }

  void Publish(std::string_view payload) override {
    if (closed_ || !sd_) return;
    int rc = mosquitto_publish(m_, nullptr, topic_.c_str(), static_cast<int>(payload.size()),
                               payload.data(), 0, false);
    if (rc != MOSQ_ERR_SUCCESS) return Fail(std::string("publish: ") + mosquitto_strerror(rc));
    if (mosquitto_want_write(m_)) Flush();
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    // Not now: Close may be called from inside one of this client's
    // libmosquitto callbacks, and the client must outlive them.
    asio::post(ioc_, [self = shared_from_this()] {
      mosquitto_disconnect(self->m_);
      self->Release();
    });
  }

 private:
  void Release() {
    misc_timer_.cancel();
    if (sd_) {
      boost::system::error_code ignored;
      sd_->cancel(ignored);
      (void)sd_->release();  // libmosquitto owns (and closes) the socket
      sd_.reset();
    }
  }

  void PostFail(std::string what) {
    asio::post(ioc_, [self = shared_from_this(), what] { self->Fail(what); });
  }

  void Fail(const std::string& what) {
    if (closed_) return;
    closed_ = true;
    Release();
    if (events_.on_error) events_.on_error("mqtt-tcp: " + what);
  }

  // Edge-triggered wait (see nats.cc): drain until libmosquitto saw EAGAIN.
  void ArmRead() {
    if (reading_ || !sd_) return;
    reading_ = true;
    sd_->async_wait(asio::posix::stream_descriptor::wait_read,
                    [self = shared_from_this()](boost::system::error_code ec) {
                      self->reading_ = false;
                      if (!ec) self->ReadReady();
                    });
  }

  void ReadReady() {
    // loop_read handles one QoS 0 packet per call; at most 4096 before other
    // connections get a turn.
    for (int i = 0; i < 4096; ++i) {
      if (!sd_ || closed_) return;
      errno = 0;
      int rc = mosquitto_loop_read(m_, 1);
      if (rc != MOSQ_ERR_SUCCESS) return Fail(std::string("read: ") + mosquitto_strerror(rc));
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        Flush();
        ArmRead();
        return;
      }
    }
    Flush();
    asio::post(ioc_, [self = shared_from_this()] { self->ReadReady(); });
  }

  // Writes what libmosquitto queued (a SUBSCRIBE from a callback, a
  // PUBLISH that met a full socket); waits for writability only after an
  // attempt, when there is an edge to wait for.
  void Flush() {
    if (writing_ || !sd_ || closed_ || !mosquitto_want_write(m_)) return;
    int rc = mosquitto_loop_write(m_, 1);
    if (rc != MOSQ_ERR_SUCCESS) return Fail(std::string("write: ") + mosquitto_strerror(rc));
    if (!sd_ || !mosquitto_want_write(m_)) return;
    writing_ = true;
    sd_->async_wait(asio::posix::stream_descriptor::wait_write,
                    [self = shared_from_this()](boost::system::error_code ec) {
                      self->writing_ = false;
                      if (!ec) self->Flush();
                    });
  }

  void ScheduleMisc() {
    misc_timer_.expires_after(std::chrono::seconds(kKeepaliveSeconds / 2));
    misc_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_ || !self->sd_) return;
      mosquitto_loop_misc(self->m_);  // sends PINGREQ when due
      self->Flush();
      self->ScheduleMisc();
    });
  }

  static void OnConnect(mosquitto* m, void* obj, int rc) {
    ErrnoGuard guard;
    auto* self = static_cast<MosqConn*>(obj);
    if (rc != 0)
      return self->Fail(std::string("connection refused: ") + mosquitto_connack_string(rc));
    if (!self->subscribe_) {
      if (self->events_.on_ready) self->events_.on_ready();
      return;
    }
    int sub_rc = mosquitto_subscribe(m, nullptr, self->topic_.c_str(), 0);
    if (sub_rc != MOSQ_ERR_SUCCESS)
      self->Fail(std::string("subscribe: ") + mosquitto_strerror(sub_rc));
  }
  static void OnSubscribe(mosquitto*, void* obj, int, int count, const int* granted) {
    ErrnoGuard guard;
    auto* self = static_cast<MosqConn*>(obj);
    if (count < 1 || granted[0] == 0x80) return self->Fail("subscription refused");
    if (self->events_.on_ready) self->events_.on_ready();
  }
  static void OnMessage(mosquitto*, void* obj, const mosquitto_message* msg) {
    ErrnoGuard guard;
    auto* self = static_cast<MosqConn*>(obj);
    if (self->events_.on_message) {
      self->events_.on_message(std::string_view(static_cast<const char*>(msg->payload),
                                                static_cast<size_t>(msg->payloadlen)));
    }
  }
  static void OnDisconnect(mosquitto*, void* obj, int rc) {
    ErrnoGuard guard;
    auto* self = static_cast<MosqConn*>(obj);
    if (!self->closed_) self->Fail("disconnected (" + std::to_string(rc) + ")");
  }

  asio::io_context& ioc_;
  asio::steady_timer misc_timer_;
  mosquitto* m_ = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> sd_;
  std::string topic_;
  bool subscribe_;
  Events events_;
  bool reading_ = false, writing_ = false, closed_ = false;
};

class MqttTcpDriver : public Driver {
 public:
  MqttTcpDriver(asio::io_context& ioc, const Endpoint& ep) : ioc_(ioc), ep_(ep) {
    mosquitto_lib_init();
  }

  std::shared_ptr<Connection> Open(const std::string& topic, bool subscribe,
                                   Events events) override {
    auto c = std::make_shared<MosqConn>(ioc_, topic, subscribe, std::move(events));
    c->Start(ep_);
    return c;
  }

 private:
  asio::io_context& ioc_;
  Endpoint ep_;
};

}  // namespace

std::unique_ptr<Driver> MakeMqttTcpDriver(asio::io_context& ioc, const Endpoint& endpoint) {
  return std::make_unique<MqttTcpDriver>(ioc, endpoint);
}

std::unique_ptr<Driver> MakeMqttWsDriver(asio::io_context& ioc, const Endpoint& endpoint) {
  return std::make_unique<AsioDriver<MqttWsConn>>(ioc, endpoint);
}

}  // namespace loadgen

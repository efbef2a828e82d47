// NATS driver: nats.c (core pub/sub, no JetStream) on our Asio loop.
//
// nats.c normally starts a reader thread (and a flusher thread) per
// connection, which does not scale to 10k connections on one core. Its
// external event loop hooks (natsOptions_SetEventLoop) let our loop poll
// the sockets and call natsConnection_ProcessRead/WriteEvent instead, as
// its libuv/libevent adapters do. Subscriptions are synchronous ones,
// drained right after each read event: asynchronous ones would hand every
// message to a delivery thread.
//
// natsConnection_Connect blocks (TCP connect, INFO, CONNECT, PING/PONG), so
// connects run on a few helper threads and the connection joins the loop
// when they return. nats.c calls the event callbacks from whichever thread
// it is on; anything not on the loop thread is posted to it, in order.
//
// NATS does not acknowledge SUB. A subscriber is ready once a message it
// published to its own inbox comes back: the server handles one
// connection's commands in order, so the SUB before it is in place (the
// same guarantee as natsConnection_Flush, which would block the loop).
#include <nats/nats.h>
#include <sys/ioctl.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "boost/asio.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/thread_pool.hpp"
#include "loadgen.h"

namespace loadgen {
namespace {

class NatsConn : public Connection, public std::enable_shared_from_this<NatsConn> {
 public:
  NatsConn(asio::io_context& ioc, std::string topic, bool subscribe, Events events)
      : ioc_(ioc), topic_(std::move(topic)), subscribe_(subscribe), events_(std::move(events)) {}

  ~NatsConn() override {
    // Same order as Close().
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
    if (confirm_ != nullptr) natsSubscription_Destroy(confirm_);
  }

  // On a helper thread: connect (blocking), then continue on the loop.
  void Connect(const std::string& url) {
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
    if (s == NATS_OK) {
      s = natsOptions_SetEventLoop(opts, this, &NatsConn::OnAttach, &NatsConn::OnRead,
                                   &NatsConn::OnWrite, &NatsConn::OnDetach);
    }
    // Send as soon as asked: no flusher thread per connection.
    if (s == NATS_OK) s = natsOptions_SetSendAsap(opts, true);
    // The runs are short; the library's pings would come from its timer
    // thread. The server's own pings are answered on the loop.
    if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 3600 * 1000);
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 10000);
    if (s == NATS_OK) s = natsOptions_SetIOBufSize(opts, 256 * 1024);
    // A subscriber is drained after every read; the limit only matters if
    // the loop falls far behind, and then dropping would hide it.
    if (s == NATS_OK) s = natsOptions_SetMaxPendingMsgs(opts, 10'000'000);
    natsConnection* nc = nullptr;
    if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
    std::string error = s == NATS_OK ? ""
                                     : std::string(natsStatus_GetText(s)) + ": " +
                                           std::string(nats_GetLastError(nullptr) ?: "");
    natsOptions_Destroy(opts);
    Post([self = shared_from_this(), nc, error] { self->Connected(nc, error); });
  }

  void Publish(std::string_view payload) override {
    if (closed_ || nc_ == nullptr) return;
    natsStatus s = natsConnection_Publish(nc_, topic_.c_str(), payload.data(),
                                          static_cast<int>(payload.size()));
    if (s != NATS_OK) Fail(std::string("publish: ") + natsStatus_GetText(s));
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    // The connection goes first: destroying a subscription queues an UNSUB,
    // and nats.c's close waits up to 500 ms for a PONG after flushing
    // queued data, a PONG that only this (busy) loop could read. Closing the
    // connection closes its subscriptions without sending anything.
    // natsConnection_Destroy closes the socket and calls OnDetach (on this
    // thread, so in order).
    if (nc_ != nullptr) natsConnection_Destroy(std::exchange(nc_, nullptr));
    if (sub_ != nullptr) natsSubscription_Destroy(std::exchange(sub_, nullptr));
    if (confirm_ != nullptr) natsSubscription_Destroy(std::exchange(confirm_, nullptr));
  }

 private:
  // Runs `f` on the loop: now when we are on it and nothing is queued
  // ahead (order matters: attach, read, write, detach), else posted.
  template <typename F>
  void Post(F f) {
    if (queued_.load() == 0 && ioc_.get_executor().running_in_this_thread()) {
      f();
      return;
    }
    ++queued_;
    asio::post(ioc_, [this, f = std::move(f)]() mutable {
      --queued_;  // before f(), which may destroy this (OnDetach)
      f();
    });
  }

  void Connected(natsConnection* nc, const std::string& error) {
    if (!error.empty()) return Fail("connect: " + error);
    nc_ = nc;
    if (!subscribe_) {
      if (events_.on_ready) events_.on_ready();
      return;
    }
    natsInbox* inbox = nullptr;
    natsStatus s = natsInbox_Create(&inbox);
    if (s == NATS_OK) inbox_ = inbox;
    natsInbox_Destroy(inbox);
    if (s == NATS_OK) s = natsConnection_SubscribeSync(&sub_, nc_, topic_.c_str());
    if (s == NATS_OK) s = natsConnection_SubscribeSync(&confirm_, nc_, inbox_.c_str());
    if (s == NATS_OK) s = natsConnection_Publish(nc_, inbox_.c_str(), "ready", 5);
    if (s != NATS_OK) Fail(std::string("subscribe: ") + natsStatus_GetText(s));
  }

  void Fail(const std::string& what) {
    if (closed_) return;
    closed_ = true;
    if (events_.on_error) events_.on_error("nats: " + what);
  }

  // Asio registers descriptors edge-triggered and does not try a wait
  // speculatively, so a wait may only be armed once the socket said EAGAIN:
  // reads drain the socket (FIONREAD says when), writes are tried first.
  void ArmRead() {
    if (reading_ || !want_read_ || !sd_) return;
    reading_ = true;
    sd_->async_wait(asio::posix::stream_descriptor::wait_read,
                    [self = shared_from_this()](boost::system::error_code ec) {
                      self->reading_ = false;
                      if (!ec) self->ReadReady();
                    });
  }

  void ReadReady() {
    // At most 64 reads (of up to 256 KiB each) before other connections get
    // a turn; the rest continues from the loop, not from a wait.
    for (int i = 0; i < 64; ++i) {
      if (!sd_ || nc_ == nullptr) return;
      natsConnection_ProcessReadEvent(nc_);
      Drain();
      if (!sd_ || nc_ == nullptr) return;
      int avail = 0;
      if (ioctl(sd_->native_handle(), FIONREAD, &avail) != 0 || avail == 0) {
        ArmRead();
        return;
      }
    }
    asio::post(ioc_, [self = shared_from_this()] { self->ReadReady(); });
  }

  void ArmWrite() {
    if (writing_ || !want_write_ || !sd_ || nc_ == nullptr) return;
    writing_ = true;
    // Try now; nats.c asks again (want_write_ stays set) when it could not
    // write everything, and only then is there an edge to wait for.
    asio::post(ioc_, [self = shared_from_this()] {
      if (!self->sd_ || self->nc_ == nullptr || !self->want_write_) {
        self->writing_ = false;
        return;
      }
      natsConnection_ProcessWriteEvent(self->nc_);
      if (!self->sd_ || !self->want_write_) {
        self->writing_ = false;
        return;
      }
      self->sd_->async_wait(asio::posix::stream_descriptor::wait_write,
                            [self](boost::system::error_code ec) {
                              self->writing_ = false;
                              if (!ec) self->ArmWrite();
                            });
    });
  }

  // Hands every message that the last read queued to the scenario.
  void Drain() {
    if (confirm_ != nullptr && !ready_) {
      int pending = 0;
      natsSubscription_GetPending(confirm_, &pending, nullptr);
      if (pending > 0) {
        ready_ = true;
        if (events_.on_ready) events_.on_ready();
      }
    }
    if (sub_ == nullptr) return;
    int pending = 0;
    if (natsSubscription_GetPending(sub_, &pending, nullptr) != NATS_OK) return;
    for (int i = 0; i < pending && sub_ != nullptr; ++i) {
      natsMsg* m = nullptr;
      if (natsSubscription_NextMsg(&m, sub_, 0) != NATS_OK) break;
      if (events_.on_message) {
        events_.on_message(
            std::string_view(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m))));
      }
      natsMsg_Destroy(m);
    }
  }

  // nats.c's event loop callbacks; `loop` and `userData` are the NatsConn.
  static natsStatus OnAttach(void** user_data, void* loop, natsConnection*, natsSock fd) {
    auto* self = static_cast<NatsConn*>(loop);
    *user_data = self;
    self->keep_alive_ = self->shared_from_this();
    self->Post([self, fd] {
      // The descriptor is released, never closed, by us: nats.c owns the fd.
      self->sd_ = std::make_unique<asio::posix::stream_descriptor>(self->ioc_, fd);
      self->want_read_ = true;
      self->ArmRead();
      self->ArmWrite();
    });
    return NATS_OK;
  }
  static natsStatus OnRead(void* user_data, bool add) {
    auto* self = static_cast<NatsConn*>(user_data);
    self->Post([self, add] {
      self->want_read_ = add;
      self->ArmRead();
    });
    return NATS_OK;
  }
  static natsStatus OnWrite(void* user_data, bool add) {
    auto* self = static_cast<NatsConn*>(user_data);
    self->Post([self, add] {
      self->want_write_ = add;
      self->ArmWrite();
    });
    return NATS_OK;
  }
  static natsStatus OnDetach(void* user_data) {
    auto* self = static_cast<NatsConn*>(user_data);
    self->Post([self] {
      if (self->sd_) {
        boost::system::error_code ignored;
        self->sd_->cancel(ignored);
        (void)self->sd_->release();
        self->sd_.reset();
      }
      // Not asked for: the server closed the connection (nats.c's closed
      // callback would come from another thread, possibly after we are gone).
      if (!self->closed_) self->Fail("connection closed");
      self->keep_alive_.reset();  // may destroy self: last statement
    });
    return NATS_OK;
  }
  asio::io_context& ioc_;
  std::string topic_, inbox_;
  bool subscribe_;
  Events events_;
  natsConnection* nc_ = nullptr;
  natsSubscription* sub_ = nullptr;
  natsSubscription* confirm_ = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> sd_;
  std::shared_ptr<NatsConn> keep_alive_;  // while attached to the loop
  std::atomic<int> queued_{0};
  bool want_read_ = false, want_write_ = false, reading_ = false, writing_ = false;
  bool ready_ = false;
  std::atomic<bool> closed_{false};
};

class NatsDriver : public Driver {
 public:
  NatsDriver(asio::io_context& ioc, const Endpoint& ep)
      : ioc_(ioc), url_("nats://" + ep.host + ":" + std::to_string(ep.port)), pool_(8) {
    nats_Open(-1);
  }
  ~NatsDriver() override { pool_.join(); }

  std::shared_ptr<Connection> Open(const std::string& topic, bool subscribe,
                                   Events events) override {
    auto c = std::make_shared<NatsConn>(ioc_, topic, subscribe, std::move(events));
    asio::post(pool_, [c, url = url_] { c->Connect(url); });
    return c;
  }

 private:
  asio::io_context& ioc_;
  std::string url_;
  asio::thread_pool pool_;
};

}  // namespace

std::unique_ptr<Driver> MakeNatsDriver(asio::io_context& ioc, const Endpoint& endpoint) {
  return std::make_unique<NatsDriver>(ioc, endpoint);
}

}  // namespace loadgen

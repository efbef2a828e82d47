// Redis pub/sub driver: Asio sockets, hiredis's redisReader for the replies.
//
// hiredis's own connections are blocking or need an event-library adapter
// (ae, libevent, libuv…); none drives thousands of connections from our one
// Asio loop, so the sockets are Asio's and hiredis only parses RESP.
#include <hiredis/hiredis.h>

#include <cstdio>
#include <string>

#include "boost/asio.hpp"
#include "loadgen.h"

namespace loadgen {
namespace {

using tcp = asio::ip::tcp;

void AppendBulk(std::string& out, std::string_view s) {
  out.push_back('$');
  out.append(std::to_string(s.size()));
  out.append("\r\n");
  out.append(s);
  out.append("\r\n");
}

class RedisConn : public Connection, public std::enable_shared_from_this<RedisConn> {
 public:
  RedisConn(asio::io_context& ioc, std::string topic, bool subscribe, Events events)
      : sock_(ioc),
        topic_(std::move(topic)),
        subscribe_(subscribe),
        events_(std::move(events)),
        reader_(redisReaderCreate()) {
    // The default 16 KiB would make the reader compact its buffer often
    // under a stream of messages; 0 keeps it.
    reader_->maxbuf = 0;
  }
  ~RedisConn() override { redisReaderFree(reader_); }

  void Start(const tcp::endpoint& ep) {
    sock_.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return self->Fail("connect: " + ec.message());
      self->sock_.set_option(tcp::no_delay(true));
      if (self->subscribe_) {
        const char* argv[] = {"SUBSCRIBE", self->topic_.c_str()};
        size_t lens[] = {9, self->topic_.size()};
        char* cmd = nullptr;
        int n = redisFormatCommandArgv(&cmd, 2, argv, lens);
        self->pending_.append(cmd, static_cast<size_t>(n));
        redisFreeCommand(cmd);
        self->Flush();
      } else if (self->events_.on_ready) {
        self->events_.on_ready();
      }
      self->Read();
    });
  }

  void Publish(std::string_view payload) override {
    // Formatted by hand (RESP is three bulk strings): no allocation per
    // message beyond the output buffer's growth.
    pending_.append("*3\r\n$7\r\nPUBLISH\r\n");
    AppendBulk(pending_, topic_);
    AppendBulk(pending_, payload);
    Flush();
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
  }

 private:
  void Fail(const std::string& what) {
    if (closed_) return;
    closed_ = true;
    if (events_.on_error) events_.on_error("redis: " + what);
  }

  // One write in flight; whatever was queued meanwhile goes in the next one.
  void Flush() {
    if (writing_ || pending_.empty() || closed_) return;
    writing_ = true;
    writing_buf_.swap(pending_);
    asio::async_write(sock_, asio::buffer(writing_buf_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        self->writing_buf_.clear();
                        if (ec) return self->Fail("write: " + ec.message());
                        self->Flush();
                      });
  }

  void Read() {
    sock_.async_read_some(asio::buffer(rbuf_, sizeof rbuf_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            if (ec) return self->Fail("read: " + ec.message());
                            if (redisReaderFeed(self->reader_, self->rbuf_, n) != REDIS_OK) {
                              return self->Fail("protocol error");
                            }
                            if (!self->Drain()) return;
                            if (!self->closed_) self->Read();
                          });
  }

  bool Drain() {
    for (;;) {
      void* r = nullptr;
      if (redisReaderGetReply(reader_, &r) != REDIS_OK) {
        Fail(std::string("protocol error: ") + reader_->errstr);
        return false;
      }
      if (r == nullptr) return true;
      auto* reply = static_cast<redisReply*>(r);
      if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
          reply->element[0]->type == REDIS_REPLY_STRING) {
        std::string_view kind(reply->element[0]->str, reply->element[0]->len);
        if (kind == "message") {
          if (events_.on_message) {
            events_.on_message(std::string_view(reply->element[2]->str, reply->element[2]->len));
          }
        } else if (kind == "subscribe") {
          if (events_.on_ready) events_.on_ready();
        }
      } else if (reply->type == REDIS_REPLY_ERROR) {
        std::string e(reply->str, reply->len);
        freeReplyObject(reply);
        Fail("server said " + e);
        return false;
      }
      freeReplyObject(reply);
    }
  }

  tcp::socket sock_;
  std::string topic_;
  bool subscribe_;
  Events events_;
  redisReader* reader_;
  char rbuf_[65536];
  std::string pending_, writing_buf_;
  bool writing_ = false, closed_ = false;
};


}  // namespace

std::unique_ptr<Driver> MakeRedisDriver(asio::io_context& ioc, const Endpoint& endpoint) {
  return std::make_unique<AsioDriver<RedisConn>>(ioc, endpoint);
}

}  // namespace loadgen

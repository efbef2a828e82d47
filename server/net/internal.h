// Shared between the two Beast translation units of server/net (HTTP +
// listener, and WebSocket). Not for use outside server/net: Beast headers
// are expensive to compile.
#pragma once

#include <atomic>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "boost/asio.hpp"
#include "boost/beast.hpp"
#include "common/executor.h"
#include "server/net/net_server.h"

namespace boost::asio::ssl {
class context;
}

namespace ddp::net_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

// The Executor of one connection: its strand. It may outlive the
// connection and the io_context (a MethodReply kept by an application
// thread, a callback still queued in the engine), but the strand may not
// outlive its io_context's services: the connection Close()s it when it
// goes, and later posts are dropped (there is nobody left to run them for).
class StrandExecutor : public Executor, public std::enable_shared_from_this<StrandExecutor> {
 public:
  // `batches` (may be null) takes this executor's posts made inside a
  // PostBatch (see common/executor.h).
  StrandExecutor(Strand strand, std::shared_ptr<PostTarget> batches)
      : strand_(std::move(strand)), batches_(std::move(batches)) {}
  void Post(absl::AnyInvocable<void() &&> fn) override {
    if (batches_ != nullptr && PostBatch::Active()) {
      PostBatch::Hold(batches_, [self = shared_from_this(), fn = std::move(fn)]() mutable {
        self->PostNow(std::move(fn));
      });
      return;
    }
    PostNow(std::move(fn));
  }
  bool RunningInThisThread() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return strand_ && strand_->running_in_this_thread();
  }
  void Close() {
    std::optional<Strand> gone;
    std::lock_guard<std::mutex> lock(mu_);
    gone.swap(strand_);
  }

 private:
  void PostNow(absl::AnyInvocable<void() &&> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (strand_) {
        asio::post(*strand_, [fn = std::move(fn)]() mutable { std::move(fn)(); });
        return;
      }
    }
    // Closed: `fn` is destroyed here, outside the lock (its captures may
    // post again).
  }

  mutable std::mutex mu_;
  std::optional<Strand> strand_;
  const std::shared_ptr<PostTarget> batches_;
};

// The io_context as a PostTarget: a batch of posts is one handler there,
// which posts each onto its connection's strand. The batches' handlers run
// in hand-over order, one at a time (a strand of their own): with several
// I/O threads, a later batch's handler must not reach a connection's
// strand before an earlier batch's post to it (the connection would see
// its work out of order). Closed by NetServer before the io_context goes;
// later batches are dropped, like posts to a closed StrandExecutor.
class IoPostTarget : public PostTarget {
 public:
  explicit IoPostTarget(asio::io_context& ioc) : order_(asio::make_strand(ioc)) {}
  void PostAll(std::vector<absl::AnyInvocable<void() &&>> fns) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (order_) {
        asio::post(*order_, [fns = std::move(fns)]() mutable {
          for (auto& fn : fns) std::move(fn)();
        });
        return;
      }
    }
    // Closed: `fns` go here, outside the lock.
  }
  // The strand must not outlive the io_context (see StrandExecutor).
  void Close() {
    std::optional<Strand> gone;
    std::lock_guard<std::mutex> lock(mu_);
    gone.swap(order_);
  }

 private:
  std::mutex mu_;
  std::optional<Strand> order_;
};

// A live WebSocket connection as the server sees it, for shutdown.
class Closable {
 public:
  virtual ~Closable() = default;
  // Flush, then close with `code`. Thread-safe (posts to the strand).
  virtual void Shutdown(uint16_t code, std::string reason) = 0;
  // Runs the session's subscriptions again (Session::RerunSubscriptions).
  // Thread-safe.
  virtual void Rerun() = 0;
  // Bytes waiting in the outbound queue (GET /metrics). Any thread.
  virtual size_t queued_bytes() const = 0;
  // The admin page's row (queued_bytes filled by the caller). Any thread.
  virtual ConnectionSummary Summary() const = 0;
};

// A size written by one strand and read by any thread (a metrics scrape):
// plain loads and stores, no read-modify-write, so the owner pays nothing
// more than for a size_t.
class SingleWriterSize {
 public:
  SingleWriterSize& operator=(size_t v) {
    v_.store(v, std::memory_order_relaxed);
    return *this;
  }
  SingleWriterSize& operator+=(size_t n) { return *this = get() + n; }
  SingleWriterSize& operator-=(size_t n) { return *this = get() - n; }
  operator size_t() const { return get(); }  // NOLINT: used as the size it is
  size_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<size_t> v_{0};
};

class XhrSessions;  // sockjs_xhr.cc

// State shared by the listener and every connection.
struct Shared {
  NetOptions options;
  std::shared_ptr<const Registry> registry;
  HttpHandler http;
  NetStats stats;
  // Owned by NetServer, which outlives every connection: the io_context's
  // destructor destroys the pending handlers that keep connections alive.
  asio::io_context* ioc = nullptr;
  // The io_context as the target of PostBatches (see StrandExecutor).
  std::shared_ptr<IoPostTarget> post_target;
  // Sessions waiting for their client to come back; null when resumption
  // is off (SessionOptions::disconnect_grace_period zero).
  std::shared_ptr<SessionDirectory> directory;

  std::mutex mu;
  std::condition_variable all_closed;  // notified when `live` empties
  uint64_t next_id = 1;
  absl::flat_hash_map<uint64_t, std::weak_ptr<Closable>> live;  // guarded by mu
  bool shutting_down = false;                                   // guarded by mu

  // Registers a connection; false once shutdown started (then it must close).
  bool Register(uint64_t* id, std::weak_ptr<Closable> c);
  void Unregister(uint64_t id);

  // A session that outlived its connection (parked, perhaps resumed later
  // on another one) with the strand it keeps. Its end and the strand's
  // Close normally run on that strand, posted; at shutdown such posts may
  // be dropped with the io_context's queue, so NetServer ends whatever is
  // left of these itself once its threads are gone (EndDelegated).
  void Delegated(std::weak_ptr<Session> session, std::weak_ptr<StrandExecutor> strand);
  // Connections per IP (NetOptions::max_connections_per_ip): Admit is
  // false when `ip` has its share; every admitted one is Released once.
  bool AdmitIp(const std::string& ip);
  void ReleaseIp(const std::string& ip);
  absl::flat_hash_map<std::string, size_t> per_ip;  // guarded by mu
  // TLS: the certificate and key new connections get (tls.cc); null for a
  // plain port. Guarded by mu.
  std::shared_ptr<asio::ssl::context> tls;
  // SockJS sessions over XHR (sockjs_xhr.cc); NetServer ends what is left
  // of them once its threads are gone (EndXhrSessions).
  std::shared_ptr<XhrSessions> xhr_sessions;
  void EndXhrSessions();
  void EndDelegated();
  std::vector<std::pair<std::weak_ptr<Session>, std::weak_ptr<StrandExecutor>>>
      delegated;  // guarded by mu
};

// SockJS' XHR transports (sockjs_xhr.cc) -------------------------------

// The open HTTP response a SockJS session writes its frames into: a poll
// (`xhr`), answered by the first Write, or a stream (`xhr_streaming`),
// written chunk by chunk until End. Implemented by the HTTP connection;
// called from the SockJS session's strand.
class XhrReceiver {
 public:
  virtual ~XhrReceiver() = default;
  // `frames`: one or more frames, each ending in "\n".
  virtual void Write(std::string frames) = 0;
  // No more frames: a poll that got none answers nothing more (it was
  // answered already or is never answered when its connection went), a
  // stream ends.
  virtual void End() = 0;
  // Whether more than one Write goes into this response.
  virtual bool streaming() const = 0;
  // The response cannot be written any more (its client went away).
  virtual bool gone() const = 0;
};

// The SockJS sessions over XHR, by session id.
std::shared_ptr<XhrSessions> MakeXhrSessions();

// POST /sockjs/<server>/<session>/{xhr,xhr_streaming,xhr_send} (OPTIONS
// for the preflight) from `ip`. `receiver` is null for xhr_send; `respond` answers
// xhr_send and every request that gets no receiver (errors, preflight).
// Runs on the HTTP connection's strand.
void HandleSockJsXhr(const std::shared_ptr<Shared>& shared, std::string_view session_id,
                     std::string_view transport, HttpRequest request, const std::string& ip,
                     std::shared_ptr<XhrReceiver> receiver, HttpRespond respond);

// Serves HTTP (and WebSocket upgrades) on a connected stream. `buffered`:
// bytes already read from it.
void StartHttp(std::shared_ptr<Shared> shared, tcp::socket socket, Strand strand,
               std::string remote_address, std::string ip, beast::flat_buffer buffered);
std::string RemoteAddress(const tcp::socket& socket);
std::string RemoteIp(const tcp::socket& socket);

// TLS (tls.cc). The context for a certificate chain and key (PEM files),
// TLS 1.2 and later; InvalidArgument with OpenSSL's reason.
absl::StatusOr<std::shared_ptr<asio::ssl::context>> LoadTlsContext(const std::string& cert_file,
                                                                  const std::string& key_file);
// An accepted connection on a TLS port: handshakes, then relays the
// plaintext through a socket pair to StartHttp, which sees the client's
// address. Plain clients are served (tls_allow_plain) or told to use TLS.
void StartTlsPort(std::shared_ptr<Shared> shared, tcp::socket socket, Strand strand,
                  std::shared_ptr<asio::ssl::context> context);

// Takes over an upgraded stream: WebSocket handshake, then a DDP session.
// `ip` was admitted (Shared::AdmitIp); the connection releases it.
// `early` holds bytes read past the request: frames a client sent without
// waiting for the 101 (RFC 6455 says it must wait; some do not).
void StartWebSocket(std::shared_ptr<Shared> shared, beast::tcp_stream stream, Strand strand,
                    http::request<http::string_body> request, std::string remote_address,
                    std::string ip, std::string early);

}  // namespace ddp::net_internal

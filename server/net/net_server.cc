// The listener, plain HTTP connections, and NetServer itself. WebSocket
// connections live in ws_connection.cc.
#include "server/net/net_server.h"

#include <algorithm>
#include <deque>
#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "server/net/internal.h"
#include "server/net/io_loop.h"
#include "server/sockjs/framing.h"
#include "spdlog/spdlog.h"

namespace ddp {
namespace net_internal {

bool Shared::Register(uint64_t* id, std::weak_ptr<Closable> c) {
  std::lock_guard<std::mutex> lock(mu);
  *id = next_id++;
  if (shutting_down) return false;
  live.emplace(*id, std::move(c));
  return true;
}

void Shared::Unregister(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  live.erase(id);
  if (live.empty()) all_closed.notify_all();
}

bool Shared::AdmitIp(const std::string& ip) {
  if (options.max_connections_per_ip == 0) return true;
  std::lock_guard<std::mutex> lock(mu);
  size_t& n = per_ip[ip];
  if (n >= options.max_connections_per_ip) {
    if (n == 0) per_ip.erase(ip);
    return false;
  }
  ++n;
  return true;
}

void Shared::ReleaseIp(const std::string& ip) {
  if (options.max_connections_per_ip == 0) return;
  std::lock_guard<std::mutex> lock(mu);
  auto it = per_ip.find(ip);
  if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
}

void Shared::Delegated(std::weak_ptr<Session> session, std::weak_ptr<StrandExecutor> strand) {
  std::lock_guard<std::mutex> lock(mu);
  // Forget the ones that are gone whenever the list doubled, so that it
  // stays proportional to what is alive.
  if (delegated.size() >= 64 && (delegated.size() & (delegated.size() - 1)) == 0) {
    std::erase_if(delegated, [](const auto& d) { return d.first.expired() && d.second.expired(); });
  }
  delegated.emplace_back(std::move(session), std::move(strand));
}

void Shared::EndDelegated() {
  std::vector<std::pair<std::weak_ptr<Session>, std::weak_ptr<StrandExecutor>>> all;
  {
    std::lock_guard<std::mutex> lock(mu);
    all.swap(delegated);
  }
  // No I/O thread runs any more: nothing else touches these sessions.
  for (auto& [weak_session, weak_strand] : all) {
    if (auto session = weak_session.lock()) session->OnClosed();
    if (auto strand = weak_strand.lock()) strand->Close();
  }
}

namespace {

bool IsDdpPath(std::string_view target) {
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  return path == "/websocket" || path == "/sockjs/websocket" || sockjs::IsFramedWebSocket(path);
}

}  // namespace

std::string RemoteIp(const tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string();
}

std::string RemoteAddress(const tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return StrCat(ep.address().to_string(), ":", ep.port());
}

// One HTTP/1.1 connection: requests in order, one at a time, until it
// closes or upgrades to a WebSocket.
namespace {

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(std::shared_ptr<Shared> shared, tcp::socket socket, Strand strand,
                 std::string remote_address, std::string ip, beast::flat_buffer buffered)
      : shared_(std::move(shared)),
        remote_address_(std::move(remote_address)),
        remote_ip_(std::move(ip)),
        stream_(std::move(socket)),
        strand_(std::move(strand)),
        buffer_(std::move(buffered)) {}

  void Start() { DoRead(); }

 private:
  void DoRead() {
    ++request_no_;
    xhr_answered_ = stream_started_ = stream_last_ = false;
    parser_.emplace();
    parser_->body_limit(shared_->options.max_http_body_bytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(shared_->options.http_idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      Reply(false, 11, HttpResponse{413, "application/json",
                                    StrCat(R"({"error":413,"reason":"request body above )",
                                           shared_->options.max_http_body_bytes, R"( bytes"})"),
                                    {}});
      return;
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout) {
        spdlog::debug("http {} read: {}", remote_address_, ec.message());
      }
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    http::request<http::string_body> req = parser_->release();
    if (websocket::is_upgrade(req)) {
      if (!IsDdpPath(req.target())) {
        Reply(false, req.version(),
              HttpResponse{404, "application/json",
                           R"({"error":404,"reason":"WebSocket endpoints are /websocket, /sockjs/websocket and /sockjs/<server>/<session>/websocket"})",
                           {}});
        return;
      }
      if (!shared_->AdmitIp(remote_ip_)) {
        shared_->stats.connections_refused++;
        Reply(false, req.version(),
              HttpResponse{429, "application/json",
                           StrCat(R"({"error":429,"reason":"too many connections from )",
                                  remote_ip_, R"( (at most )",
                                  shared_->options.max_connections_per_ip, R"x()"})x"),
                           {}});
        return;
      }
      stream_.expires_never();
      std::string early = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      StartWebSocket(shared_, std::move(stream_), strand_, std::move(req), remote_address_,
                     remote_ip_, std::move(early));
      return;
    }
    shared_->stats.http_requests++;
    std::optional<sockjs::Route> sockjs_route;
    {
      std::string_view target(req.target().data(), req.target().size());
      sockjs_route = sockjs::ParseRoute(target.substr(0, target.find('?')));
      if (sockjs_route && sockjs_route->transport != "xhr" &&
          sockjs_route->transport != "xhr_send" && sockjs_route->transport != "xhr_streaming") {
        sockjs_route.reset();
      }
    }
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& field : req) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(req.body());
    request.remote_address = remote_address_;
    request.request_id = RequestId(request.Header("X-Request-Id"));
    bool keep_alive = req.keep_alive();
    unsigned version = req.version();
    // Every answer names its request, and a failure inside the server
    // (HttpResponse::log_detail) is logged once with that id, which the
    // client can quote; with the path only, as a query string may carry
    // credentials.
    auto respond = [self = shared_from_this(), keep_alive, version, id = request.request_id,
                    method = request.method,
                    path = std::string(request.Path())](HttpResponse response) {
      response.headers.emplace_back("X-Request-Id", id);
      if (!response.log_detail.empty()) {
        spdlog::error("http {} {}: {} {} (request {})", method, path, response.status,
                      response.log_detail, id);
      }
      asio::post(self->strand_, [self, keep_alive, version, r = std::move(response)]() mutable {
        self->Reply(keep_alive, version, std::move(r));
      });
    };
    if (sockjs_route) {
      std::shared_ptr<XhrReceiver> receiver;
      if (sockjs_route->transport != "xhr_send") {
        receiver = std::make_shared<Receiver>(shared_from_this(),
                                              sockjs_route->transport == "xhr_streaming",
                                              keep_alive, version, sockjs::CorsHeaders(request.Header("Origin")));
        stream_.expires_never();  // held until there is something to say
      }
      const std::string session(sockjs_route->session), transport(sockjs_route->transport);
      HandleSockJsXhr(shared_, session, transport, std::move(request), remote_ip_,
                      std::move(receiver), std::move(respond));
      return;
    }
    try {
      shared_->http(std::move(request), std::move(respond));
    } catch (const std::exception& e) {
      spdlog::error("http handler threw: {}", e.what());
      Reply(false, version,
            HttpResponse{500, "application/json",
                         R"({"error":500,"reason":"Internal server error"})", {}});
    }
  }

  // The client's X-Request-Id when it is a sane token (a proxy's id), else
  // a new one: this process's random prefix and a counter.
  static std::string RequestId(std::string_view given) {
    if (!given.empty() && given.size() <= 64 &&
        std::all_of(given.begin(), given.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                 c == '.' || c == ':';
        })) {
      return std::string(given);
    }
    static const uint32_t prefix = std::random_device()();
    static std::atomic<uint64_t> next{0};
    return absl::StrFormat("%08x%08x", prefix, next.fetch_add(1, std::memory_order_relaxed) + 1);
  }

  // The response of a SockJS poll or stream (sockjs_xhr.cc), written from
  // the session's strand through this connection's.
  class Receiver : public XhrReceiver, public std::enable_shared_from_this<Receiver> {
   public:
    Receiver(std::shared_ptr<HttpConnection> c, bool streaming, bool keep_alive, unsigned version,
             std::vector<std::pair<std::string, std::string>> headers)
        : c_(std::move(c)),
          request_no_(c_->request_no_),
          streaming_(streaming),
          keep_alive_(keep_alive),
          version_(version),
          headers_(std::move(headers)) {}
    void Write(std::string frames) override {
      asio::post(c_->strand_, [c = c_, self = shared_from_this(), frames = std::move(frames)]() mutable {
        c->XhrWrite(*self, std::move(frames));
      });
    }
    void End() override {
      if (ended_.exchange(true)) return;
      asio::post(c_->strand_, [c = c_, self = shared_from_this()] { c->XhrEnd(*self); });
    }
    bool streaming() const override { return streaming_; }
    bool gone() const override { return c_->stream_gone_.load(); }

    const std::shared_ptr<HttpConnection> c_;
    const uint64_t request_no_;  // the request it answers
    const bool streaming_;
    const bool keep_alive_;
    const unsigned version_;
    const std::vector<std::pair<std::string, std::string>> headers_;
    std::atomic<bool> ended_{false};
  };

  // On the strand. A poll is answered by its first frames; a stream starts
  // with its headers and the prelude, then takes one chunk per write.
  void XhrWrite(Receiver& r, std::string frames) {
    if (r.request_no_ != request_no_) return;
    if (!r.streaming_) {
      if (xhr_answered_) return;
      xhr_answered_ = true;
      Reply(r.keep_alive_, r.version_,
            HttpResponse{200, "application/javascript; charset=UTF-8", std::move(frames),
                         r.headers_});
      return;
    }
    if (!stream_started_) {
      stream_started_ = true;
      std::string head = StrCat("HTTP/1.", r.version_ == 10 ? "0" : "1", " 200 OK\r\n");
      head += "Server: ddpd\r\nContent-Type: application/javascript; charset=UTF-8\r\n";
      head += "Transfer-Encoding: chunked\r\n";
      for (const auto& [k, v] : r.headers_) head += StrCat(k, ": ", v, "\r\n");
      if (!r.keep_alive_) head += "Connection: close\r\n";
      head += "\r\n";
      StreamOut(std::move(head));
      // 2048 bytes of "h" then "\n": browsers start handing a response to
      // the page only after its first kilobytes.
      frames.insert(0, std::string(2048, 'h') + "\n");
    }
    StreamOut(StrCat(absl::Hex(frames.size()), "\r\n", frames, "\r\n"));
  }

  void XhrEnd(Receiver& r) {
    if (r.request_no_ != request_no_) return;
    if (!r.streaming_) {
      // A poll is always answered before its end; a connection whose poll
      // was never answered (shutdown) just closes.
      if (!xhr_answered_) Close();
      return;
    }
    if (!stream_started_) {
      Close();
      return;
    }
    stream_keep_alive_ = r.keep_alive_;
    StreamOut("0\r\n\r\n", /*last=*/true);
  }

  void StreamOut(std::string bytes, bool last = false) {
    stream_out_.push_back(std::move(bytes));
    if (last) stream_last_ = true;
    if (!stream_writing_) StreamNext();
  }

  void StreamNext() {
    if (stream_out_.empty()) {
      if (stream_last_) {
        stream_last_ = stream_started_ = xhr_answered_ = false;
        if (stream_keep_alive_) {
          DoRead();
        } else {
          Close();
        }
      }
      return;
    }
    stream_writing_ = true;
    auto bytes = std::make_shared<std::string>(std::move(stream_out_.front()));
    stream_out_.pop_front();
    asio::async_write(stream_, asio::buffer(*bytes),
                      [self = shared_from_this(), bytes](beast::error_code ec, size_t) {
                        self->stream_writing_ = false;
                        if (ec) {
                          self->stream_gone_ = true;
                          self->stream_out_.clear();
                          self->Close();
                          return;
                        }
                        self->StreamNext();
                      });
  }

  void Close() {
    stream_gone_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  void Reply(bool keep_alive, unsigned version, HttpResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version);
    res->result(static_cast<http::status>(r.status));
    res->set(http::field::server, "ddpd");
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->DoRead();
                      });
  }

  std::shared_ptr<Shared> shared_;
  std::string remote_address_;
  std::string remote_ip_;
  beast::tcp_stream stream_;
  Strand strand_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // SockJS polls and streams (Receiver).
  uint64_t request_no_ = 0;
  bool xhr_answered_ = false;
  bool stream_started_ = false;
  bool stream_writing_ = false;
  bool stream_last_ = false;
  bool stream_keep_alive_ = false;
  std::atomic<bool> stream_gone_{false};
  std::deque<std::string> stream_out_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::shared_ptr<Shared> shared, tcp::acceptor acceptor)
      : shared_(std::move(shared)), acceptor_(std::move(acceptor)) {}

  void Start() { DoAccept(); }

  void Stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void DoAccept() {
    Strand strand = asio::make_strand(*shared_->ioc);
    acceptor_.async_accept(strand, [self = shared_from_this(), strand](beast::error_code ec,
                                                                      tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (ec) {
        // Out of descriptors and the like: log, keep accepting.
        spdlog::warn("accept: {}", ec.message());
      } else {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::shared_ptr<asio::ssl::context> tls;
        {
          std::lock_guard<std::mutex> lock(self->shared_->mu);
          tls = self->shared_->tls;
        }
        if (tls != nullptr) {
          StartTlsPort(self->shared_, std::move(socket), strand, std::move(tls));
        } else {
          std::string address = RemoteAddress(socket), ip = RemoteIp(socket);
          StartHttp(self->shared_, std::move(socket), strand, std::move(address), std::move(ip),
                    {});
        }
      }
      self->DoAccept();
    });
  }

  std::shared_ptr<Shared> shared_;
  tcp::acceptor acceptor_;
};

}  // namespace

void StartHttp(std::shared_ptr<Shared> shared, tcp::socket socket, Strand strand,
               std::string remote_address, std::string ip, beast::flat_buffer buffered) {
  std::make_shared<HttpConnection>(std::move(shared), std::move(socket), std::move(strand),
                                   std::move(remote_address), std::move(ip), std::move(buffered))
      ->Start();
}

}  // namespace net_internal

using namespace net_internal;

// Member order matters: destruction runs bottom-up, so the threads are gone
// and the listener released before the io_context is destroyed (which
// destroys every pending handler and with it every connection), and the
// io_context goes before the state the connections point to.
struct NetServer::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  asio::io_context ioc;
  std::shared_ptr<Listener> listener;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  // Ends parked sessions whose grace period passed (session_directory.h).
  std::optional<asio::steady_timer> sweep;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool running = false;
};

NetServer::NetServer(NetOptions options, std::shared_ptr<const Registry> registry,
                     HttpHandler http)
    : impl_(std::make_unique<Impl>()) {
  impl_->shared->ioc = &impl_->ioc;
  impl_->shared->post_target = std::make_shared<IoPostTarget>(impl_->ioc);
  impl_->shared->options = std::move(options);
  NetOptions& o = impl_->shared->options;
  o.session.method_stats = std::make_shared<MethodStats>();
  if (o.user_method_rate > 0 || o.user_sub_rate > 0) {
    o.session.user_limits = std::make_shared<UserRateLimits>(
        UserRateLimits::Rate{o.user_method_rate, o.user_method_burst},
        UserRateLimits::Rate{o.user_sub_rate, o.user_sub_burst});
  }
  impl_->shared->registry = std::move(registry);
  impl_->shared->xhr_sessions = MakeXhrSessions();
  impl_->shared->http = std::move(http);
  if (impl_->shared->options.session.disconnect_grace_period > Duration::zero()) {
    impl_->shared->directory =
        std::make_shared<SessionDirectory>(impl_->shared->options.max_parked_sessions);
  }
}

namespace {

// Every second: parked sessions whose time is up end. A session outlives
// its grace period by at most that.
void Sweep(asio::steady_timer& timer, const std::shared_ptr<SessionDirectory>& directory) {
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([&timer, directory](beast::error_code ec) {
    if (ec) return;
    for (SessionDirectory::Parked& p : directory->TakeExpired(SteadyClock::now())) {
      Dismiss(std::move(p));
    }
    Sweep(timer, directory);
  });
}

}  // namespace

NetServer::~NetServer() {
  Shutdown();
  // Batches posted from now on (the engine may outlive this server) are
  // dropped instead of reaching an io_context that is going away.
  impl_->shared->post_target->Close();
}

absl::Status NetServer::Start() {
  Shared& s = *impl_->shared;
  beast::error_code ec;
  auto address = asio::ip::make_address(s.options.bind, ec);
  if (ec) return InvalidArgument("invalid bind address '", s.options.bind, "': ", ec.message());
  tcp::endpoint endpoint(address, s.options.port);
  tcp::acceptor acceptor(asio::make_strand(impl_->ioc));
  auto fail = [&](std::string_view what) {
    return absl::UnavailableError(
        StrCat("cannot ", what, " ", s.options.bind, ":", s.options.port, ": ", ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec)) return fail("configure");
  if (acceptor.bind(endpoint, ec)) return fail("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen on");
  impl_->port = acceptor.local_endpoint().port();
  if (!s.options.tls_cert_file.empty() || !s.options.tls_key_file.empty()) {
    absl::StatusOr<std::shared_ptr<asio::ssl::context>> tls =
        LoadTlsContext(s.options.tls_cert_file, s.options.tls_key_file);
    if (!tls.ok()) return tls.status();
    std::lock_guard<std::mutex> lock(s.mu);
    s.tls = std::move(*tls);
  }
  impl_->listener = std::make_shared<Listener>(impl_->shared, std::move(acceptor));
  impl_->listener->Start();
  int n = s.options.threads > 0 ? s.options.threads
                                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (s.directory != nullptr) {
    impl_->sweep.emplace(asio::make_strand(impl_->ioc));
    Sweep(*impl_->sweep, s.directory);
  }
  impl_->work.emplace(impl_->ioc.get_executor());
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([ioc = &impl_->ioc] { net_internal::RunIoLoop(*ioc); });
  }
  impl_->running = true;
  return absl::OkStatus();
}

uint16_t NetServer::port() const { return impl_->port; }

void NetServer::Shutdown() {
  if (!impl_->running) return;
  impl_->running = false;
  Shared& s = *impl_->shared;
  impl_->listener->Stop();
  std::vector<std::shared_ptr<Closable>> live;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.shutting_down = true;
    for (auto& [id, weak] : s.live) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) c->Shutdown(kCloseGoingAway, "server shutting down");
  live.clear();
  // Parked sessions end now (on their strands, while the threads run);
  // what did not get to run is ended after the threads are gone.
  if (s.directory != nullptr) {
    if (impl_->sweep) {
      asio::post(impl_->sweep->get_executor(), [t = &*impl_->sweep] { t->cancel(); });
    }
    for (SessionDirectory::Parked& p : s.directory->TakeAll()) Dismiss(std::move(p));
  }
  // Wait for sessions to flush and close, up to the grace period plus the
  // close handshake.
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.all_closed.wait_for(lock, s.options.shutdown_grace + s.options.close_timeout,
                          [&] { return s.live.empty(); });
  }
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  s.EndDelegated();
  s.EndXhrSessions();
}

const NetStats& NetServer::stats() const { return impl_->shared->stats; }

absl::Status NetServer::ReloadTls() {
  Shared& s = *impl_->shared;
  if (s.options.tls_cert_file.empty()) return absl::FailedPreconditionError("TLS is not configured");
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> tls =
      LoadTlsContext(s.options.tls_cert_file, s.options.tls_key_file);
  if (!tls.ok()) return tls.status();
  std::lock_guard<std::mutex> lock(s.mu);
  s.tls = std::move(*tls);
  return absl::OkStatus();
}

void NetServer::RerunAll() {
  Shared& s = *impl_->shared;
  std::vector<std::shared_ptr<Closable>> live;
  std::vector<std::shared_ptr<Session>> parked;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.shutting_down) return;
    for (auto& [id, weak] : s.live) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
    // Parked (and resumed) sessions keep their own strand; a resumed one
    // also runs again through its new connection, which is harmless.
    for (auto& [weak_session, weak_strand] : s.delegated) {
      if (auto session = weak_session.lock()) parked.push_back(std::move(session));
    }
  }
  for (auto& c : live) c->Rerun();
  for (auto& session : parked) {
    session->strand()->Post([session] { session->RerunSubscriptions(); });
  }
}

namespace {

// The connections alive now. Their last references may be dropped by the
// caller, which must not happen under mu (a connection unregisters itself).
std::vector<std::shared_ptr<Closable>> LiveConnections(Shared& s) {
  std::vector<std::shared_ptr<Closable>> live;
  std::lock_guard<std::mutex> lock(s.mu);
  live.reserve(s.live.size());
  for (auto& [id, weak] : s.live) {
    if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  return live;
}

}  // namespace

size_t NetServer::outbound_queued_bytes() const {
  size_t total = 0;
  for (const auto& c : LiveConnections(*impl_->shared)) total += c->queued_bytes();
  return total;
}

std::vector<ConnectionSummary> NetServer::Connections(size_t max) const {
  std::vector<std::pair<size_t, std::shared_ptr<Closable>>> by_queue;
  for (auto& c : LiveConnections(*impl_->shared)) {
    const size_t q = c->queued_bytes();
    by_queue.emplace_back(q, std::move(c));
  }
  const size_t n = std::min(max, by_queue.size());
  std::partial_sort(by_queue.begin(), by_queue.begin() + static_cast<std::ptrdiff_t>(n),
                    by_queue.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<ConnectionSummary> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ConnectionSummary c = by_queue[i].second->Summary();
    c.queued_bytes = by_queue[i].first;
    out.push_back(std::move(c));
  }
  return out;
}

const MethodStats& NetServer::method_stats() const {
  return *impl_->shared->options.session.method_stats;
}

size_t NetServer::parked_sessions() const {
  return impl_->shared->directory ? impl_->shared->directory->size() : 0;
}

}  // namespace ddp

#include "client/client.h"

#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "boost/asio.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast.hpp"
#include "boost/beast/ssl.hpp"
#include "common/clock.h"
#include "common/strings.h"
#include "protocol/ddp_message.h"
#include "protocol/ids.h"
#include "protocol/json.h"

namespace ddp {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kErrorPayload = "ddp.error";

absl::Status StatusFromDdpError(const DdpError& e) {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  if (e.error.is_string()) {
    const std::string& s = e.error.as_string();
    code = s == "conflict"            ? absl::StatusCode::kFailedPrecondition
           : s == "too-many-requests" ? absl::StatusCode::kResourceExhausted
           : s == "not-authorized"    ? absl::StatusCode::kPermissionDenied
                                      : absl::StatusCode::kUnknown;
  } else {
    switch (e.http_status) {
      case 400:
        code = absl::StatusCode::kInvalidArgument;
        break;
      case 401:
        code = absl::StatusCode::kUnauthenticated;
        break;
      case 403:
        code = absl::StatusCode::kPermissionDenied;
        break;
      case 404:
        code = absl::StatusCode::kNotFound;
        break;
      case 409:
        code = absl::StatusCode::kAlreadyExists;
        break;
      case 429:
        code = absl::StatusCode::kResourceExhausted;
        break;
      case 503:
        code = absl::StatusCode::kUnavailable;
        break;
      case 504:
        code = absl::StatusCode::kDeadlineExceeded;
        break;
      default:
        code = e.http_status >= 500 ? absl::StatusCode::kInternal : absl::StatusCode::kUnknown;
    }
  }
  absl::Status s(code, ToAbsl(e.Message()));
  s.SetPayload(ToAbsl(kErrorPayload), absl::Cord(ToJson(e.ToValue())));
  return s;
}

absl::Status ErrorFromValue(const Value& v) {
  absl::StatusOr<DdpError> e = DdpError::FromValue(v);
  if (!e.ok()) return absl::UnknownError(StrCat("server error: ", ToJson(v)));
  return StatusFromDdpError(*e);
}

struct Url {
  bool tls = false;
  std::string host, port, path;
};

absl::StatusOr<Url> ParseUrl(std::string_view url) {
  Url u;
  std::string_view rest;
  if (url.rfind("ws://", 0) == 0) {
    rest = url.substr(5);
  } else if (url.rfind("wss://", 0) == 0) {
    u.tls = true;
    rest = url.substr(6);
  } else {
    return absl::InvalidArgumentError(StrCat("url '", url, "' must start with ws:// or wss://"));
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.path = slash == std::string_view::npos ? "/websocket" : std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  } else {
    u.host = std::string(authority);
    u.port = u.tls ? "443" : "80";
  }
  if (u.host.empty()) return absl::InvalidArgumentError(StrCat("url '", url, "' has no host"));
  return u;
}

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace

std::optional<DdpError> ServerError(const absl::Status& status) {
  auto payload = status.GetPayload(ToAbsl(kErrorPayload));
  if (!payload) return std::nullopt;
  absl::StatusOr<Value> v = ParseJson(std::string(*payload));
  if (!v.ok()) return std::nullopt;
  absl::StatusOr<DdpError> e = DdpError::FromValue(*v);
  if (!e.ok()) return std::nullopt;
  return *e;
}

struct IoThreads::State {
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{ioc.get_executor()};
  std::vector<std::thread> threads;
};

IoThreads::IoThreads(int threads) : state_(std::make_unique<State>()) {
  for (int i = 0; i < std::max(threads, 1); ++i) {
    state_->threads.emplace_back([s = state_.get()] { s->ioc.run(); });
  }
}

void IoThreads::Shutdown() {
  state_->work.reset();
  state_->ioc.stop();
  for (std::thread& t : state_->threads) {
    if (t.joinable()) t.join();
  }
}

IoThreads::~IoThreads() { Shutdown(); }

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  explicit Impl(asio::io_context& io) : ioc(io), strand(asio::make_strand(io)) {}

  ClientOptions options;
  Url url;  // the current one of `urls`
  std::vector<Url> urls;
  size_t url_index = 0;
  mutable std::mutex url_mu;  // guards `url` for current_url()
  absl::Status url_status;
  asio::io_context& ioc;
  // Every handler of this client runs on the strand, one at a time.
  asio::strand<asio::io_context::executor_type> strand;
  ssl::context ssl_ctx{ssl::context::tls_client};
  asio::steady_timer timer{strand};      // reconnect delay / handshake deadline
  asio::steady_timer heartbeat{strand};
  std::mt19937_64 rng{std::random_device{}()};

  enum class State { kIdle, kConnecting, kConnected, kStopped };
  State state = State::kIdle;
  uint64_t generation = 0;  // per connection attempt: stale callbacks check it
  std::unique_ptr<PlainWs> plain;
  std::unique_ptr<TlsWs> tls;
  beast::flat_buffer buffer;
  std::deque<std::string> outbox;
  bool writing = false;
  int attempt = 0;
  std::string version;
  SteadyTime last_input;
  bool ping_outstanding = false;
  std::atomic<bool> started{false};
  std::atomic<bool> stop_requested{false};

  struct PendingCall {
    std::string method;
    Array params;
    CallCallback done;
    CallOptions opts;
    bool sent = false;
    std::optional<absl::StatusOr<Value>> result;
    bool updated = false;
  };
  uint64_t next_call = 1;
  std::map<uint64_t, PendingCall> calls;
  struct Sub {
    std::string name;
    Array params;
    SubscriptionCallbacks callbacks;
    bool ready_once = false;
  };
  std::map<std::string, Sub> subs;
  bool resyncing = false;
  Cache fresh;
  std::set<std::string> awaiting_ready;

  mutable std::recursive_mutex cache_mu;
  Cache cache;
  std::function<void(bool, absl::Status)> on_connection;
  std::atomic<bool> is_connected{false};
  mutable std::mutex session_mu;
  std::string session;
  std::atomic<int64_t> connects{0};
  std::atomic<int64_t> data_messages{0};
  std::atomic<int64_t> resumes{0};
  // The server took this connection's resume: it sends only what differs
  // from the cache, so data goes to the cache as it comes.
  bool resumed = false;
  // Most documents claimed on a reconnect (the server's default limit).
  static constexpr size_t kMaxResumeDocs = 1000000;
  bool login_failed = false;
  static constexpr std::string_view kLoginId = "login";

  // ------------------------------------------------------------ transport

  template <typename F>
  void WithStream(F&& f) {
    if (tls) {
      f(*tls);
    } else if (plain) {
      f(*plain);
    }
  }

  void Connect() {
    if (state == State::kStopped) return;
    if (!url_status.ok()) {
      Disconnected(url_status);
      return;
    }
    state = State::kConnecting;
    uint64_t gen = ++generation;
    plain.reset();
    tls.reset();
    buffer.consume(buffer.size());
    outbox.clear();
    writing = false;
    if (url.tls) {
      tls = std::make_unique<TlsWs>(strand, ssl_ctx);
    } else {
      plain = std::make_unique<PlainWs>(strand);
    }
    // The whole handshake must finish in time.
    timer.expires_after(options.connect_timeout);
    timer.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->generation || self->state != State::kConnecting) return;
      self->Disconnected(absl::DeadlineExceededError("connect timed out"));
    });
    auto resolver = std::make_shared<tcp::resolver>(strand);
    resolver->async_resolve(
        url.host, url.port,
        [self = shared_from_this(), gen, resolver](beast::error_code ec,
                                                   tcp::resolver::results_type results) {
          if (gen != self->generation) return;
          if (ec) return self->Disconnected(absl::UnavailableError(StrCat("resolve ", self->url.host, ": ", ec.message())));
          self->WithStream([&](auto& ws) {
            beast::get_lowest_layer(ws).async_connect(
                results, [self, gen](beast::error_code ec, const tcp::endpoint&) {
                  if (gen != self->generation) return;
                  if (ec) return self->Disconnected(absl::UnavailableError(StrCat("connect: ", ec.message())));
                  self->WithStream([](auto& s) {
                    beast::error_code ignored;
                    beast::get_lowest_layer(s).socket().set_option(tcp::no_delay(true), ignored);
                  });
                  self->AfterTcp(gen);
                });
          });
        });
  }

  void AfterTcp(uint64_t gen) {
    if (tls) {
      if (!SSL_set_tlsext_host_name(tls->next_layer().native_handle(), url.host.c_str())) {
        return Disconnected(absl::InternalError("TLS: cannot set the server name"));
      }
      if (options.verify_peer) {
        tls->next_layer().set_verify_callback(ssl::host_name_verification(url.host));
      }
      tls->next_layer().async_handshake(
          ssl::stream_base::client, [self = shared_from_this(), gen](beast::error_code ec) {
            if (gen != self->generation) return;
            if (ec) return self->Disconnected(absl::UnavailableError(StrCat("TLS handshake: ", ec.message())));
            self->WsHandshake(gen);
          });
      return;
    }
    WsHandshake(gen);
  }

  void WsHandshake(uint64_t gen) {
    WithStream([&](auto& ws) {
      beast::get_lowest_layer(ws).expires_never();
      ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      ws.read_message_max(64 << 20);
      ws.async_handshake(StrCat(url.host, ":", url.port), url.path,
                         [self = shared_from_this(), gen](beast::error_code ec) {
                           if (gen != self->generation) return;
                           if (ec) return self->Disconnected(absl::UnavailableError(StrCat("WebSocket handshake: ", ec.message())));
                           self->Read(gen);
                           ConnectMsg m;
                           m.version = self->version;
                           m.support = self->options.versions;
                           if (self->options.resume) {
                             std::lock_guard<std::recursive_mutex> lock(self->cache_mu);
                             std::vector<std::string> sub_ids;
                             for (const auto& [id, sub] : self->subs) sub_ids.push_back(id);
                             m.resume = self->cache.ResumeClaims(kMaxResumeDocs, sub_ids);
                           }
                           self->Send(EncodeMessage(m));
                         });
    });
  }

  void Read(uint64_t gen) {
    WithStream([&](auto& ws) {
      ws.async_read(buffer, [self = shared_from_this(), gen](beast::error_code ec, size_t) {
        if (gen != self->generation) return;
        if (ec) {
          std::string why = ec.message();
          self->WithStream([&](auto& w) {
            if (w.reason().code != 0) {
              why = StrCat("closed by the server (", w.reason().code, " ", std::string(w.reason().reason.c_str()), ")");
            }
          });
          return self->Disconnected(absl::UnavailableError(StrCat("connection lost: ", why)));
        }
        auto d = self->buffer.data();
        std::string text(static_cast<const char*>(d.data()), d.size());
        self->buffer.consume(self->buffer.size());
        self->last_input = SteadyClock::now();
        self->ping_outstanding = false;
        self->OnMessage(text);
        if (gen == self->generation && self->state != State::kStopped) self->Read(gen);
      });
    });
  }

  void Send(std::string text) {
    if (!plain && !tls) return;
    outbox.push_back(std::move(text));
    if (!writing) Write(generation);
  }

  void Write(uint64_t gen) {
    writing = true;
    WithStream([&](auto& ws) {
      ws.text(true);
      ws.async_write(asio::buffer(outbox.front()),
                     [self = shared_from_this(), gen](beast::error_code ec, size_t) {
                       if (gen != self->generation) return;
                       self->writing = false;
                       if (ec) return self->Disconnected(absl::UnavailableError(StrCat("write: ", ec.message())));
                       self->outbox.pop_front();
                       if (!self->outbox.empty()) self->Write(gen);
                     });
    });
  }

  // Tells the server we leave on purpose (Meteor 3.5's `disconnect`), so
  // that it ends the session now instead of keeping it for a reconnect.
  // Only when no write is in flight (one write at a time); the message is
  // tiny and the socket's buffer empty then, so the write does not wait.
  void SayDisconnect() {
    if (!is_connected || writing) return;
    WithStream([](auto& ws) {
      beast::error_code ignored;
      ws.text(true);
      ws.write(asio::buffer(std::string_view(R"({"msg":"disconnect"})")), ignored);
    });
  }

  void CloseStream() {
    ++generation;  // everything in flight is now stale
    beast::error_code ignored;
    if (plain) beast::get_lowest_layer(*plain).socket().close(ignored);
    if (tls) beast::get_lowest_layer(*tls).socket().close(ignored);
    timer.cancel();
    heartbeat.cancel();
  }

  // ------------------------------------------------------------ DDP

  void OnMessage(const std::string& text) {
    absl::StatusOr<Message> decoded = DecodeMessage(std::string_view(text));
    if (!decoded.ok()) return;  // a server that sends garbage: ignore the frame
    Message& m = *decoded;
    if (auto* c = std::get_if<ConnectedMsg>(&m)) {
      resumed = c->resume && *c->resume == "diff";
      return OnConnected(c->session);
    }
    if (auto* f = std::get_if<FailedMsg>(&m)) {
      bool supported = std::find(options.versions.begin(), options.versions.end(), f->version) !=
                       options.versions.end();
      if (!supported) {
        state = State::kIdle;
        CloseStream();
        return Disconnected(absl::FailedPreconditionError(
            StrCat("the server wants DDP version ", f->version, ", which this client does not offer")));
      }
      version = f->version;
      CloseStream();
      state = State::kIdle;
      attempt = 0;
      return Connect();
    }
    if (auto* p = std::get_if<PingMsg>(&m)) return Send(EncodeMessage(PongMsg{p->id}));
    if (std::holds_alternative<PongMsg>(m)) return;
    if (std::holds_alternative<AddedMsg>(m) || std::holds_alternative<ChangedMsg>(m) ||
        std::holds_alternative<RemovedMsg>(m) || std::holds_alternative<AddedBeforeMsg>(m) ||
        std::holds_alternative<MovedBeforeMsg>(m)) {
      data_messages++;
      if (resyncing) {
        fresh.Apply(m);
      } else {
        std::lock_guard<std::recursive_mutex> lock(cache_mu);
        cache.Apply(m);
      }
      return;
    }
    if (auto* r = std::get_if<ReadyMsg>(&m)) {
      std::vector<std::function<void()>> first_ready;
      for (const std::string& id : r->subs) {
        auto it = subs.find(id);
        if (it == subs.end()) continue;
        awaiting_ready.erase(id);
        if (!it->second.ready_once) {
          it->second.ready_once = true;
          if (it->second.callbacks.ready) first_ready.push_back(it->second.callbacks.ready);
        }
      }
      // The cache holds the fresh data before anyone is told it is ready.
      MaybeFinishResync();
      for (auto& fn : first_ready) fn();
      return;
    }
    if (auto* n = std::get_if<NosubMsg>(&m)) {
      auto it = subs.find(n->id);
      if (it == subs.end()) return;
      SubscriptionCallbacks cb = std::move(it->second.callbacks);
      subs.erase(it);
      awaiting_ready.erase(n->id);
      MaybeFinishResync();
      if (cb.stopped) cb.stopped(n->error ? ErrorFromValue(*n->error) : absl::OkStatus());
      return;
    }
    if (auto* r = std::get_if<ResultMsg>(&m)) {
      if (r->id == kLoginId) return OnLoginResult(*r);
      uint64_t id = 0;
      if (!absl::SimpleAtoi(ToAbsl(r->id), &id)) return;
      auto it = calls.find(id);
      if (it == calls.end()) return;
      if (r->error) {
        it->second.result = ErrorFromValue(*r->error);
      } else {
        it->second.result = r->result.value_or(Value());
      }
      MaybeComplete(it);
      return;
    }
    if (auto* u = std::get_if<UpdatedMsg>(&m)) {
      for (const std::string& sid : u->methods) {
        uint64_t id = 0;
        if (!absl::SimpleAtoi(ToAbsl(sid), &id)) continue;
        auto it = calls.find(id);
        if (it == calls.end()) continue;
        it->second.updated = true;
        MaybeComplete(it);
      }
      return;
    }
  }

  void MaybeComplete(std::map<uint64_t, PendingCall>::iterator it) {
    PendingCall& c = it->second;
    if (!c.result || !(c.updated || c.opts.skip_updated)) return;
    CallCallback done = std::move(c.done);
    absl::StatusOr<Value> result = std::move(*c.result);
    calls.erase(it);
    if (done) done(std::move(result));
  }

  void OnConnected(const std::string& session_id) {
    {
      std::lock_guard<std::mutex> lock(session_mu);
      session = session_id;
    }
    if (options.resume_token.empty() && options.jwt.empty()) return Ready();
    // Log in before anything else is sent (Meteor's client does the same):
    // subscriptions and calls must run as the user.
    Object how = options.resume_token.empty() ? Object{{"jwt", Value(options.jwt)}}
                                              : Object{{"resume", Value(options.resume_token)}};
    MethodMsg login{"login", Array{Value(std::move(how))}, std::string(kLoginId), std::nullopt};
    Send(EncodeMessage(login));
  }

  void OnLoginResult(const ResultMsg& r) {
    if (state != State::kConnecting) return;
    if (r.error) {
      // Retrying with the same token cannot help.
      login_failed = true;
      return Disconnected(absl::UnauthenticatedError(
          StrCat("login failed: ", ErrorFromValue(*r.error).message())));
    }
    Ready();
  }

  // The session is usable: connected and, with a token, logged in.
  void Ready() {
    state = State::kConnected;
    timer.cancel();
    attempt = 0;
    is_connected = true;
    connects++;
    // Subscriptions again; the cache is rebuilt from their fresh data.
    resyncing = false;
    fresh.Clear();
    awaiting_ready.clear();
    bool had_data = false;
    {
      std::lock_guard<std::recursive_mutex> lock(cache_mu);
      had_data = !cache.CollectionNames().empty();
    }
    // With documents to compare against, the fresh data is collected apart
    // and swapped in once every subscription is ready. Otherwise (nothing
    // stored, or an empty cache) it goes straight through, and observers
    // see the server's messages in their exact order.
    // A resumed session sends only the difference: straight to the cache.
    resyncing = cache.stores_documents() && had_data && !resumed;
    if (resumed) resumes++;
    for (auto& [id, s] : subs) {
      if (resyncing) awaiting_ready.insert(id);
      Send(EncodeMessage(SubMsg{id, s.name, s.params}));
    }
    MaybeFinishResync();
    for (auto& [id, c] : calls) {
      if (!c.sent) SendCall(id, c);
    }
    StartHeartbeat(generation);
    if (on_connection) on_connection(true, absl::OkStatus());
  }

  void MaybeFinishResync() {
    if (!resyncing || !awaiting_ready.empty()) return;
    resyncing = false;
    std::lock_guard<std::recursive_mutex> lock(cache_mu);
    cache.ReplaceWith(std::move(fresh));
    fresh = Cache();
  }

  void SendCall(uint64_t id, PendingCall& c) {
    c.sent = true;
    Send(EncodeMessage(MethodMsg{c.method, c.params, StrCat(id), std::nullopt}));
  }

  void StartHeartbeat(uint64_t gen) {
    if (options.heartbeat_interval.count() <= 0) return;
    last_input = SteadyClock::now();
    ArmHeartbeat(gen);
  }

  void ArmHeartbeat(uint64_t gen) {
    SteadyTime due = ping_outstanding ? last_input + options.heartbeat_interval + options.heartbeat_timeout
                                      : last_input + options.heartbeat_interval;
    heartbeat.expires_at(due);
    heartbeat.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->generation || self->state != State::kConnected) return;
      SteadyTime now = SteadyClock::now();
      if (self->ping_outstanding &&
          now >= self->last_input + self->options.heartbeat_interval + self->options.heartbeat_timeout) {
        return self->Disconnected(absl::UnavailableError("heartbeat timeout"));
      }
      if (!self->ping_outstanding && now >= self->last_input + self->options.heartbeat_interval) {
        self->ping_outstanding = true;
        self->Send(EncodeMessage(PingMsg{}));
      }
      self->ArmHeartbeat(gen);
    });
  }

  void Disconnected(absl::Status why) {
    bool was_connected = state == State::kConnected;
    bool was_attempting = state == State::kConnecting || !url_status.ok();
    if (state != State::kStopped) state = State::kIdle;
    CloseStream();
    is_connected = false;
    resumed = false;
    if (urls.size() > 1) {
      // The next server: a node that went away is not tried again first.
      std::lock_guard<std::mutex> lock(url_mu);
      url_index = (url_index + 1) % urls.size();
      url = urls[url_index];
    }
    resyncing = false;
    fresh.Clear();
    // Calls sent on this connection: retried, completed with the result
    // they already have, or failed.
    std::vector<std::pair<CallCallback, absl::StatusOr<Value>>> finish;
    for (auto it = calls.begin(); it != calls.end();) {
      PendingCall& c = it->second;
      if (c.sent && c.result) {
        finish.emplace_back(std::move(c.done), std::move(*c.result));
        it = calls.erase(it);
      } else if (c.sent && !c.opts.retry_on_reconnect) {
        finish.emplace_back(std::move(c.done),
                            absl::UnavailableError(StrCat(
                                "connection lost before the result of '", c.method,
                                "' arrived; the method may or may not have run (", why.message(), ")")));
        it = calls.erase(it);
      } else {
        c.sent = false;
        c.updated = false;
        ++it;
      }
    }
    if (!options.auto_reconnect || state == State::kStopped || login_failed) {
      // No reconnect: nothing queued can be sent.
      for (auto& [id, c] : calls) {
        finish.emplace_back(std::move(c.done), absl::UnavailableError(StrCat("not connected: ", why.message())));
      }
      calls.clear();
    }
    for (auto& [done, result] : finish) {
      if (done) done(std::move(result));
    }
    if ((was_connected || was_attempting) && on_connection) on_connection(false, why);
    if (state == State::kStopped || !options.auto_reconnect || login_failed) return;
    // Exponential backoff with jitter.
    double base = static_cast<double>(options.reconnect_initial.count()) *
                  std::pow(2.0, std::min(attempt, 20));
    base = std::min(base, static_cast<double>(options.reconnect_max.count()));
    std::uniform_real_distribution<double> jitter(1 - options.reconnect_jitter, 1 + options.reconnect_jitter);
    auto delay = std::chrono::milliseconds(static_cast<int64_t>(base * jitter(rng)));
    ++attempt;
    uint64_t gen = generation;
    timer.expires_after(delay);
    timer.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->generation || self->state != State::kIdle) return;
      self->Connect();
    });
  }

  void Post(std::function<void()> fn) { asio::post(strand, std::move(fn)); }
};

Client::Client(ClientOptions options) : io_(options.io) {
  if (!io_) {
    io_ = std::make_shared<IoThreads>(1);
    own_io_ = true;
  }
  impl_ = std::make_shared<Impl>(io_->state_->ioc);
  impl_->options = std::move(options);
  impl_->options.io.reset();  // the Client holds it
  std::vector<std::string> urls = impl_->options.urls;
  if (urls.empty()) urls.push_back(impl_->options.url);
  for (const std::string& u : urls) {
    absl::StatusOr<Url> url = ParseUrl(u);
    if (!url.ok()) {
      impl_->url_status = url.status();
      break;
    }
    impl_->urls.push_back(*url);
  }
  if (impl_->url_status.ok()) impl_->url = impl_->urls[0];
  impl_->cache = Cache(impl_->options.store_documents);
  impl_->version = impl_->options.versions.empty() ? "1" : impl_->options.versions[0];
  if (impl_->options.ca_file.empty()) {
    impl_->ssl_ctx.set_default_verify_paths();
  } else {
    beast::error_code ec;
    impl_->ssl_ctx.load_verify_file(impl_->options.ca_file, ec);
    if (ec) impl_->url_status = absl::InvalidArgumentError(StrCat("ca_file: ", ec.message()));
  }
  impl_->ssl_ctx.set_verify_mode(impl_->options.verify_peer ? ssl::verify_peer : ssl::verify_none);
}

std::shared_ptr<Client> Client::Create(ClientOptions options) {
  return std::shared_ptr<Client>(new Client(std::move(options)));
}

Client::~Client() { Stop(); }

void Client::Start() {
  if (impl_->started.exchange(true)) return;
  impl_->Post([impl = impl_] { impl->Connect(); });
}

void Client::Stop() {
  if (!impl_->started || impl_->stop_requested.exchange(true)) return;
  std::promise<void> done;
  impl_->Post([impl = impl_, &done] {
    impl->state = Impl::State::kStopped;
    impl->SayDisconnect();
    impl->CloseStream();
    impl->is_connected = false;
    std::vector<CallCallback> pending;
    for (auto& [id, c] : impl->calls) pending.push_back(std::move(c.done));
    impl->calls.clear();
    for (auto& cb : pending) {
      if (cb) cb(absl::CancelledError("the client stopped"));
    }
    done.set_value();
  });
  done.get_future().wait();
  if (own_io_) io_->Shutdown();
}

bool Client::connected() const { return impl_->is_connected.load(); }

std::string Client::session_id() const {
  std::lock_guard<std::mutex> lock(impl_->session_mu);
  return impl_->session;
}

void Client::OnConnectionChange(std::function<void(bool, absl::Status)> fn) {
  impl_->Post([impl = impl_, fn = std::move(fn)]() mutable { impl->on_connection = std::move(fn); });
}

void Client::Call(std::string method, Array params, CallCallback done, CallOptions options) {
  impl_->Post([impl = impl_, method = std::move(method), params = std::move(params),
               done = std::move(done), options]() mutable {
    if (impl->state == Impl::State::kStopped) {
      if (done) done(absl::CancelledError("the client stopped"));
      return;
    }
    uint64_t id = impl->next_call++;
    Impl::PendingCall& c = impl->calls[id];
    c.method = std::move(method);
    c.params = std::move(params);
    c.done = std::move(done);
    c.opts = options;
    if (impl->state == Impl::State::kConnected) impl->SendCall(id, c);
  });
}

std::future<absl::StatusOr<Value>> Client::Call(std::string method, Array params,
                                                CallOptions options) {
  auto p = std::make_shared<std::promise<absl::StatusOr<Value>>>();
  std::future<absl::StatusOr<Value>> f = p->get_future();
  Call(std::move(method), std::move(params),
       [p](absl::StatusOr<Value> r) { p->set_value(std::move(r)); }, options);
  return f;
}

Client::SubscriptionId Client::Subscribe(std::string name, Array params,
                                         SubscriptionCallbacks callbacks) {
  SubscriptionId id = RandomId();
  impl_->Post([impl = impl_, id, name = std::move(name), params = std::move(params),
               callbacks = std::move(callbacks)]() mutable {
    if (impl->state == Impl::State::kStopped) return;
    Impl::Sub& s = impl->subs[id];
    s.name = std::move(name);
    s.params = std::move(params);
    s.callbacks = std::move(callbacks);
    if (impl->state == Impl::State::kConnected) {
      impl->Send(EncodeMessage(SubMsg{id, s.name, s.params}));
    }
  });
  return id;
}

void Client::Unsubscribe(const SubscriptionId& id) {
  impl_->Post([impl = impl_, id] {
    auto it = impl->subs.find(id);
    if (it == impl->subs.end()) return;
    if (impl->state == Impl::State::kConnected) {
      impl->Send(EncodeMessage(UnsubMsg{id}));
      return;  // the nosub completes it
    }
    SubscriptionCallbacks cb = std::move(it->second.callbacks);
    impl->subs.erase(it);
    if (cb.stopped) cb.stopped(absl::OkStatus());
  });
}

uint64_t Client::Observe(std::string collection, ObserveCallbacks callbacks) {
  std::lock_guard<std::recursive_mutex> lock(impl_->cache_mu);
  return impl_->cache.Observe(collection, std::move(callbacks));
}

void Client::Unobserve(uint64_t handle) {
  std::lock_guard<std::recursive_mutex> lock(impl_->cache_mu);
  impl_->cache.Unobserve(handle);
}

void Client::ReadCache(const std::function<void(const Cache&)>& fn) const {
  std::lock_guard<std::recursive_mutex> lock(impl_->cache_mu);
  fn(impl_->cache);
}

int64_t Client::connects() const { return impl_->connects.load(); }
int64_t Client::data_messages() const { return impl_->data_messages.load(); }
int64_t Client::resumes() const { return impl_->resumes.load(); }
std::string Client::current_url() const {
  std::lock_guard<std::mutex> lock(impl_->url_mu);
  const Url& u = impl_->url;
  return StrCat(u.tls ? "wss://" : "ws://", u.host, ":", u.port, u.path);
}

}  // namespace ddp

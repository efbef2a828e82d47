// One DDP-over-WebSocket connection: the Beast stream below, the Session
// above. Everything here runs on the connection's strand, except what is
// posted to a resumed session's strand (those lambdas only post back).
//
// Inbound: Beast does the handshake. Without permessage-deflate the
// connection then keeps only the socket and reads frames itself
// (ws_frame_reader.h) into a small buffer of its own, so that an idle
// connection holds no WebSocket stream state; with it, Beast reads (and
// inflates) every message.
//
// Outbound: a queue of shared messages bounded in bytes. Without
// permessage-deflate (the fast path) the connection frames messages itself
// and writes everything queued in one gathered write (see
// guarded_stream.h); with it, Beast compresses and writes one message at a
// time. Sends within one turn of the I/O loop (io_loop.h) are flushed
// together. Closing: the queue is flushed first (a slow consumer's queue is
// dropped instead), then the close handshake, with a deadline after which
// the socket is cut.
//
// Session resumption (session_directory.h): a session whose client went
// away is parked with the connection's strand, which stays open for it.
// A connection whose client takes a parked session back keeps serving the
// socket on its own strand and talks to the session, which stays on its
// own, by posting: messages and timer ticks go over, frames come back
// through a ForeignLink. Only resumed sessions pay for the posts.
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstring>
#include <cerrno>

#include "common/lazy_deque.h"
#include "common/string_map.h"
#include "common/strings.h"
#include "server/net/conflate.h"
#include "server/net/guarded_stream.h"
#include "server/net/internal.h"
#include "server/net/io_loop.h"
#include "server/net/ws_frame_reader.h"
#include "server/sockjs/framing.h"
#include "spdlog/spdlog.h"

namespace ddp::net_internal {
namespace {

// One gathered write carries at most this many messages / bytes (the
// kernel takes at most IOV_MAX = 1024 buffers, two per message).
constexpr size_t kMaxFramesPerWrite = 256;
constexpr size_t kMaxBytesPerWrite = 256 * 1024;

// Whether the client's upgrade request offers permessage-deflate. When it
// does not (or the server does not negotiate it), frames are plain and the
// connection may frame them itself.
bool OffersDeflate(const http::request<http::string_body>& request) {
  for (const auto& field : request) {
    if (beast::iequals(field.name_string(), "Sec-WebSocket-Extensions") &&
        field.value().find("permessage-deflate") != beast::string_view::npos) {
      return true;
    }
  }
  return false;
}

class WsConnection;

// The Transport a resumed session (on its own strand) sends through: each
// call is posted to the connection's strand. Outlives the connection as
// long as the session may still call it.
class ForeignLink : public Transport {
 public:
  ForeignLink(std::weak_ptr<WsConnection> conn, Strand strand)
      : conn_(std::move(conn)), strand_(std::move(strand)) {}
  void Send(std::shared_ptr<const std::string> frame) override;
  void Close(uint16_t code, std::string_view reason) override;
  void PauseReading() override;
  void ResumeReading() override;
  void NoteReplacement(std::string_view collection, std::string_view id) override;

 private:
  template <typename Fn>
  void OnConnection(Fn fn) {
    asio::post(strand_, [conn = conn_, fn = std::move(fn)]() mutable {
      if (auto c = conn.lock()) fn(*c);
    });
  }
  std::weak_ptr<WsConnection> conn_;
  Strand strand_;
};

class WsConnection : public std::enable_shared_from_this<WsConnection>,
                     public Transport,
                     public Closable,
                     public TurnFlushable {
 public:
  WsConnection(std::shared_ptr<Shared> shared, beast::tcp_stream stream, Strand strand,
               std::string remote_address, std::string ip)
      : shared_(std::move(shared)),
        ws_(std::make_unique<websocket::stream<GuardedStream>>(std::move(stream))),
        strand_(std::move(strand)),
        executor_(std::make_shared<StrandExecutor>(strand_, shared_->post_target)),
        timer_(strand_),
        remote_address_(std::move(remote_address)),
        ip_(std::move(ip)) {}
  // Before the io_context can go (see StrandExecutor). A parked session
  // keeps the strand; its directory entry closes it.
  ~WsConnection() override {
    if (!strand_parked_) executor_->Close();
    shared_->ReleaseIp(ip_);
  }

  void Start(http::request<http::string_body> request, std::string early) {
    const NetOptions& o = shared_->options;
    raw_frames_ = !o.permessage_deflate || !OffersDeflate(request);
    if (raw_frames_) {
      early_ = std::move(early);
    } else if (!early.empty()) {
      // Beast's stream takes no bytes read before it: they are dropped
      // (a conforming client sends none before the 101).
      spdlog::debug("websocket {}: {} bytes sent before the handshake answer dropped",
                    remote_address_, early.size());
    }
    sockjs_ = sockjs::IsFramedWebSocket(request.target().substr(0, request.target().find('?')));
    ws_->read_message_max(o.max_message_bytes);
    websocket::permessage_deflate pmd;
    pmd.server_enable = o.permessage_deflate;
    // Tiny frames cost more to compress than they save.
    pmd.msg_size_threshold = 256;
    ws_->set_option(pmd);
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = websocket::stream_base::none();  // DDP heartbeats do this
    timeouts.keep_alive_pings = false;
    ws_->set_option(timeouts);
    ws_->set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "ddpd"); }));
    ws_->async_accept(request, [self = shared_from_this()](beast::error_code ec) {
      self->OnAccept(ec);
    });
  }

  // Transport ---------------------------------------------------------

  void Send(std::shared_ptr<const std::string> message) override {
    if (closing_ || done_) return;
    if (sockjs_) {
      // Its own frame per connection; no conflation (it reads the DDP
      // message the frame now wraps).
      Enqueue(std::make_shared<const std::string>(sockjs::MessageFrame(*message)));
      return;
    }
    const size_t soft = shared_->options.outbound_soft_bytes;
    if (soft > 0 && queued_bytes_ + message->size() > soft && Conflate(message)) return;
    Enqueue(std::move(message));
  }

  void Enqueue(std::shared_ptr<const std::string> message) {
    if (closing_ || done_) return;
    if (queued_bytes_ + message->size() > shared_->options.outbound_queue_bytes) {
      SlowConsumer();
      return;
    }
    queued_bytes_ += message->size();
    Outbound& out = queue_.emplace_back();
    if (raw_frames_) {
      out.header_size = static_cast<uint8_t>(ServerFrameHeader(kOpText, message->size(), out.header));
    }
    out.message = std::move(message);
    Flush();
  }

  // Flush at the end of the I/O thread's turn (io_loop.h), so that
  // everything sent until then goes out in one write.
  void Flush() {
    if (writing_ || flush_posted_) return;
    flush_posted_ = true;
    if (!FlushAtEndOfTurn(shared_from_this())) {
      // Not on a loop thread: the end of this strand turn will do.
      asio::post(strand_, [self = shared_from_this()] { self->FlushNow(); });
    }
  }

  void FlushAtTurnEnd() override {
    asio::dispatch(strand_, [self = shared_from_this()] { self->FlushNow(); });
  }

  void FlushNow() {
    flush_posted_ = false;
    if (!writing_ && !queue_.empty() && !done_) DoWrite();
  }

  void Close(uint16_t code, std::string_view reason) override {
    BeginClose(code, std::string(reason), shared_->options.close_timeout);
  }

  void PauseReading() override { read_paused_ = true; }

  void ResumeReading() override {
    if (!read_paused_) return;
    read_paused_ = false;
    if (!reading_) DoRead();
  }

  void NoteReplacement(std::string_view collection, std::string_view id) override {
    if (!replacing_) replacing_ = std::make_unique<StringSet>();
    replacing_->insert(StrCat(collection, std::string_view("\0", 1), id));
  }

  bool Adopt(std::shared_ptr<Session> parked, std::function<void()> release) override {
    if (closing_ || done_) return false;
    // The calling session stays alive until OnText returns (it holds it).
    session_ = std::move(parked);
    foreign_ = true;
    foreign_release_ = std::move(release);
    link_ = std::make_shared<ForeignLink>(weak_from_this(), strand_);
    shared_->stats.sessions_resumed++;
    session_->strand()->Post([o = session_, link = link_, self = shared_from_this()] {
      o->Reattach(link.get(), SteadyClock::now());
      self->ArmFromSession(o->NextDeadline(), /*only_earlier=*/false);
    });
    return true;
  }

  // Closable ------------------------------------------------------------

  size_t queued_bytes() const override { return queued_bytes_.get(); }
  ConnectionSummary Summary() const override {
    return ConnectionSummary{remote_address_, sockjs_ ? "sockjs-websocket" : "websocket", 0};
  }

  void Rerun() override {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->done_ || self->closing_ || self->session_ == nullptr) return;
      std::shared_ptr<Session> s = self->session_;
      s->strand()->Post([s] { s->RerunSubscriptions(); });
    });
  }

  void Shutdown(uint16_t code, std::string reason) override {
    asio::post(strand_, [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      if (self->done_ || self->closing_) return;
      self->LoseSession(/*resumable=*/false);
      self->BeginClose(code, std::move(reason), self->shared_->options.shutdown_grace);
    });
  }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) {
      spdlog::debug("websocket handshake with {} failed: {}", remote_address_, ec.message());
      return;
    }
    if (raw_frames_) {
      // From here on the connection reads and writes frames itself: keep
      // the socket, let Beast's stream go.
      raw_.emplace(std::move(ws_->next_layer().next_layer()));
      ws_.reset();
      reader_.emplace(shared_->options.max_message_bytes);
      // Direct writes and the reads that drain the socket must never block
      // the strand's thread.
      beast::error_code ignored;
      Socket().non_blocking(true, ignored);
    }
    registered_ = shared_->Register(&id_, weak_from_this());
    shared_->stats.connections_open++;
    shared_->stats.sessions_total++;
    session_ = std::make_shared<Session>(shared_->options.session, shared_->registry, executor_,
                                         this, ConnectionInfo{"", remote_address_, "", nullptr},
                                         SteadyClock::now(), shared_->directory);
    if (!registered_) {
      // Shutdown began while we were shaking hands.
      session_->OnClosed();
      BeginClose(kCloseGoingAway, "server shutting down", shared_->options.close_timeout);
      DoRead();
      return;
    }
    if (sockjs_) {
      // SockJS: "o" opens the session, before anything the session sends.
      Enqueue(std::make_shared<const std::string>(sockjs::kOpenFrame));
      opened_ = true;
    }
    ArmTimer(session_->OnTimer(SteadyClock::now()));
    if (!early_.empty()) {
      // Frames that came with the request, before our 101: theirs first.
      std::string early = std::move(early_);
      Process(early);
      if (done_) return;
    }
    DoRead();
  }

  void DoRead() {
    if (done_ || reading_ || read_paused_) return;
    reading_ = true;
    if (raw_) {
      Socket().async_read_some(asio::buffer(read_buf_),
                               [self = shared_from_this()](beast::error_code ec, size_t n) {
                                 self->OnRawRead(ec, n);
                               });
      return;
    }
    ws_->async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

  // Raw path --------------------------------------------------------------

  void OnRawRead(beast::error_code ec, size_t n) {
    reading_ = false;
    if (lingering_) {
      // After the close: what the peer still sends is read and dropped
      // until it closes its side too (or the linger timer fires).
      if (ec) {
        timer_.cancel();
        beast::error_code ignored;
        Socket().close(ignored);
        return;
      }
      reading_ = true;
      Socket().async_read_some(asio::buffer(read_buf_),
                               [self = shared_from_this()](beast::error_code ec, size_t n) {
                                 self->OnRawRead(ec, n);
                               });
      return;
    }
    if (ec) {
      // The peer went away (or our own Finish closed the socket).
      if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
        spdlog::debug("websocket {} read: {}", remote_address_, ec.message());
      }
      peer_gone_ = true;
      Finish();
      return;
    }
    Process(std::string_view(read_buf_.data(), n));
    // A full buffer: more may be waiting. Drain it now, without another
    // operation (the socket is non-blocking) — unless the session asked to
    // pause reading (then the rest waits in the kernel, pushing back on the
    // client; at most one chunk more was taken).
    bool more = n == read_buf_.size();
    while (more && !done_ && !read_paused_) {
      char chunk[16 * 1024];
      size_t got = Socket().read_some(asio::buffer(chunk), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        peer_gone_ = true;
        Finish();
        return;
      }
      Process(std::string_view(chunk, got));
      more = got == sizeof chunk;
    }
    DoRead();
  }

  void Process(std::string_view bytes) {
    if (done_) return;
    shared_->stats.bytes_in += static_cast<int64_t>(bytes.size());
    WsError error = reader_->Feed(bytes, [this](const WsEvent& ev) { OnFrame(ev); });
    if (error.code != 0 && !done_ && !peer_closed_) {
      // Fail the connection (RFC 6455 7.1.7): our close frame, then the
      // socket; the reader accepts nothing more, so no answer is awaited.
      spdlog::debug("websocket {}: {} (closing with {})", remote_address_, error.reason, error.code);
      peer_closed_ = true;
      LoseSession(/*resumable=*/false);
      if (closing_) {
        if (!writing_ && queue_.empty()) DoClose();
      } else {
        BeginClose(error.code, std::move(error.reason), shared_->options.close_timeout);
      }
    }
  }

  void OnFrame(const WsEvent& ev) {
    if (done_) return;
    switch (ev.kind) {
      case WsEvent::Kind::kText:
        if (closing_) return;  // keep reading until the peer answers the close
        shared_->stats.messages_in++;
        OnText(ev.payload);
        return;
      case WsEvent::Kind::kBinary:
        if (closing_) return;
        shared_->stats.messages_in++;
        LoseSession(/*resumable=*/false);
        BeginClose(kCloseUnsupportedData, "binary frames are not supported",
                   shared_->options.close_timeout);
        return;
      case WsEvent::Kind::kPing:
        if (close_sent_) return;
        QueueControl(kOpPong, std::string(ev.payload));
        Flush();
        return;
      case WsEvent::Kind::kPong:
        return;
      case WsEvent::Kind::kClose:
        peer_closed_ = true;
        if (close_sent_) {
          Finish();  // the answer to our close
          return;
        }
        // The peer closes: answer with its code, drop what waits unsent.
        // Its session may wait for it to come back (it did not say
        // `disconnect`, or the session would be closed already).
        LoseSession(/*resumable=*/true);
        closing_ = true;
        close_reason_ = websocket::close_reason(
            static_cast<websocket::close_code>(ev.close_code == 1005 ? 1000 : ev.close_code));
        DropUnsent();
        ArmTimer(SteadyClock::now() + shared_->options.close_timeout);
        if (!writing_) DoClose();
        return;
    }
  }

  // Above the soft limit: merges `message` into the pending message about
  // the same document, if there is one that can take it (conflate.h), and
  // says so; otherwise it will be queued as it is, and becomes that
  // document's pending message.
  bool Conflate(const std::shared_ptr<const std::string>& message) {
    std::optional<DocKey> key = KeyOf(*message);
    if (!key) return false;
    if (!pending_docs_) pending_docs_ = std::make_unique<StringMap<uint64_t>>();
    auto it = pending_docs_->find(key->key);
    if (it != pending_docs_->end() && key->kind != DocKey::Kind::kOrdered &&
        it->second >= popped_ + in_flight_ && it->second < popped_ + queue_.size()) {
      Outbound& pending = queue_[it->second - popped_];
      Merged merged = Merge(*pending.message, *message);
      if (merged.kind == Merged::Kind::kReplace) {
        Replace(pending, std::move(merged.message));
        if (key->kind == DocKey::Kind::kRemoved) pending_docs_->erase(it);
        shared_->stats.messages_conflated++;
        return true;
      }
      if (merged.kind == Merged::Kind::kDropBoth && replacing_ && replacing_->contains(key->key)) {
        // The `added` replaced a document the client holds: the removal
        // must reach it.
        Replace(pending, message);
        pending_docs_->erase(it);
        replacing_->erase(key->key);
        shared_->stats.messages_conflated++;
        return true;
      }
      if (merged.kind == Merged::Kind::kDropBoth) {
        // The client never had the document: neither message goes.
        queued_bytes_ -= pending.message->size();
        pending.message = EmptyMessage();
        pending.dropped = true;
        pending_docs_->erase(it);
        shared_->stats.messages_conflated += 2;
        return true;
      }
    }
    if (key->kind == DocKey::Kind::kAdded || key->kind == DocKey::Kind::kChanged) {
      (*pending_docs_)[key->key] = popped_ + queue_.size();  // the seq it is queued at
    } else if (it != pending_docs_->end()) {
      pending_docs_->erase(it);  // nothing merges into a removal or across an ordered move
    }
    return false;
  }

  struct Outbound;  // below
  // A waiting (not in flight) message becomes `message`.
  void Replace(Outbound& pending, std::shared_ptr<const std::string> message) {
    queued_bytes_ += message->size();
    queued_bytes_ -= pending.message->size();
    pending.message = std::move(message);
    if (raw_frames_) {
      pending.header_size = static_cast<uint8_t>(
          ServerFrameHeader(kOpText, pending.message->size(), pending.header));
    }
  }

  static const std::shared_ptr<const std::string>& EmptyMessage() {
    static const auto* empty = new std::shared_ptr<const std::string>(
        std::make_shared<const std::string>());
    return *empty;
  }

  // A control frame goes in the same queue as messages (frames never
  // interleave on the wire), outside the outbound byte limit.
  void QueueControl(uint8_t opcode, std::string payload) {
    Outbound& out = queue_.emplace_back();
    out.header_size = static_cast<uint8_t>(ServerFrameHeader(opcode, payload.size(), out.header));
    out.message = std::make_shared<const std::string>(std::move(payload));
    queued_bytes_ += out.message->size();
  }

  // Drops the queued messages that are not being written.
  void DropUnsent() {
    while (queue_.size() > (writing_ ? in_flight_ : 0u)) {
      queued_bytes_ -= queue_.back().message->size();
      queue_.pop_back();
    }
    pending_docs_.reset();
  }

  // A text message from the client, on either path.
  void OnText(std::string_view text) {
    if (!sockjs_) {
      OnDdpText(text);
      return;
    }
    if (text.empty()) return;  // SockJS servers ignore empty frames
    absl::StatusOr<std::vector<std::string>> messages =
        sockjs::DecodeClientFrame(text, shared_->options.session.json_limits);
    if (!messages.ok()) {
      spdlog::debug("websocket {}: {}", remote_address_, ToStd(messages.status().message()));
      BeginClose(kCloseProtocolError, "broken SockJS framing", shared_->options.close_timeout);
      return;
    }
    for (const std::string& m : *messages) {
      if (closing_ || done_) return;
      OnDdpText(m);
    }
  }

  // One DDP message.
  void OnDdpText(std::string_view text) {
    if (foreign_) {
      session_->strand()->Post([o = session_, self = shared_from_this(), text = std::string(text),
                                now = SteadyClock::now()] {
        o->OnMessage(text, now);
        self->ArmFromSession(o->NextDeadline(), /*only_earlier=*/true);
      });
      return;
    }
    // Held here: the session may hand the client over to a parked one
    // (Adopt) while it handles this message.
    std::shared_ptr<Session> session = session_;
    session->OnMessage(text, SteadyClock::now());
    if (foreign_) return;
    if (!closing_ && !done_ && session->NextDeadline() < timer_at_) {
      ArmTimer(session->NextDeadline());
    }
  }

  // From a resumed session's strand: its next deadline.
  void ArmFromSession(SteadyTime next, bool only_earlier) {
    asio::post(strand_, [self = shared_from_this(), next, only_earlier] {
      if (self->done_ || self->closing_) return;
      if (only_earlier && next >= self->timer_at_) return;
      self->ArmTimer(next);
    });
  }

  // The connection no longer serves its session (any path; once).
  // `resumable`: the client went away on its own, without `disconnect`.
  void LoseSession(bool resumable) {
    if (session_ == nullptr || session_lost_) return;
    session_lost_ = true;
    const bool may_park = resumable && shared_->directory != nullptr;
    if (!foreign_) {
      std::function<void()> release = [executor = executor_] { executor->Close(); };
      if (session_->OnTransportLost(may_park, SteadyClock::now(), release)) {
        strand_parked_ = true;  // the directory entry closes it
        shared_->Delegated(session_, executor_);
      }
      return;
    }
    session_->strand()->Post(
        [o = session_, link = link_, may_park, release = foreign_release_]() mutable {
          if (!o->OnTransportLost(may_park, SteadyClock::now(), release) && release) release();
        });
  }

  GuardedStream& Out() { return raw_ ? *raw_ : ws_->next_layer(); }
  asio::ip::tcp::socket& Socket() { return Out().next_layer(); }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    if (ec) {
      // Closed by the peer, a protocol violation (Beast already sent 1007 /
      // 1009 / 1002 as appropriate), or our own close completing.
      if (ec != websocket::error::closed && ec != asio::error::operation_aborted) {
        spdlog::debug("websocket {} read: {}", remote_address_, ec.message());
      }
      // A protocol violation is not a client that went away: its session
      // ends, as on the raw path.
      if (ec != websocket::error::closed && ec != asio::error::eof &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted &&
          ec != beast::error::timeout) {
        LoseSession(/*resumable=*/false);
      }
      Finish();
      return;
    }
    if (closing_) {
      buffer_.consume(buffer_.size());
      DoRead();  // keep reading until the peer answers the close
      return;
    }
    shared_->stats.messages_in++;
    if (!ws_->got_text()) {
      buffer_.consume(buffer_.size());
      LoseSession(/*resumable=*/false);
      BeginClose(kCloseUnsupportedData, "binary frames are not supported",
                 shared_->options.close_timeout);
      DoRead();
      return;
    }
    auto data = buffer_.data();
    shared_->stats.bytes_in += static_cast<int64_t>(data.size());
    OnText(std::string_view(static_cast<const char*>(data.data()), data.size()));
    buffer_.consume(buffer_.size());
    // Most connections are idle most of the time: between messages they
    // hold no read buffer (one allocation per incoming message instead).
    buffer_.shrink_to_fit();
    DoRead();
  }

  void DoWrite() {
    writing_ = true;
    if (!raw_frames_) {
      // Beast frames (and compresses) one message per write. Messages a
      // conflation cancelled are not written.
      while (!queue_.empty() && queue_.front().dropped) {
        queue_.pop_front();
        ++popped_;
      }
      if (queue_.empty()) {
        writing_ = false;
        pending_docs_.reset();
        if (closing_) DoClose();
        return;
      }
      in_flight_ = 1;
      ws_->text(true);
      ws_->async_write(asio::buffer(*queue_.front().message),
                      [self = shared_from_this()](beast::error_code ec, size_t n) {
                        self->OnWrite(ec, n);
                      });
      return;
    }
    while (true) {
      // Two iovecs per frame (header, shared message), every frame in one
      // call: asio's write_some would pass at most 64 buffers per sendmsg.
      std::array<iovec, 2 * kMaxFramesPerWrite> iov;
      size_t count = 0, bytes = 0;
      in_flight_ = 0;
      for (const Outbound& out : queue_) {
        if (in_flight_ == kMaxFramesPerWrite ||
            (in_flight_ > 0 && bytes + out.message->size() > kMaxBytesPerWrite)) {
          break;
        }
        if (out.dropped) {  // cancelled by a conflation: nothing on the wire
          ++in_flight_;
          continue;
        }
        iov[count++] = {const_cast<char*>(out.header), out.header_size};
        iov[count++] = {const_cast<char*>(out.message->data()), out.message->size()};
        bytes += out.header_size + out.message->size();
        ++in_flight_;
      }
      // The fast path: nothing else is writing, so try the socket now
      // (non-blocking). When the kernel takes everything, which it
      // usually does, the write is over without an operation, a handler
      // or a post; the rest of a partial write goes the asynchronous way.
      size_t written = 0;
      if (!Out().busy()) {
        // Small frames are copied into one contiguous buffer for the
        // kernel: it copies a few hundred tiny iovec segments far slower
        // than one large one (S1: the kernel's copy was 27% of the server's
        // CPU). The buffer is the I/O thread's, so idle connections hold
        // nothing; the asynchronous path below uses the queue's own buffers.
        std::array<iovec, 2 * kMaxFramesPerWrite> packed;
        msghdr msg{};
        msg.msg_iov = packed.data();
        msg.msg_iovlen = Pack(iov.data(), count, packed.data());
        ssize_t n = ::sendmsg(Socket().native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          OnWrite(beast::error_code(errno, boost::system::system_category()), 0);
          return;
        }
        written = n < 0 ? 0 : static_cast<size_t>(n);
        if (written == bytes) {
          Written(bytes);
          if (queue_.empty()) {
            writing_ = false;
            if (closing_) DoClose();
            return;
          }
          continue;
        }
      }
      std::vector<asio::const_buffer> buffers;
      buffers.reserve(count);
      for (size_t i = 0; i < count; ++i) buffers.emplace_back(iov[i].iov_base, iov[i].iov_len);
      ConsumeBuffers(buffers, written);
      Out().WriteGathered(
          std::move(buffers), [self = shared_from_this(), written](beast::error_code ec, size_t n) {
            self->OnWrite(ec, written + n);
          });
      return;
    }
  }

  // Writes `in` (count segments) to `out` with runs of small segments
  // copied into the thread's scratch buffer as one segment each; returns
  // the number of segments in `out`. Segments of kCopyBelow bytes or more
  // stay where they are.
  static size_t Pack(const iovec* in, size_t count, iovec* out) {
    constexpr size_t kCopyBelow = 2048;
    thread_local std::unique_ptr<char[]> scratch(new char[kMaxBytesPerWrite + 2 * kCopyBelow +
                                                          14 * kMaxFramesPerWrite]);
    char* end = scratch.get();
    size_t n = 0;
    bool in_run = false;  // out[n - 1] is a run in the scratch buffer
    for (size_t i = 0; i < count; ++i) {
      const size_t len = in[i].iov_len;
      if (len >= kCopyBelow) {
        out[n++] = in[i];
        in_run = false;
        continue;
      }
      if (!in_run) {
        out[n++] = {end, 0};
        in_run = true;
      }
      std::memcpy(end, in[i].iov_base, len);
      end += len;
      out[n - 1].iov_len += len;
    }
    return n;
  }

  // Drops the first `n` bytes of `buffers`.
  static void ConsumeBuffers(std::vector<asio::const_buffer>& buffers, size_t n) {
    if (n == 0) return;
    size_t i = 0;
    while (i < buffers.size() && n >= buffers[i].size()) n -= buffers[i++].size();
    buffers.erase(buffers.begin(), buffers.begin() + static_cast<std::ptrdiff_t>(i));
    if (n > 0) buffers.front() += n;
  }

  // The `in_flight_` frames at the head of the queue are on the wire.
  void Written(size_t bytes) {
    shared_->stats.bytes_out += static_cast<int64_t>(bytes);
    int64_t sent = 0;
    for (; in_flight_ > 0; --in_flight_) {
      sent += !queue_.front().dropped;
      queued_bytes_ -= queue_.front().message->size();
      queue_.pop_front();
      ++popped_;
    }
    shared_->stats.messages_out += sent;
    if (queue_.empty()) {  // caught up: nothing to merge into
      pending_docs_.reset();
      replacing_.reset();
    }
  }

  void OnWrite(beast::error_code ec, size_t bytes) {
    writing_ = false;
    if (done_) return;  // Finish() already dropped the queue
    if (ec) {
      Finish();
      return;
    }
    Written(bytes);
    if (!queue_.empty()) {
      DoWrite();
    } else if (closing_) {
      DoClose();
    }
  }

  void SlowConsumer() {
    shared_->stats.slow_consumer_closes++;
    spdlog::warn("closing {} (session {}): slow consumer, outbound queue above {} bytes",
                 remote_address_, session_ ? session_->session_id() : "",
                 shared_->options.outbound_queue_bytes);
    // Drop what waits; a write in flight must finish first.
    DropUnsent();
    LoseSession(/*resumable=*/false);
    BeginClose(kCloseSlowConsumer, "slow consumer", shared_->options.close_timeout);
  }

  // Flush the queue, then close; cut the socket if that takes longer than
  // `deadline`.
  void BeginClose(uint16_t code, std::string reason, Duration deadline) {
    if (closing_ || done_) return;
    // SockJS: the close frame, then the WebSocket close.
    if (sockjs_ && opened_) Enqueue(std::make_shared<const std::string>(sockjs::CloseFrame(code, reason)));
    closing_ = true;
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    ArmTimer(SteadyClock::now() + deadline);
    if (!writing_ && queue_.empty()) DoClose();
  }

  void DoClose() {
    if (done_) return;
    if (close_sent_) {
      // Raw path, our close frame is written: done if the peer's came too.
      if (raw_ && peer_closed_ && !writing_ && queue_.empty()) Finish();
      return;
    }
    close_sent_ = true;
    if (raw_) {
      std::string payload;
      const auto code = static_cast<uint16_t>(close_reason_.code);
      payload.push_back(static_cast<char>(code >> 8));
      payload.push_back(static_cast<char>(code & 0xFF));
      payload.append(close_reason_.reason.data(), std::min<size_t>(close_reason_.reason.size(), 123));
      QueueControl(kOpClose, std::move(payload));
      DoWrite();
      return;
    }
    ws_->async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
      if (ec && ec != asio::error::operation_aborted) {
        spdlog::debug("websocket {} close: {}", self->remote_address_, ec.message());
      }
      self->Finish();
    });
  }

  void ArmTimer(SteadyTime at) {
    timer_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec == asio::error::operation_aborted || self->done_) return;
      if (self->closing_) {
        // The close did not complete in time: cut the connection.
        beast::error_code ignored;
        self->Socket().close(ignored);
        self->Finish();
        return;
      }
      if (self->foreign_) {
        self->session_->strand()->Post([o = self->session_, self] {
          self->ArmFromSession(o->OnTimer(SteadyClock::now()), /*only_earlier=*/false);
        });
        return;
      }
      self->ArmTimer(self->session_->OnTimer(SteadyClock::now()));
    });
  }

  // The connection is over (any path). Idempotent.
  void Finish() {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    // The socket went (or a close completed): if the session is still
    // there, its client left without `disconnect` and may come back.
    LoseSession(/*resumable=*/true);
    if (raw_ && !peer_gone_) {
      // A lingering close (RFC 6455 7.1.1: the server closes TCP first):
      // our FIN goes now, and what the peer still sends is drained before
      // the socket closes. Closing with unread bytes would send a RST,
      // which can make the peer's kernel drop our close frame unread.
      beast::error_code ignored;
      Socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      lingering_ = true;
      timer_.expires_after(kLinger);
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec == asio::error::operation_aborted) return;
        beast::error_code ignored;
        self->Socket().close(ignored);
      });
      if (!reading_) OnRawRead(beast::error_code(), 0);
    } else if (raw_ || !close_sent_) {
      beast::error_code ignored;
      Socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      Socket().close(ignored);
    }
    if (id_ != 0) shared_->Unregister(id_);
    if (session_) shared_->stats.connections_open--;
    queue_.clear();
    pending_docs_.reset();
    replacing_.reset();
    queued_bytes_ = 0;
  }

  // A message waiting to be written, with its frame header on the fast path.
  struct Outbound {
    std::shared_ptr<const std::string> message;
    char header[10];
    uint8_t header_size = 0;
    bool dropped = false;  // cancelled by a conflation (message empty)
  };
  static constexpr uint8_t kOpText = 0x1, kOpClose = 0x8, kOpPong = 0xA;

  std::shared_ptr<Shared> shared_;
  // Beast's stream: the handshake, and every read and write of a connection
  // with permessage-deflate. Released after the handshake otherwise.
  std::unique_ptr<websocket::stream<GuardedStream>> ws_;
  std::optional<GuardedStream> raw_;       // the socket, once Beast's stream is gone
  std::optional<WsFrameReader> reader_;    // with raw_
  std::array<char, 256> read_buf_;         // raw reads (more is drained at once)
  Strand strand_;
  std::shared_ptr<StrandExecutor> executor_;
  asio::steady_timer timer_;
  SteadyTime timer_at_;
  std::string remote_address_;
  std::string ip_;  // admitted by Shared::AdmitIp, released when we go
  beast::flat_buffer buffer_;
  std::shared_ptr<Session> session_;
  // Session resumption: session_ is a parked session this connection took
  // over (it runs on its own strand; see Adopt).
  bool foreign_ = false;
  std::shared_ptr<ForeignLink> link_;
  std::function<void()> foreign_release_;
  bool session_lost_ = false;
  bool strand_parked_ = false;  // our session, parked, keeps executor_

  // Stable addresses (write buffers point into it), and no memory while
  // empty: an idle connection holds no queue.
  LazyDeque<Outbound> queue_;
  SingleWriterSize queued_bytes_;
  size_t in_flight_ = 0;  // messages at the front of queue_ being written
  // Conflation (above outbound_soft_bytes): messages popped off the front
  // so far (queue_[i] is message number popped_ + i), and per document the
  // number of its pending data message. Null unless backlogged.
  uint64_t popped_ = 0;
  std::unique_ptr<StringMap<uint64_t>> pending_docs_;
  // Documents whose `added` replaces one the client holds (NoteReplacement).
  std::unique_ptr<StringSet> replacing_;
  bool raw_frames_ = false;
  bool sockjs_ = false;   // /sockjs/<server>/<session>/websocket: SockJS framing
  bool opened_ = false;   // the SockJS "o" frame is queued
  bool flush_posted_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool read_paused_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool peer_closed_ = false;  // raw path: the peer's close frame arrived
  bool peer_gone_ = false;    // raw path: its socket ended (EOF or error)
  std::string early_;         // raw path: bytes read with the request (Start)
  bool lingering_ = false;    // raw path: closed, draining until the peer's FIN
  // How long a closed connection drains what its peer still sends.
  static constexpr auto kLinger = std::chrono::seconds(2);
  bool done_ = false;
  bool registered_ = false;
  uint64_t id_ = 0;
  websocket::close_reason close_reason_;
};

void ForeignLink::Send(std::shared_ptr<const std::string> frame) {
  OnConnection([frame = std::move(frame)](WsConnection& c) mutable { c.Send(std::move(frame)); });
}
void ForeignLink::Close(uint16_t code, std::string_view reason) {
  OnConnection([code, reason = std::string(reason)](WsConnection& c) { c.Close(code, reason); });
}
void ForeignLink::PauseReading() {
  OnConnection([](WsConnection& c) { c.PauseReading(); });
}
void ForeignLink::ResumeReading() {
  OnConnection([](WsConnection& c) { c.ResumeReading(); });
}
void ForeignLink::NoteReplacement(std::string_view collection, std::string_view id) {
  OnConnection([collection = std::string(collection), id = std::string(id)](WsConnection& c) {
    c.NoteReplacement(collection, id);
  });
}

}  // namespace

void StartWebSocket(std::shared_ptr<Shared> shared, beast::tcp_stream stream, Strand strand,
                    http::request<http::string_body> request, std::string remote_address,
                    std::string ip, std::string early) {
  auto conn = std::make_shared<WsConnection>(std::move(shared), std::move(stream),
                                             std::move(strand), std::move(remote_address),
                                             std::move(ip));
  conn->Start(std::move(request), std::move(early));
}

}  // namespace ddp::net_internal

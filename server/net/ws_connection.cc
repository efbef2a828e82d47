// One DDP-over-WebSocket connection: the Beast stream below, the Session
// above. Everything here runs on the connection's strand.
//
// Outbound: a queue of shared frames bounded in bytes, one async_write in
// flight. Closing: the queue is flushed first (a slow consumer's queue is
// dropped instead), then the close handshake, with a deadline after which
// the socket is cut.
#include <deque>

#include "server/net/internal.h"
#include "spdlog/spdlog.h"

namespace ddp::net_internal {
namespace {

constexpr size_t kShrinkReadBufferAbove = 64 * 1024;

class WsConnection : public std::enable_shared_from_this<WsConnection>,
                     public Transport,
                     public Closable {
 public:
  WsConnection(std::shared_ptr<Shared> shared, beast::tcp_stream stream, Strand strand,
               std::string remote_address)
      : shared_(std::move(shared)),
        ws_(std::move(stream)),
        strand_(std::move(strand)),
        executor_(std::make_shared<StrandExecutor>(strand_)),
        timer_(strand_),
        remote_address_(std::move(remote_address)) {}
  // Before the io_context can go (see StrandExecutor).
  ~WsConnection() override { executor_->Close(); }

  void Start(http::request<http::string_body> request) {
    const NetOptions& o = shared_->options;
    ws_.read_message_max(o.max_message_bytes);
    websocket::permessage_deflate pmd;
    pmd.server_enable = o.permessage_deflate;
    // Tiny frames cost more to compress than they save.
    pmd.msg_size_threshold = 256;
    ws_.set_option(pmd);
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = websocket::stream_base::none();  // DDP heartbeats do this
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "ddpd"); }));
    ws_.async_accept(request, [self = shared_from_this()](beast::error_code ec) {
      self->OnAccept(ec);
    });
  }

  // Transport ---------------------------------------------------------

  void Send(std::shared_ptr<const std::string> frame) override {
    if (closing_ || done_) return;
    if (queued_bytes_ + frame->size() > shared_->options.outbound_queue_bytes) {
      SlowConsumer();
      return;
    }
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    if (!writing_) DoWrite();
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

  // Closable ------------------------------------------------------------

  void Shutdown(uint16_t code, std::string reason) override {
    asio::post(strand_, [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      if (self->done_ || self->closing_) return;
      if (self->session_) self->session_->OnClosed();
      self->BeginClose(code, std::move(reason), self->shared_->options.shutdown_grace);
    });
  }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) {
      spdlog::debug("websocket handshake with {} failed: {}", remote_address_, ec.message());
      return;
    }
    registered_ = shared_->Register(&id_, weak_from_this());
    shared_->stats.connections_open++;
    shared_->stats.sessions_total++;
    session_ = std::make_shared<Session>(shared_->options.session, shared_->registry, executor_,
                                         this, ConnectionInfo{"", remote_address_, ""},
                                         SteadyClock::now());
    if (!registered_) {
      // Shutdown began while we were shaking hands.
      session_->OnClosed();
      BeginClose(kCloseGoingAway, "server shutting down", shared_->options.close_timeout);
      DoRead();
      return;
    }
    ArmTimer(session_->OnTimer(SteadyClock::now()));
    DoRead();
  }

  void DoRead() {
    if (done_ || reading_ || read_paused_) return;
    reading_ = true;
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    if (ec) {
      // Closed by the peer, a protocol violation (Beast already sent 1007 /
      // 1009 / 1002 as appropriate), or our own close completing.
      if (ec != websocket::error::closed && ec != asio::error::operation_aborted) {
        spdlog::debug("websocket {} read: {}", remote_address_, ec.message());
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
    if (!ws_.got_text()) {
      buffer_.consume(buffer_.size());
      if (session_) session_->OnClosed();
      BeginClose(kCloseUnsupportedData, "binary frames are not supported",
                 shared_->options.close_timeout);
      DoRead();
      return;
    }
    auto data = buffer_.data();
    std::string_view text(static_cast<const char*>(data.data()), data.size());
    session_->OnMessage(text, SteadyClock::now());
    if (!closing_ && !done_ && session_->NextDeadline() < timer_at_) {
      ArmTimer(session_->NextDeadline());
    }
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > kShrinkReadBufferAbove) buffer_.shrink_to_fit();
    DoRead();
  }

  void DoWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t n) {
                      self->OnWrite(ec, n);
                    });
  }

  void OnWrite(beast::error_code ec, size_t bytes) {
    writing_ = false;
    if (ec) {
      Finish();
      return;
    }
    shared_->stats.messages_out++;
    shared_->stats.bytes_out += static_cast<int64_t>(bytes);
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
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
    while (queue_.size() > (writing_ ? 1u : 0u)) {
      queued_bytes_ -= queue_.back()->size();
      queue_.pop_back();
    }
    if (session_) session_->OnClosed();
    BeginClose(kCloseSlowConsumer, "slow consumer", shared_->options.close_timeout);
  }

  // Flush the queue, then close; cut the socket if that takes longer than
  // `deadline`.
  void BeginClose(uint16_t code, std::string reason, Duration deadline) {
    if (closing_ || done_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    ArmTimer(SteadyClock::now() + deadline);
    if (!writing_ && queue_.empty()) DoClose();
  }

  void DoClose() {
    if (close_sent_ || done_) return;
    close_sent_ = true;
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
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
        beast::get_lowest_layer(self->ws_).socket().close(ignored);
        self->Finish();
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
    if (session_) session_->OnClosed();
    if (!close_sent_) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
    }
    if (id_ != 0) shared_->Unregister(id_);
    if (session_) shared_->stats.connections_open--;
    queue_.clear();
    queued_bytes_ = 0;
  }

  std::shared_ptr<Shared> shared_;
  websocket::stream<beast::tcp_stream> ws_;
  Strand strand_;
  std::shared_ptr<StrandExecutor> executor_;
  asio::steady_timer timer_;
  SteadyTime timer_at_;
  std::string remote_address_;
  beast::flat_buffer buffer_;
  std::shared_ptr<Session> session_;

  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  bool read_paused_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool done_ = false;
  bool registered_ = false;
  uint64_t id_ = 0;
  websocket::close_reason close_reason_;
};

}  // namespace

void StartWebSocket(std::shared_ptr<Shared> shared, beast::tcp_stream stream, Strand strand,
                    http::request<http::string_body> request, std::string remote_address) {
  auto conn = std::make_shared<WsConnection>(std::move(shared), std::move(stream),
                                             std::move(strand), std::move(remote_address));
  conn->Start(std::move(request));
}

}  // namespace ddp::net_internal

// TLS on ddpd's port (wss://, https://).
//
// Why a relay and not TLS inside the connections: the WebSocket path writes
// frames to the socket itself (one fan-out frame shared by every
// subscriber, gathered sendmsg; ws_connection.cc), which an encrypting
// stream would have to copy and encrypt per connection anyway. So a TLS
// connection is decrypted here and its plaintext crosses a socket pair to
// the same HTTP/WebSocket code a plain connection gets, with the client's
// own address. The cost: two more descriptors per TLS connection and one
// copy each way through the kernel, next to the encryption itself.
//
// The relay pumps both directions on one strand with one buffer each, and
// reads no more from a side until the other has taken what it read: a
// client that stops reading backs up the pair, then the connection's
// outbound queue, where the slow-consumer rules apply as for plain clients.
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "boost/asio/local/stream_protocol.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core/detect_ssl.hpp"
#include "boost/beast/ssl.hpp"
#include "common/strings.h"
#include "server/net/internal.h"
#include "spdlog/spdlog.h"

namespace ddp::net_internal {
namespace {

namespace ssl = asio::ssl;
using local = asio::local::stream_protocol;

class TlsRelay : public std::enable_shared_from_this<TlsRelay> {
 public:
  TlsRelay(std::shared_ptr<Shared> shared, beast::tcp_stream stream, Strand strand,
           std::shared_ptr<ssl::context> context, std::string remote_address, std::string ip)
      : shared_(std::move(shared)),
        context_(std::move(context)),
        tls_(std::move(stream), *context_),
        inner_(strand),
        strand_(std::move(strand)),
        remote_address_(std::move(remote_address)),
        ip_(std::move(ip)) {}

  void Start(beast::flat_buffer buffered) {
    buffered_ = std::move(buffered);
    beast::get_lowest_layer(tls_).expires_after(shared_->options.http_idle_timeout);
    // Variadic: Boost 1.81's ssl_stream checks a buffered handshake's
    // handler against void(error_code) but calls it with (error_code, size_t).
    tls_.async_handshake(
        ssl::stream_base::server, buffered_.data(),
        [self = shared_from_this()](beast::error_code ec, auto...) { self->OnHandshake(ec); });
  }

 private:
  void OnHandshake(beast::error_code ec) {
    if (ec) {
      spdlog::debug("tls handshake with {} failed: {}", remote_address_, ec.message());
      return;
    }
    beast::get_lowest_layer(tls_).expires_never();
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      spdlog::warn("tls {}: socketpair: {}", remote_address_, std::strerror(errno));
      return;
    }
    inner_.assign(local(), fds[0], ec);
    // The server side of the pair is handed over as a stream socket: the
    // HTTP and WebSocket code only reads, writes and shuts it down.
    Strand strand = asio::make_strand(*shared_->ioc);
    tcp::socket plain(strand);
    beast::error_code ec2;
    plain.assign(tcp::v4(), fds[1], ec2);
    if (ec || ec2) {
      spdlog::warn("tls {}: socket pair: {}", remote_address_, (ec ? ec : ec2).message());
      // Whichever end was not taken over is closed here; the other closes
      // with its socket object.
      if (ec) ::close(fds[0]);
      if (ec2) ::close(fds[1]);
      return;
    }
    StartHttp(shared_, std::move(plain), std::move(strand), remote_address_, ip_, {});
    ReadClient();
    ReadServer();
  }

  // Client -> server.
  void ReadClient() {
    tls_.async_read_some(asio::buffer(up_),
                         [self = shared_from_this()](beast::error_code ec, size_t n) {
                           if (ec) {
                             // The client went (with or without close_notify): the server side
                             // sees the end of its input.
                             beast::error_code ignored;
                             self->inner_.shutdown(local::socket::shutdown_send, ignored);
                             return;
                           }
                           asio::async_write(self->inner_, asio::buffer(self->up_, n),
                                             [self](beast::error_code ec, size_t) {
                                               if (ec) return self->Cut();
                                               self->ReadClient();
                                             });
                         });
  }

  // Server -> client.
  void ReadServer() {
    inner_.async_read_some(
        asio::buffer(down_), [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) {
            // The server side closed: say close_notify, then let the socket go.
            beast::get_lowest_layer(self->tls_).expires_after(self->shared_->options.close_timeout);
            self->tls_.async_shutdown([self](beast::error_code) { self->Cut(); });
            return;
          }
          asio::async_write(self->tls_, asio::buffer(self->down_, n),
                            [self](beast::error_code ec, size_t) {
                              if (ec) return self->Cut();
                              self->ReadServer();
                            });
        });
  }

  void Cut() {
    beast::error_code ignored;
    beast::get_lowest_layer(tls_).socket().close(ignored);
    inner_.close(ignored);
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<ssl::context> context_;
  beast::ssl_stream<beast::tcp_stream> tls_;
  local::socket inner_;
  Strand strand_;
  const std::string remote_address_;
  const std::string ip_;
  beast::flat_buffer buffered_;
  std::array<char, 16 * 1024> up_;
  std::array<char, 16 * 1024> down_;
};

// Looks at the first bytes: a TLS ClientHello goes to the relay; anything
// else is served plain or told to use TLS.
class Detector : public std::enable_shared_from_this<Detector> {
 public:
  Detector(std::shared_ptr<Shared> shared, tcp::socket socket, Strand strand,
           std::shared_ptr<ssl::context> context)
      : shared_(std::move(shared)),
        remote_address_(RemoteAddress(socket)),
        ip_(RemoteIp(socket)),
        stream_(std::move(socket)),
        strand_(std::move(strand)),
        context_(std::move(context)) {}

  void Start() {
    stream_.expires_after(shared_->options.http_idle_timeout);
    beast::async_detect_ssl(
        stream_, buffer_,
        [self = shared_from_this()](beast::error_code ec, bool tls) { self->OnDetect(ec, tls); });
  }

 private:
  void OnDetect(beast::error_code ec, bool tls) {
    if (ec) return;
    if (tls) {
      std::make_shared<TlsRelay>(shared_, std::move(stream_), strand_, std::move(context_),
                                 remote_address_, ip_)
          ->Start(std::move(buffer_));
      return;
    }
    stream_.expires_never();
    if (shared_->options.tls_allow_plain) {
      StartHttp(shared_, stream_.release_socket(), strand_, remote_address_, ip_,
                std::move(buffer_));
      return;
    }
    static const std::string kRefusal = [] {
      std::string body = R"({"error":400,"reason":"this port speaks TLS: use https:// or wss://"})";
      return StrCat(
          "HTTP/1.1 400 Bad Request\r\nServer: ddpd\r\nContent-Type: application/json\r\n"
          "Connection: close\r\nContent-Length: ",
          body.size(), "\r\n\r\n", body);
    }();
    stream_.expires_after(shared_->options.close_timeout);
    asio::async_write(stream_, asio::buffer(kRefusal),
                      [self = shared_from_this()](beast::error_code, size_t) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  std::shared_ptr<Shared> shared_;
  const std::string remote_address_;
  const std::string ip_;
  beast::tcp_stream stream_;
  Strand strand_;
  std::shared_ptr<ssl::context> context_;
  beast::flat_buffer buffer_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<ssl::context>> LoadTlsContext(const std::string& cert_file,
                                                             const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a key file");
  }
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  if (!ec) context->use_certificate_chain_file(cert_file, ec);
  if (ec)
    return absl::InvalidArgumentError(StrCat("TLS certificate '", cert_file, "': ", ec.message()));
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError(StrCat("TLS key '", key_file, "': ", ec.message()));
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return absl::InvalidArgumentError(
        StrCat("TLS key '", key_file, "' does not belong to the certificate '", cert_file, "'"));
  }
  return context;
}

void StartTlsPort(std::shared_ptr<Shared> shared, tcp::socket socket, Strand strand,
                  std::shared_ptr<ssl::context> context) {
  std::make_shared<Detector>(std::move(shared), std::move(socket), std::move(strand),
                             std::move(context))
      ->Start();
}

}  // namespace ddp::net_internal

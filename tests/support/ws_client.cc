#include "tests/support/ws_client.h"

#include <thread>

#include "boost/asio.hpp"
#include "boost/beast.hpp"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WsClient::Impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  std::deque<std::string> inbox;
  bool reading = false;
  bool want_reading = true;
  bool closed = false;
  int pongs = 0;
  beast::error_code error;
  CloseInfo close;

  void StartRead() {
    if (reading || closed || !want_reading) return;
    reading = true;
    ws.async_read(buffer, [this](beast::error_code ec, size_t) {
      reading = false;
      if (ec) {
        closed = true;
        error = ec;
        close.code = ws.reason().code;
        close.reason = std::string(ws.reason().reason.c_str());
        return;
      }
      auto data = buffer.data();
      inbox.emplace_back(static_cast<const char*>(data.data()), data.size());
      buffer.consume(buffer.size());
      StartRead();
    });
  }

  // Runs the event loop until `done()` or the deadline.
  bool RunUntil(const std::function<bool()>& done, milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      ioc.restart();
      ioc.run_one_for(deadline - now);
    }
    return true;
  }
};

WsClient::WsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsClient::~WsClient() {
  if (!impl_->closed) {
    beast::error_code ignored;
    beast::get_lowest_layer(impl_->ws).socket().close(ignored);
  }
}

absl::StatusOr<std::unique_ptr<WsClient>> WsClient::Open(Options options) {
  auto impl = std::make_unique<Impl>();
  beast::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(options.host, ec), options.port);
  if (ec) return absl::InvalidArgumentError(ec.message());
  beast::get_lowest_layer(impl->ws).expires_after(kWait);
  beast::get_lowest_layer(impl->ws).socket().connect(ep, ec);
  if (ec) return absl::UnavailableError(StrCat("connect: ", ec.message()));
  if (options.deflate) {
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    impl->ws.set_option(pmd);
  }
  impl->ws.read_message_max(64 << 20);
  impl->ws.handshake(StrCat(options.host, ":", options.port), options.path, ec);
  if (ec) return absl::UnavailableError(StrCat("handshake: ", ec.message()));
  beast::get_lowest_layer(impl->ws).expires_never();
  impl->ws.control_callback([raw = impl.get()](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) raw->pongs++;
  });
  impl->want_reading = !options.manual_read;
  impl->StartRead();
  return std::unique_ptr<WsClient>(new WsClient(std::move(impl)));
}

absl::Status WsClient::Send(std::string_view text) {
  beast::error_code ec;
  impl_->ws.text(true);
  bool done = false;
  impl_->ws.async_write(asio::buffer(text.data(), text.size()),
                        [&](beast::error_code e, size_t) {
                          ec = e;
                          done = true;
                        });
  if (!impl_->RunUntil([&] { return done; }, kWait)) {
    return absl::DeadlineExceededError("write timed out");
  }
  if (ec) return absl::UnavailableError(StrCat("write: ", ec.message()));
  return absl::OkStatus();
}

absl::Status WsClient::SendBinary(std::string_view bytes) {
  beast::error_code ec;
  impl_->ws.binary(true);
  bool done = false;
  impl_->ws.async_write(asio::buffer(bytes.data(), bytes.size()),
                        [&](beast::error_code e, size_t) {
                          ec = e;
                          done = true;
                        });
  impl_->RunUntil([&] { return done; }, kWait);
  impl_->ws.text(true);
  if (ec) return absl::UnavailableError(ec.message());
  return absl::OkStatus();
}

absl::Status WsClient::Ping(std::string_view payload) {
  beast::error_code ec;
  bool done = false;
  impl_->ws.async_ping(websocket::ping_data(payload.data(), payload.size()), [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  if (!impl_->RunUntil([&] { return done; }, kWait)) {
    return absl::DeadlineExceededError("ping timed out");
  }
  if (ec) return absl::UnavailableError(StrCat("ping: ", ec.message()));
  return absl::OkStatus();
}

int WsClient::pongs() const { return impl_->pongs; }

absl::StatusOr<std::string> WsClient::Read(milliseconds timeout) {
  impl_->StartRead();
  impl_->RunUntil([&] { return !impl_->inbox.empty() || impl_->closed; }, timeout);
  if (!impl_->inbox.empty()) {
    std::string s = std::move(impl_->inbox.front());
    impl_->inbox.pop_front();
    return s;
  }
  if (impl_->closed) {
    closed_ = true;
    return absl::UnavailableError(StrCat("closed: ", impl_->error.message(), " (code ",
                                         impl_->close.code, ")"));
  }
  return absl::DeadlineExceededError("no message in time");
}

absl::StatusOr<Value> WsClient::ReadJson(milliseconds timeout) {
  absl::StatusOr<std::string> text = Read(timeout);
  if (!text.ok()) return text.status();
  return ParseJson(*text);
}

absl::StatusOr<Value> WsClient::ReadUntil(const std::function<bool(const Value&)>& pred,
                                          milliseconds timeout, std::vector<Value>* skipped) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                         std::chrono::steady_clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("expected message did not come");
    absl::StatusOr<Value> v = ReadJson(left);
    if (!v.ok()) return v.status();
    if (pred(*v)) return v;
    if (skipped) skipped->push_back(std::move(*v));
  }
}

absl::StatusOr<CloseInfo> WsClient::WaitClosed(milliseconds timeout) {
  impl_->StartRead();
  bool done = impl_->RunUntil(
      [&] {
        impl_->inbox.clear();
        impl_->StartRead();
        return impl_->closed;
      },
      timeout);
  if (!done) return absl::DeadlineExceededError("server did not close");
  closed_ = true;
  return impl_->close;
}

void WsClient::set_reading(bool on) {
  impl_->want_reading = on;
  if (on) impl_->StartRead();
}

absl::StatusOr<std::string> WsClient::DdpConnect(std::string_view version) {
  absl::Status s = Send(StrCat(R"({"msg":"connect","version":")", version,
                               R"(","support":[")", version, R"("]})"));
  if (!s.ok()) return s;
  absl::StatusOr<Value> v = ReadUntil([](const Value& m) {
    std::string msg = MsgOf(m);
    return msg == "connected" || msg == "failed";
  });
  if (!v.ok()) return v.status();
  if (MsgOf(*v) != "connected") return absl::FailedPreconditionError(ToJson(*v));
  return v->Find("session")->as_string();
}

absl::StatusOr<Value> WsClient::Call(std::string_view method, std::string_view params_json,
                                     std::vector<Value>* data) {
  std::string id = StrCat("m", next_id_++);
  std::string msg = StrCat(R"({"msg":"method","method":)");
  AppendJsonString(method, &msg);
  StrAppend(&msg, R"(,"params":)", params_json, R"(,"id":")", id, R"("})");
  absl::Status s = Send(msg);
  if (!s.ok()) return s;
  std::optional<Value> result;
  bool updated = false;
  while (!result || !updated) {
    absl::StatusOr<Value> v = ReadJson();
    if (!v.ok()) return v.status();
    std::string kind = MsgOf(*v);
    const Value* vid = v->Find("id");
    if (kind == "result" && vid && vid->is_string() && vid->as_string() == id) {
      if (updated) return absl::InternalError("updated came before result");
      result = std::move(*v);
    } else if (kind == "updated") {
      for (const Value& m : v->Find("methods")->as_array()) {
        if (m.as_string() == id) updated = true;
      }
    } else if (data != nullptr) {
      data->push_back(std::move(*v));
    }
  }
  return *result;
}

absl::StatusOr<Value> WsClient::Subscribe(std::string_view id, std::string_view name,
                                          std::string_view params_json,
                                          std::vector<Value>* data) {
  std::string msg = StrCat(R"({"msg":"sub","id":)");
  AppendJsonString(id, &msg);
  StrAppend(&msg, R"(,"name":)");
  AppendJsonString(name, &msg);
  StrAppend(&msg, R"(,"params":)", params_json, "}");
  absl::Status s = Send(msg);
  if (!s.ok()) return s;
  std::string sub_id(id);
  return ReadUntil(
      [&](const Value& m) {
        std::string kind = MsgOf(m);
        if (kind == "nosub") return m.Find("id")->as_string() == sub_id;
        if (kind == "ready") {
          for (const Value& s : m.Find("subs")->as_array()) {
            if (s.as_string() == sub_id) return true;
          }
        }
        return false;
      },
      kWait, data);
}

std::string MsgOf(const Value& v) {
  const Value* m = v.Find("msg");
  return m != nullptr && m->is_string() ? m->as_string() : std::string();
}

std::string ErrorText(const Value& m) {
  const Value* e = m.Find("error");
  if (e == nullptr || !e->is_object()) return "";
  const Value* code = e->Find("error");
  const Value* reason = e->Find("reason");
  return StrCat(code != nullptr ? ToJson(*code) : "?", " ",
                reason != nullptr && reason->is_string() ? reason->as_string() : "");
}

}  // namespace ddp::testing

namespace ddp::testing {

bool WaitUntil(const std::function<bool()>& cond, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

absl::StatusOr<HttpResult> HttpFetch(uint16_t port, std::string_view method,
                                     std::string_view target, std::string_view body,
                                     std::string_view content_type,
                                     std::string_view authorization) {
  namespace http = beast::http;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(kWait);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return absl::UnavailableError(StrCat("connect: ", ec.message()));
  http::request<http::string_body> req(http::string_to_verb(std::string(method)), std::string(target), 11);
  req.set(http::field::host, StrCat("127.0.0.1:", port));
  if (!authorization.empty()) req.set(http::field::authorization, std::string(authorization));
  if (!body.empty()) {
    req.set(http::field::content_type, std::string(content_type));
    req.body() = std::string(body);
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) return absl::UnavailableError(StrCat("write: ", ec.message()));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) return absl::UnavailableError(StrCat("read: ", ec.message()));
  HttpResult out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  return out;
}

}  // namespace ddp::testing

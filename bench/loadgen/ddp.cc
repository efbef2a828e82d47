// DDP driver: ddpd over WebSocket (ws_channel.h: Beast's handshake, then
// frames read and written directly; no permessage-deflate, which the peers
// do not use either).
//
// Messages are recognized by prefix scans, never parsed: ddpd writes "msg"
// first, and the receivers only need `ts`, which FindTs scans for. Parsing
// JSON here would make the load generator the bottleneck long before ddpd.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

#include "loadgen.h"
#include "ws_channel.h"

namespace loadgen {
namespace {

using tcp = asio::ip::tcp;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

class DdpConn : public Connection, public std::enable_shared_from_this<DdpConn> {
 public:
  DdpConn(asio::io_context& ioc, std::string topic, bool subscribe, Events events)
      : ws_(std::make_shared<WsChannel>(ioc)),
        topic_(std::move(topic)),
        subscribe_(subscribe),
        events_(std::move(events)) {}

  void Start(const tcp::endpoint& ep) {
    ws_->Open(ep, "/websocket", "", /*binary=*/false, ForwardTo(shared_from_this()));
  }

  // The channel's events (ForwardTo).
  void OnOpen() { Send(R"({"msg":"connect","version":"1","support":["1"]})"); }
  void OnMessage(std::string_view m) { Handle(m); }
  void Fail(const std::string& what) {
    if (closed_) return;
    closed_ = true;
    if (events_.on_error) events_.on_error("ddp: " + what);
  }

  void Publish(std::string_view payload) override {
    std::string m;
    m.reserve(payload.size() + topic_.size() + 80);
    m.append(R"({"msg":"method","id":")")
        .append(std::to_string(++next_id_))
        .append(R"(","method":"publish","params":[")")
        .append(topic_)
        .append(R"(",)")
        .append(payload)
        .append("]}");
    Send(m);
  }

  void Call(std::string_view method, std::string_view params_json) override {
    std::string m;
    m.append(R"({"msg":"method","id":")")
        .append(std::to_string(++next_id_))
        .append(R"(","method":")")
        .append(method)
        .append(R"(","params":)")
        .append(params_json)
        .append("}");
    Send(m);
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    ws_->Close();  // the close handshake, as a polite client does
  }

 private:
  void Send(std::string_view m) {
    if (!closed_) ws_->Send(m);
  }

  // LOADGEN_DDP_LOGIN (a `login` parameter, e.g. {"jwt":"..."}): every
  // connection logs in before it subscribes or reports ready, so that
  // ddpd's logins and access rules are on the measured path.
  static const std::string& LoginParam() {
    static const std::string param = [] {
      const char* v = std::getenv("LOADGEN_DDP_LOGIN");
      return std::string(v == nullptr ? "" : v);
    }();
    return param;
  }

  void AfterConnect() {
    if (subscribe_) {
      Send(R"({"msg":"sub","id":"s1","name":")" + topic_ + R"(","params":[]})");
    } else if (events_.on_ready) {
      events_.on_ready();
    }
  }

  void Handle(std::string_view m) {
    if (logging_in_) {
      // Only the login's own result and updated come before it is done.
      if (StartsWith(m, R"({"msg":"result")") && m.find(R"("error":)") != std::string_view::npos) {
        Fail("login refused: " + std::string(m.substr(0, 300)));
      } else if (StartsWith(m, R"({"msg":"updated")")) {
        logging_in_ = false;
        AfterConnect();
      }
      return;
    }
    // Most frequent first: data messages.
    if (StartsWith(m, R"({"msg":"added")") || StartsWith(m, R"({"msg":"changed")")) {
      if (events_.on_message) events_.on_message(m);
    } else if (StartsWith(m, R"({"msg":"result")")) {
      bool ok = m.find(R"("error":)") == std::string_view::npos;
      results_ok_.push_back(ok);
      if (!ok) {
        if (!reported_error_) {
          reported_error_ = true;
          std::fprintf(stderr, "loadgen: ddp method failed: %.*s\n",
                       static_cast<int>(std::min<size_t>(m.size(), 400)), m.data());
        }
      }
      MaybeCallDone();
    } else if (StartsWith(m, R"({"msg":"updated")")) {
      // {"msg":"updated","methods":["7","8"]}: ids are digits, so two
      // quotes per id.
      size_t list = m.find('[');
      if (list != std::string_view::npos) {
        updated_ += static_cast<int64_t>(std::count(m.begin() + static_cast<ptrdiff_t>(list), m.end(), '"') / 2);
      }
      MaybeCallDone();
    } else if (StartsWith(m, R"({"msg":"ping")")) {
      // Echo the id when there is one, as DDP asks.
      size_t id = m.find(R"("id":)");
      if (id == std::string_view::npos) {
        Send(R"({"msg":"pong"})");
      } else {
        size_t end = m.find('}', id);
        Send(R"({"msg":"pong",)" + std::string(m.substr(id, end - id)) + "}");
      }
    } else if (StartsWith(m, R"({"msg":"connected")")) {
      if (!LoginParam().empty()) {
        logging_in_ = true;
        Send(R"({"msg":"method","id":"login","method":"login","params":[)" + LoginParam() + "]}");
      } else {
        AfterConnect();
      }
    } else if (StartsWith(m, R"({"msg":"ready")")) {
      if (events_.on_ready) events_.on_ready();
    } else if (StartsWith(m, R"({"msg":"nosub")") || StartsWith(m, R"({"msg":"error")") ||
               StartsWith(m, R"({"msg":"failed")")) {
      Fail("server said " + std::string(m.substr(0, 300)));
    }
  }

  void MaybeCallDone() {
    // A call is done when both its `result` and an `updated` naming it have
    // come. The server answers one client's calls in order, and an
    // `updated` may name several, so counts say how many calls are done.
    while (!results_ok_.empty() && done_ < updated_) {
      bool ok = results_ok_.front();
      results_ok_.pop_front();
      ++done_;
      if (events_.on_call_done) events_.on_call_done(ok);
    }
  }

  std::shared_ptr<WsChannel> ws_;
  std::string topic_;
  bool subscribe_;
  Events events_;
  bool closed_ = false;
  bool logging_in_ = false;
  bool reported_error_ = false;
  std::deque<bool> results_ok_;  // results of calls not yet done, oldest first
  int64_t updated_ = 0, done_ = 0;  // calls named by `updated`; calls done
  uint64_t next_id_ = 0;
};


}  // namespace

std::unique_ptr<Driver> MakeDdpDriver(asio::io_context& ioc, const Endpoint& endpoint) {
  return std::make_unique<AsioDriver<DdpConn>>(ioc, endpoint);
}

}  // namespace loadgen

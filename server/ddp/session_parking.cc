// Session resumption, the session's side (session_directory.h): parking a
// session whose connection went, holding what it sends meanwhile, and
// taking the client back on its new connection.
#include "server/ddp/session.h"

#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "spdlog/spdlog.h"

namespace ddp {

bool Session::OnTransportLost(bool resumable, SteadyTime now, std::function<void()>& release) {
  if (state_ == State::kClosed) return false;
  if (resumable && state_ == State::kConnected && !parked_ && directory_ != nullptr &&
      options_.disconnect_grace_period > Duration::zero()) {
    transport_ = nullptr;
    parked_ = true;
    sent_at_loss_ = sent_;
    ping_sent_at_.reset();
    SessionDirectory::Parked entry{shared_from_this(), std::move(release),
                                   now + options_.disconnect_grace_period};
    if (directory_->Park(connection_.session_id, std::move(entry))) {
      spdlog::debug("session {}: connection lost, waiting {} ms for the client",
                    session_id(),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        options_.disconnect_grace_period).count());
      return true;
    }
    release = std::move(entry.release);  // the directory is full
    parked_ = false;
  }
  OnClosed();
  return false;
}

bool Session::CanResume(std::string_view version, uint64_t received_count) const {
  // Both fields stay as they were when the session was parked.
  return version == version_ && received_count == sent_at_loss_;
}

void Session::Reattach(Transport* transport, SteadyTime now) {
  if (state_ == State::kClosed) {
    transport->Close(kCloseGoingAway, "session ended");
    return;
  }
  parked_ = false;
  transport_ = transport;
  last_input_ = now;
  ping_sent_at_.reset();
  if (close_on_reattach_) {
    // It was closed while it waited (a `disconnect` queued behind a method):
    // its client gets a new session when it reconnects.
    auto [code, reason] = std::move(*close_on_reattach_);
    held_.clear();
    CloseConnection(code, reason);
    return;
  }
  spdlog::debug("session {}: resumed with {} messages that waited", session_id(), held_.size());
  SendMessage(ConnectedMsg{connection_.session_id, std::nullopt});
  // Counted when they were held.
  while (!held_.empty()) {
    transport_->Send(std::move(held_.front()));
    held_.pop_front();
  }
  if (reading_paused_) transport_->PauseReading();
}

void Session::Hold(std::shared_ptr<const std::string> frame) {
  ++sent_;
  held_.push_back(std::move(frame));
  if (held_.size() == options_.max_parked_messages + 1) {
    // More than the client could be given back: end the session, unless a
    // connection claimed it already (that one gets everything; the bound
    // is passed only until its Reattach runs here).
    if (std::optional<SessionDirectory::Parked> me = directory_->Claim(session_id())) {
      spdlog::debug("session {}: more than {} messages waited, ending it", session_id(),
                    options_.max_parked_messages);
      Dismiss(std::move(*me));
    }
  }
}

}  // namespace ddp

// `connect`: version negotiation as Meteor's server does it.
//
// The client proposes `version` and lists `support`. It is malformed unless
// `version` is in `support`. The chosen version is the first of the
// client's `support` list that we speak (else our preferred one); when it is
// not what the client proposed, the client gets `failed` with our choice and
// is expected to reconnect with it.
//
// Meteor 3.5's session resumption: a `connect` that names its old
// `session` and says how many messages it received there (`receivedCount`)
// gets that session back when it waits in the SessionDirectory and the
// count is exactly what the session sent before its connection went (no
// message lost on the way). The connection then serves the old session,
// which answers `connected` with its own id and sends what waited. In any
// other case the client gets a new session, and the old one, if it was
// found, ends: its client has moved on.
#include <algorithm>

#include "common/strings.h"
#include "protocol/ids.h"
#include "spdlog/spdlog.h"
#include "server/ddp/handlers/handlers.h"

namespace ddp {
namespace {

std::string ChooseVersion(const std::vector<std::string>& support) {
  for (const std::string& v : support) {
    for (std::string_view ours : kSupportedDdpVersions) {
      if (v == ours) return v;
    }
  }
  return std::string(kSupportedDdpVersions[0]);
}

}  // namespace

void SessionHandlers::Connect(Session& s, ConnectMsg msg) {
  if (s.state_ == Session::State::kConnected) {
    s.SendError(kAlreadyConnected, ParseJson(EncodeMessage(msg)).value_or(Value()));
    return;
  }
  bool proposes_supported = msg.well_formed && std::find(msg.support.begin(), msg.support.end(),
                                                         msg.version) != msg.support.end();
  std::string chosen = proposes_supported ? ChooseVersion(msg.support)
                                          : std::string(kSupportedDdpVersions[0]);
  if (!proposes_supported || msg.version != chosen) {
    s.SendMessage(FailedMsg{chosen});
    s.CloseConnection(kCloseNormal, "DDP version negotiation failed");
    return;
  }
  if (msg.session && msg.received_count && s.directory_ != nullptr) {
    if (std::optional<SessionDirectory::Parked> parked =
            s.directory_->Claim(*msg.session, s.last_input_)) {
      if (parked->session->CanResume(chosen, *msg.received_count) &&
          s.transport_->Adopt(parked->session, parked->release)) {
        // This session never was: it sends nothing and holds nothing.
        s.state_ = Session::State::kClosed;
        s.transport_ = nullptr;
        s.pending_.clear();
        return;
      }
      spdlog::debug("session {}: not resumed (client received {} messages, {} were sent)",
                    *msg.session, *msg.received_count, parked->session->sent_before_loss());
      Dismiss(std::move(*parked));
    }
  }
  s.version_ = chosen;
  s.state_ = Session::State::kConnected;
  s.connection_.session_id = RandomId();
  ConnectedMsg connected{s.connection_.session_id, std::nullopt};
  if (msg.resume) {
    // A client that cannot resume is served in full, as any other.
    absl::Status taken = s.resume_.Load(*msg.resume, s.options_.resume);
    if (taken.ok()) {
      connected.resume = "diff";
      s.resume_deadline_ = s.last_input_ + s.options_.resume_deadline;
    } else {
      spdlog::info("session {}: resume refused: {}", s.connection_.session_id,
                   ToStd(taken.message()));
    }
  }
  s.SendMessage(connected);
  // Not for a client that must log in first (they start with its login).
  if (!s.options_.allow_anonymous) return;
  for (const PublicationHandler& handler : s.registry_->universal_publications()) {
    s.StartSubscription(handler, /*id=*/"", /*name=*/"", Array());
  }
}

}  // namespace ddp

// `ping`: answered at once with `pong` carrying the same id, even while a
// method holds the message queue (as Meteor's server does).
#include "server/ddp/handlers/handlers.h"

namespace ddp {

void SessionHandlers::Ping(Session& s, PingMsg msg) { s.SendMessage(PongMsg{std::move(msg.id)}); }

}  // namespace ddp

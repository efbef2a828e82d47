// `disconnect` (Meteor 3.5): the client leaves on purpose. Its session ends
// now instead of waiting for a reconnect that will not come.
#include "server/ddp/handlers/handlers.h"

namespace ddp {

void SessionHandlers::Disconnect(Session& s) {
  s.CloseConnection(kCloseNormal, "client disconnected");
}

}  // namespace ddp

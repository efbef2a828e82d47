// The handlers of the messages a client may send, one per file. Session
// sequences them; they are its friends so that they can reach its state
// without widening its public interface.
#pragma once

#include "protocol/ddp_message.h"
#include "server/ddp/session.h"

namespace ddp {

struct SessionHandlers {
  static void Connect(Session& s, ConnectMsg msg);  // handlers/connect.cc
  static void Ping(Session& s, PingMsg msg);        // handlers/ping.cc
  static void Sub(Session& s, SubMsg msg);          // handlers/sub.cc
  static void Unsub(Session& s, UnsubMsg msg);      // handlers/unsub.cc
  static void Method(Session& s, MethodMsg msg);    // handlers/method.cc
  static void Disconnect(Session& s);               // handlers/disconnect.cc
  // Completion of a method (handlers/method.cc).
  static void MethodDone(Session& s, const std::string& id, uint64_t call_seq,
                         MethodResult result);
};

}  // namespace ddp

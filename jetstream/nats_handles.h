// The nats.c handles of a JetStreamLog (internal to jetstream/).
#pragma once

#include <nats/nats.h>

#include <string>

#include "common/strings.h"
#include "jetstream/jetstream_log.h"

namespace ddp::jetstream {

struct JetStreamLog::Nats {
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  natsSubscription* sub = nullptr;
  natsSubscription* nodes_sub = nullptr;
  natsSubscription* snapshot_open_sub = nullptr;
  natsSubscription* snapshot_node_sub = nullptr;

  ~Nats() {
    if (sub != nullptr) natsSubscription_Destroy(sub);
    if (nodes_sub != nullptr) natsSubscription_Destroy(nodes_sub);
    if (snapshot_open_sub != nullptr) natsSubscription_Destroy(snapshot_open_sub);
    if (snapshot_node_sub != nullptr) natsSubscription_Destroy(snapshot_node_sub);
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) natsConnection_Destroy(nc);
    if (opts != nullptr) natsOptions_Destroy(opts);
  }
};

// A nats.c failure as text: the status, the JetStream code, the detail.
inline std::string NatsError(natsStatus s, jsErrCode jerr) {
  std::string out = natsStatus_GetText(s);
  if (jerr != 0) StrAppend(&out, " (JetStream error ", static_cast<int>(jerr), ")");
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') StrAppend(&out, ": ", last);
  return out;
}

}  // namespace ddp::jetstream

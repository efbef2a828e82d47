#include "server/engine/engine.h"

namespace ddp::engine {

Object LogProgressToObject(const LogProgress& p, uint64_t last_seq) {
  auto i64 = [](uint64_t v) { return Value(static_cast<int64_t>(v)); };
  Object out;
  out.Append("kind", Value(p.log.kind));
  out.Append("connected", Value(p.log.connected));
  out.Append("detail", Value(p.log.detail));
  out.Append("position", i64(p.position));
  out.Append("end", i64(p.log.end));
  out.Append("lag", i64(p.lag));
  out.Append("seq", i64(last_seq));
  out.Append("caughtUp", Value(p.caught_up));
  if (!p.error.empty()) out.Append("error", Value(p.error));
  Array nodes;
  for (const commitlog::NodeStatus& n : p.nodes) {
    Object o;
    o.Append("node", Value(n.node));
    o.Append("position", i64(n.position));
    o.Append("seq", i64(n.seq));
    o.Append("lag", i64(p.log.end > n.position ? p.log.end - n.position : 0));
    o.Append("ageMs", Value(n.age_millis));
    o.Append("self", Value(n.self));
    nodes.push_back(Value(std::move(o)));
  }
  out.Append("nodes", Value(std::move(nodes)));
  return out;
}

}  // namespace ddp::engine

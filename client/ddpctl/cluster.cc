// ddpctl cluster status: asks one node (the first of --url that answers)
// for the cluster.status method: the commit log's end, and per node (as
// the nodes announce themselves every second) the position it applied and
// its lag.
#include <cstdio>

#include "client/ddpctl/ddpctl.h"
#include "common/strings.h"

namespace ddp::ctl {

int RunClusterStatus(const Globals& g) {
  auto c = OpenOneShot(g);
  if (!c.ok()) return Fail(StrCat("cannot connect to ", g.url), c.status());
  CallOptions opts;
  opts.skip_updated = true;
  absl::StatusOr<Value> r = (*c)->Call("cluster.status", {}, g.timeout(), opts);
  if (!r.ok()) return Fail("cluster status", r.status());
  if (g.json) {
    PrintValue(*r, true);
    return kOk;
  }
  auto num = [&](const char* key) {
    const Value* v = r->Find(key);
    return v != nullptr && v->is_int() ? v->as_int() : 0;
  };
  const Value* log = r->Find("kind");
  if (log == nullptr || !log->is_string() || log->as_string() != "jetstream") {
    PrintLine(StrCat("single node (embedded log), seq ", num("seq")));
    return kOk;
  }
  const Value* detail = r->Find("detail");
  const Value* connected = r->Find("connected");
  PrintLine(StrCat(detail && detail->is_string() ? detail->as_string() : "", ", log end ",
                   num("end"), connected && connected->is_bool() && !connected->as_bool()
                                   ? " (this node is not connected to NATS)"
                                   : ""));
  if (const Value* err = r->Find("error"); err != nullptr && err->is_string()) {
    PrintLine(StrCat("error: ", err->as_string()));
  }
  char line[256];
  std::snprintf(line, sizeof(line), "%-24s %12s %12s %8s %8s", "NODE", "POSITION", "SEQ", "LAG",
                "SEEN");
  PrintLine(line);
  const Value* nodes = r->Find("nodes");
  if (nodes != nullptr && nodes->is_array()) {
    for (const Value& n : nodes->as_array()) {
      auto f = [&](const char* key) {
        const Value* v = n.Find(key);
        return v != nullptr && v->is_int() ? v->as_int() : 0;
      };
      const Value* name = n.Find("node");
      const Value* self = n.Find("self");
      std::string who = name && name->is_string() ? name->as_string() : "?";
      if (self && self->is_bool() && self->as_bool()) who += " *";
      std::snprintf(line, sizeof(line), "%-24s %12lld %12lld %8lld %7.1fs", who.c_str(),
                    static_cast<long long>(f("position")), static_cast<long long>(f("seq")),
                    static_cast<long long>(f("lag")), static_cast<double>(f("ageMs")) / 1000);
      PrintLine(line);
    }
  }
  return kOk;
}

}  // namespace ddp::ctl

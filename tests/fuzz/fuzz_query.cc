// libFuzzer target for the query language (query/): the input is a JSON
// array [selector, modifier, live query, document]; each part compiles or
// fails with a status, and whatever compiles runs on the document without
// crashing (selector match, modifier apply, live plan parse).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/json.h"
#include "query/live/plan.h"
#include "query/modifier.h"
#include "query/selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ddp::JsonLimits limits;
  limits.max_depth = 24;
  auto v = ddp::ParseJson(text, limits);
  if (!v.ok() || !v->is_array()) return 0;
  const ddp::Array& parts = v->as_array();
  ddp::Object doc;
  if (parts.size() > 3 && parts[3].is_object()) doc = parts[3].as_object();
  if (!parts.empty()) {
    auto s = ddp::query::Selector::Compile(parts[0]);
    if (s.ok()) (void)s->Matches(doc);
  }
  if (parts.size() > 1) {
    auto m = ddp::query::Modifier::Compile(parts[1]);
    if (m.ok()) {
      (void)m->Apply(doc, 1700000000000);
      (void)m->ApplyForInsert(doc, 1700000000000);
    }
  }
  if (parts.size() > 2) {
    ddp::query::LiveLimits live;
    (void)ddp::query::LivePlan::Parse("fuzz.topic", parts[2], live);
  }
  return 0;
}

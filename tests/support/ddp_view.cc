#include "tests/support/ddp_view.h"

#include "protocol/json.h"

namespace ddp::testing {

std::string Apply(View& view, const Value& m) {
  const Value* msg = m.Find("msg");
  std::string kind = msg != nullptr && msg->is_string() ? msg->as_string() : "";
  if (kind != "added" && kind != "changed" && kind != "removed") return "";
  std::string id = m.Find("id")->as_string();
  if (kind == "added") {
    if (view.contains(id)) return "added twice: " + id;
    const Value* fields = m.Find("fields");
    view[id] = fields ? fields->as_object() : Object();
  } else if (kind == "changed") {
    if (!view.contains(id)) return "changed unknown: " + id;
    const Value* fields = m.Find("fields");
    const Value* cleared = m.Find("cleared");
    if (fields == nullptr && cleared == nullptr) return "empty changed: " + id;
    if (fields) {
      for (const Member& f : fields->as_object()) view[id].Set(f.key, f.value);
    }
    if (cleared) {
      for (const Value& k : cleared->as_array()) view[id].Erase(k.as_string());
    }
  } else {
    if (!view.erase(id)) return "removed unknown: " + id;
  }
  return "";
}

std::string Canonical(const View& view) {
  std::string out;
  for (const auto& [id, doc] : view) out += id + "=" + ToCanonicalJson(Value(doc)) + ";";
  return out;
}

}  // namespace ddp::testing

#include "protocol/ddp_message.h"

#include "protocol/data_change.h"

#include "absl/hash/hash.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "common/strings.h"

namespace ddp {
namespace {

constexpr std::string_view kReasonPayload = "ddp.reason";

absl::Status DecodeError(std::string_view reason, std::string_view detail) {
  absl::Status s = absl::InvalidArgumentError(StrCat(reason, ": ", detail));
  s.SetPayload(ToAbsl(kReasonPayload), absl::Cord(ToAbsl(reason)));
  return s;
}

// Field readers over a message object. Each returns false when the field
// has the wrong type; `required` fields must also be present.
class Fields {
 public:
  explicit Fields(const Object& o) : o_(o) {}

  bool String(std::string_view key, bool required) const {
    const Value* v = o_.Find(key);
    return v == nullptr ? !required : v->is_string();
  }
  bool StringOrNull(std::string_view key) const {
    const Value* v = o_.Find(key);
    return v == nullptr || v->is_string() || v->is_null();
  }
  bool Obj(std::string_view key) const {
    const Value* v = o_.Find(key);
    return v == nullptr || v->is_object();
  }
  bool Arr(std::string_view key, bool required) const {
    const Value* v = o_.Find(key);
    return v == nullptr ? !required : v->is_array();
  }
  bool StringArray(std::string_view key, bool required) const {
    const Value* v = o_.Find(key);
    if (v == nullptr) return !required;
    if (!v->is_array()) return false;
    for (const Value& e : v->as_array()) {
      if (!e.is_string()) return false;
    }
    return true;
  }

 private:
  const Object& o_;
};

// Movers: called only after validation succeeded.
std::string TakeString(Object& o, std::string_view key) {
  Value* v = o.Find(key);
  return v == nullptr ? std::string() : std::move(v->as_string());
}
std::optional<std::string> TakeOptString(Object& o, std::string_view key) {
  Value* v = o.Find(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::move(v->as_string());
}
Object TakeObject(Object& o, std::string_view key) {
  Value* v = o.Find(key);
  return v == nullptr ? Object() : std::move(v->as_object());
}
Array TakeArray(Object& o, std::string_view key) {
  Value* v = o.Find(key);
  return v == nullptr ? Array() : std::move(v->as_array());
}
std::vector<std::string> TakeStrings(Object& o, std::string_view key) {
  std::vector<std::string> out;
  Value* v = o.Find(key);
  if (v == nullptr) return out;
  out.reserve(v->as_array().size());
  for (Value& e : v->as_array()) out.push_back(std::move(e.as_string()));
  return out;
}
std::optional<Value> TakeValue(Object& o, std::string_view key) {
  Value* v = o.Find(key);
  if (v == nullptr) return std::nullopt;
  return std::move(*v);
}

absl::StatusOr<Message> DecodeByName(std::string_view name, Object& o) {
  Fields f(o);
  auto bad = [&](std::string_view detail) { return DecodeError(kBadRequest, detail); };
  switch (name.size() > 0 ? name[0] : '\0') {
    case 'a':
      if (name == "added") {
        if (!f.String("collection", true) || !f.String("id", true) || !f.Obj("fields")) {
          return bad("added needs string collection and id and an object fields");
        }
        return AddedMsg{TakeString(o, "collection"), TakeString(o, "id"),
                        TakeObject(o, "fields")};
      }
      if (name == "addedBefore") {
        if (!f.String("collection", true) || !f.String("id", true) || !f.Obj("fields") ||
            !f.StringOrNull("before")) {
          return bad("addedBefore needs string collection and id, object fields, string or "
                     "null before");
        }
        return AddedBeforeMsg{TakeString(o, "collection"), TakeString(o, "id"),
                              TakeObject(o, "fields"), TakeOptString(o, "before")};
      }
      break;
    case 'c':
      if (name == "connect") {
        ConnectMsg m;
        m.well_formed = f.String("version", true) && f.StringArray("support", true) &&
                        f.String("session", false);
        if (const Value* v = o.Find("version"); v != nullptr && v->is_string()) {
          m.version = v->as_string();
        }
        if (f.StringArray("support", true)) m.support = TakeStrings(o, "support");
        m.session = TakeOptString(o, "session");
        if (Value* r = o.Find("ddpd_resume")) m.resume = std::move(*r);
        if (const Value* c = o.Find("receivedCount"); c != nullptr) {
          if (c->is_int() && c->as_int() >= 0) {
            m.received_count = static_cast<uint64_t>(c->as_int());
          } else if (c->is_double() && c->as_double() >= 0 && c->as_double() < 9.0e15 &&
                     c->as_double() == static_cast<double>(static_cast<uint64_t>(c->as_double()))) {
            m.received_count = static_cast<uint64_t>(c->as_double());
          }
        }
        return m;
      }
      if (name == "connected") {
        if (!f.String("session", true)) return bad("connected needs a string session");
        return ConnectedMsg{TakeString(o, "session"), TakeOptString(o, "ddpd_resume")};
      }
      if (name == "changed") {
        if (!f.String("collection", true) || !f.String("id", true) || !f.Obj("fields") ||
            !f.StringArray("cleared", false)) {
          return bad("changed needs string collection and id, object fields, string array "
                     "cleared");
        }
        return ChangedMsg{TakeString(o, "collection"), TakeString(o, "id"),
                          TakeObject(o, "fields"), TakeStrings(o, "cleared")};
      }
      break;
    case 'd':
      if (name == "disconnect") return DisconnectMsg{};
      break;
    case 'e':
      if (name == "error") {
        if (!f.String("reason", true)) return bad("error needs a string reason");
        return ErrorMsg{TakeString(o, "reason"), TakeValue(o, "offendingMessage")};
      }
      break;
    case 'f':
      if (name == "failed") {
        if (!f.String("version", true)) return bad("failed needs a string version");
        return FailedMsg{TakeString(o, "version")};
      }
      break;
    case 'm':
      if (name == "method") {
        if (!f.String("id", true) || !f.String("method", true) || !f.Arr("params", false) ||
            !f.String("randomSeed", false)) {
          return DecodeError(kMalformedMethod,
                             "method needs string id and method, array params, string "
                             "randomSeed");
        }
        return MethodMsg{TakeString(o, "method"), TakeArray(o, "params"), TakeString(o, "id"),
                         TakeOptString(o, "randomSeed")};
      }
      if (name == "movedBefore") {
        if (!f.String("collection", true) || !f.String("id", true) ||
            !f.StringOrNull("before")) {
          return bad("movedBefore needs string collection and id, string or null before");
        }
        return MovedBeforeMsg{TakeString(o, "collection"), TakeString(o, "id"),
                              TakeOptString(o, "before")};
      }
      break;
    case 'n':
      if (name == "nosub") {
        if (!f.String("id", true)) return bad("nosub needs a string id");
        return NosubMsg{TakeString(o, "id"), TakeValue(o, "error")};
      }
      break;
    case 'p':
      if (name == "ping" || name == "pong") {
        if (!f.String("id", false)) return bad(StrCat(name, " id must be a string"));
        if (name == "ping") return PingMsg{TakeOptString(o, "id")};
        return PongMsg{TakeOptString(o, "id")};
      }
      break;
    case 'r':
      if (name == "ready") {
        if (!f.StringArray("subs", true)) return bad("ready needs a string array subs");
        return ReadyMsg{TakeStrings(o, "subs")};
      }
      if (name == "removed") {
        if (!f.String("collection", true) || !f.String("id", true)) {
          return bad("removed needs string collection and id");
        }
        return RemovedMsg{TakeString(o, "collection"), TakeString(o, "id")};
      }
      if (name == "result") {
        if (!f.String("id", true)) return bad("result needs a string id");
        return ResultMsg{TakeString(o, "id"), TakeValue(o, "error"), TakeValue(o, "result")};
      }
      break;
    case 's':
      if (name == "sub") {
        if (!f.String("id", true) || !f.String("name", true) || !f.Arr("params", false)) {
          return DecodeError(kMalformedSubscription,
                             "sub needs string id and name and array params");
        }
        return SubMsg{TakeString(o, "id"), TakeString(o, "name"), TakeArray(o, "params")};
      }
      break;
    case 'u':
      if (name == "unsub") {
        if (!f.String("id", true)) return bad("unsub needs a string id");
        return UnsubMsg{TakeString(o, "id")};
      }
      if (name == "updated") {
        if (!f.StringArray("methods", true)) return bad("updated needs a string array methods");
        return UpdatedMsg{TakeStrings(o, "methods")};
      }
      break;
  }
  return bad(StrCat("unknown msg '", name, "'"));
}

// ---------------------------------------------------------------- encoding

class Enc {
 public:
  Enc(std::string* out, std::string_view msg) : out_(out) {
    out_->append("{\"msg\":\"");
    out_->append(msg);  // message names need no escaping
    out_->push_back('"');
  }
  Enc& Str(std::string_view key, std::string_view v) {
    Key(key);
    AppendJsonString(v, out_);
    return *this;
  }
  Enc& Val(std::string_view key, const Value& v) {
    Key(key);
    AppendJson(v, out_);
    return *this;
  }
  Enc& Fields(std::string_view key, const Object& o) {
    if (o.empty()) return *this;  // DDP omits empty fields
    Key(key);
    AppendJsonObject(o, out_);
    return *this;
  }
  Enc& Arr(std::string_view key, const Array& a) {
    Key(key);
    out_->push_back('[');
    for (size_t i = 0; i < a.size(); ++i) {
      if (i) out_->push_back(',');
      AppendJson(a[i], out_);
    }
    out_->push_back(']');
    return *this;
  }
  Enc& Strings(std::string_view key, const std::vector<std::string>& v) {
    Key(key);
    out_->push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_->push_back(',');
      AppendJsonString(v[i], out_);
    }
    out_->push_back(']');
    return *this;
  }
  Enc& Before(const std::optional<std::string>& before) {
    Key("before");
    if (before) {
      AppendJsonString(*before, out_);
    } else {
      out_->append("null");
    }
    return *this;
  }
  void End() { out_->push_back('}'); }

 private:
  void Key(std::string_view key) {
    out_->append(",\"");
    out_->append(key);  // our own keys, never needing escapes
    out_->append("\":");
  }
  std::string* out_;
};

struct EncodeVisitor {
  std::string* out;

  void operator()(const ConnectMsg& m) {
    Enc e(out, "connect");
    if (m.session) e.Str("session", *m.session);
    e.Str("version", m.version).Strings("support", m.support);
    if (m.resume) e.Val("ddpd_resume", *m.resume);
    if (m.received_count) e.Val("receivedCount", Value(static_cast<int64_t>(*m.received_count)));
    e.End();
  }
  void operator()(const ConnectedMsg& m) {
    Enc e(out, "connected");
    e.Str("session", m.session);
    if (m.resume) e.Str("ddpd_resume", *m.resume);
    e.End();
  }
  void operator()(const FailedMsg& m) { Enc(out, "failed").Str("version", m.version).End(); }
  void operator()(const PingMsg& m) {
    Enc e(out, "ping");
    if (m.id) e.Str("id", *m.id);
    e.End();
  }
  void operator()(const PongMsg& m) {
    Enc e(out, "pong");
    if (m.id) e.Str("id", *m.id);
    e.End();
  }
  void operator()(const SubMsg& m) {
    Enc(out, "sub").Str("id", m.id).Str("name", m.name).Arr("params", m.params).End();
  }
  void operator()(const UnsubMsg& m) { Enc(out, "unsub").Str("id", m.id).End(); }
  void operator()(const NosubMsg& m) {
    Enc e(out, "nosub");
    e.Str("id", m.id);
    if (m.error) e.Val("error", *m.error);
    e.End();
  }
  void operator()(const ReadyMsg& m) { Enc(out, "ready").Strings("subs", m.subs).End(); }
  void operator()(const AddedMsg& m) {
    Enc(out, "added").Str("collection", m.collection).Str("id", m.id).Fields("fields", m.fields).End();
  }
  void operator()(const ChangedMsg& m) {
    Enc e(out, "changed");
    e.Str("collection", m.collection).Str("id", m.id).Fields("fields", m.fields);
    if (!m.cleared.empty()) e.Strings("cleared", m.cleared);
    e.End();
  }
  void operator()(const RemovedMsg& m) {
    Enc(out, "removed").Str("collection", m.collection).Str("id", m.id).End();
  }
  void operator()(const AddedBeforeMsg& m) {
    Enc(out, "addedBefore")
        .Str("collection", m.collection)
        .Str("id", m.id)
        .Fields("fields", m.fields)
        .Before(m.before)
        .End();
  }
  void operator()(const MovedBeforeMsg& m) {
    Enc(out, "movedBefore").Str("collection", m.collection).Str("id", m.id).Before(m.before).End();
  }
  void operator()(const MethodMsg& m) {
    Enc e(out, "method");
    e.Str("method", m.method).Arr("params", m.params).Str("id", m.id);
    if (m.random_seed) e.Str("randomSeed", *m.random_seed);
    e.End();
  }
  void operator()(const ResultMsg& m) {
    Enc e(out, "result");
    e.Str("id", m.id);
    if (m.error) e.Val("error", *m.error);
    if (m.result) e.Val("result", *m.result);
    e.End();
  }
  void operator()(const UpdatedMsg& m) { Enc(out, "updated").Strings("methods", m.methods).End(); }
  void operator()(const ErrorMsg& m) {
    Enc e(out, "error");
    e.Str("reason", m.reason);
    if (m.offending_message) e.Val("offendingMessage", *m.offending_message);
    e.End();
  }
  void operator()(const DisconnectMsg&) { Enc(out, "disconnect").End(); }
};

struct NameVisitor {
  std::string_view operator()(const ConnectMsg&) { return "connect"; }
  std::string_view operator()(const ConnectedMsg&) { return "connected"; }
  std::string_view operator()(const FailedMsg&) { return "failed"; }
  std::string_view operator()(const PingMsg&) { return "ping"; }
  std::string_view operator()(const PongMsg&) { return "pong"; }
  std::string_view operator()(const SubMsg&) { return "sub"; }
  std::string_view operator()(const UnsubMsg&) { return "unsub"; }
  std::string_view operator()(const NosubMsg&) { return "nosub"; }
  std::string_view operator()(const ReadyMsg&) { return "ready"; }
  std::string_view operator()(const AddedMsg&) { return "added"; }
  std::string_view operator()(const ChangedMsg&) { return "changed"; }
  std::string_view operator()(const RemovedMsg&) { return "removed"; }
  std::string_view operator()(const AddedBeforeMsg&) { return "addedBefore"; }
  std::string_view operator()(const MovedBeforeMsg&) { return "movedBefore"; }
  std::string_view operator()(const MethodMsg&) { return "method"; }
  std::string_view operator()(const ResultMsg&) { return "result"; }
  std::string_view operator()(const UpdatedMsg&) { return "updated"; }
  std::string_view operator()(const ErrorMsg&) { return "error"; }
  std::string_view operator()(const DisconnectMsg&) { return "disconnect"; }
};

}  // namespace

std::string_view MessageName(const Message& m) { return std::visit(NameVisitor{}, m); }

std::string TopLevelReason(const absl::Status& status) {
  auto reason = status.GetPayload(ToAbsl(kReasonPayload));
  return reason ? std::string(*reason) : std::string();
}

absl::StatusOr<Message> DecodeMessage(Value& v) {
  if (!v.is_object()) return DecodeError(kBadRequest, "a DDP message must be a JSON object");
  Object& o = v.as_object();
  const Value* name = o.Find("msg");
  if (name == nullptr || !name->is_string()) {
    return DecodeError(kBadRequest, "a DDP message needs a string msg");
  }
  return DecodeByName(name->as_string(), o);
}

absl::StatusOr<Message> DecodeMessage(std::string_view text, const JsonLimits& limits) {
  // The top-level members go into a per-thread object that keeps its
  // capacity: decoding allocates only for what the message keeps.
  thread_local Object top;
  absl::StatusOr<bool> is_object = ParseJsonObject(text, &top, limits);
  if (!is_object.ok()) return DecodeError(kParseError, ToStd(is_object.status().message()));
  if (!*is_object) return DecodeError(kBadRequest, "a DDP message must be a JSON object");
  const Value* name = top.Find("msg");
  absl::StatusOr<Message> m =
      name == nullptr || !name->is_string()
          ? DecodeError(kBadRequest, "a DDP message needs a string msg")
          : DecodeByName(name->as_string(), top);
  top.clear();
  return m;
}

void AppendMessage(const Message& m, std::string* out) { std::visit(EncodeVisitor{out}, m); }

std::string EncodeMessage(const Message& m) {
  std::string out;
  out.reserve(256);  // most messages fit: one allocation instead of a doubling series
  AppendMessage(m, &out);
  return out;
}

std::string EncodeAdded(std::string_view collection, std::string_view id, const Object& fields) {
  std::string out;
  out.reserve(64 + collection.size() + id.size());
  Enc(&out, "added").Str("collection", collection).Str("id", id).Fields("fields", fields).End();
  return out;
}

std::string EncodeChanged(std::string_view collection, std::string_view id, const Object& fields,
                          const std::vector<std::string>& cleared) {
  std::string out;
  out.reserve(64 + collection.size() + id.size());
  Enc e(&out, "changed");
  e.Str("collection", collection).Str("id", id).Fields("fields", fields);
  if (!cleared.empty()) e.Strings("cleared", cleared);
  e.End();
  return out;
}

std::string EncodeRemoved(std::string_view collection, std::string_view id) {
  std::string out;
  Enc(&out, "removed").Str("collection", collection).Str("id", id).End();
  return out;
}

}  // namespace ddp

namespace ddp {

std::string EncodeDataChange(const DataChange& c) {
  switch (c.kind) {
    case DataChange::Kind::kAdded:
      return EncodeAdded(c.collection, c.id, c.fields);
    case DataChange::Kind::kChanged:
      return EncodeChanged(c.collection, c.id, c.fields, c.cleared);
    case DataChange::Kind::kRemoved:
      return EncodeRemoved(c.collection, c.id);
    case DataChange::Kind::kAddedBefore: {
      std::string out;
      Enc(&out, "addedBefore")
          .Str("collection", c.collection)
          .Str("id", c.id)
          .Fields("fields", c.fields)
          .Before(c.before)
          .End();
      return out;
    }
    case DataChange::Kind::kMovedBefore: {
      std::string out;
      Enc(&out, "movedBefore").Str("collection", c.collection).Str("id", c.id).Before(c.before).End();
      return out;
    }
  }
  return {};
}

uint32_t SharedDocument::HashId(std::string_view id) {
  // The low 32 bits of absl's hash: merge-box tables stay far below the
  // 2^25 slots where their probe index would run out of bits.
  return static_cast<uint32_t>(absl::Hash<absl::string_view>{}(absl::string_view(id.data(), id.size())));
}

void ChangeBatch::Encode() {
  encoded.clear();
  encoded.reserve(changes.size());
  for (const DataChange& c : changes) {
    encoded.push_back(std::make_shared<const std::string>(EncodeDataChange(c)));
  }
  ShareDocuments();
}

void ChangeBatch::ShareDocuments() {
  documents.clear();
  documents.reserve(changes.size());
  for (const DataChange& c : changes) {
    const bool adds = c.kind == DataChange::Kind::kAdded || c.kind == DataChange::Kind::kAddedBefore;
    documents.push_back(adds ? SharedDocumentRef::Make(c.id, c.fields)
                        : c.kind == DataChange::Kind::kChanged ? c.after
                                                               : nullptr);
  }
}

}  // namespace ddp

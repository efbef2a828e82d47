#include "server/engine/write.h"

#include "common/status_macros.h"
#include "common/strings.h"
#include "server/engine/topic_name.h"

namespace ddp::engine {
namespace {

absl::Status Bad(std::string_view what) { return absl::InvalidArgumentError(std::string(what)); }

absl::StatusOr<Object> ParseDoc(const Value& v, std::string_view where) {
  if (!v.is_object()) return Bad(StrCat(where, ": a document must be an object"));
  RETURN_IF_ERROR(query::ValidateDocument(v));
  return v.as_object();
}

absl::StatusOr<query::Selector> ParseSelector(const Value& v, std::string_view where) {
  absl::StatusOr<query::Selector> s = query::Selector::Compile(v);
  if (!s.ok()) return Bad(StrCat(where, ": ", s.status().message()));
  return s;
}

absl::StatusOr<bool> Flag(const Object& o, std::string_view name, std::string_view where) {
  const Value* v = o.Find(name);
  if (v == nullptr || v->is_null()) return false;
  if (!v->is_bool()) return Bad(StrCat(where, ": ", name, " must be a boolean"));
  return v->as_bool();
}

absl::StatusOr<WriteOp> ParseUpdateOp(std::string topic, const Value& selector,
                                      const Value& modifier, std::string_view where) {
  WriteOp op;
  op.kind = WriteOp::Kind::kUpdate;
  op.topic = std::move(topic);
  ASSIGN_OR_RETURN(op.selector, ParseSelector(selector, where));
  absl::StatusOr<query::Modifier> m = query::Modifier::Compile(modifier);
  if (!m.ok()) return Bad(StrCat(where, ": ", m.status().message()));
  op.modifier = std::move(*m);
  return op;
}

absl::StatusOr<WriteOp> ParseOp(const Value& v, size_t index) {
  std::string where = StrCat("op ", index);
  if (!v.is_object()) return Bad(StrCat(where, ": must be an object"));
  const Object& o = v.as_object();
  const Value* kind = o.Find("op");
  if (kind == nullptr || !kind->is_string()) return Bad(StrCat(where, ": needs a string op"));
  const Value* topic = o.Find("topic");
  if (topic == nullptr || !topic->is_string()) return Bad(StrCat(where, ": needs a string topic"));
  RETURN_IF_ERROR(ValidateTopicName(topic->as_string()));
  const std::string& k = kind->as_string();
  WriteOp op;
  op.topic = topic->as_string();
  if (k == "insert") {
    op.kind = WriteOp::Kind::kInsert;
    const Value* doc = o.Find("doc");
    if (doc == nullptr) return Bad(StrCat(where, ": insert needs a doc"));
    ASSIGN_OR_RETURN(Object d, ParseDoc(*doc, where));
    op.docs.push_back(std::move(d));
  } else if (k == "publish") {
    op.kind = WriteOp::Kind::kPublish;
    const Value* doc = o.Find("doc");
    const Value* docs = o.Find("docs");
    if ((doc == nullptr) == (docs == nullptr)) {
      return Bad(StrCat(where, ": publish needs doc or docs"));
    }
    if (doc != nullptr) {
      ASSIGN_OR_RETURN(Object d, ParseDoc(*doc, where));
      op.docs.push_back(std::move(d));
    } else {
      if (!docs->is_array() || docs->as_array().empty()) {
        return Bad(StrCat(where, ": docs must be a non-empty array"));
      }
      for (const Value& d : docs->as_array()) {
        ASSIGN_OR_RETURN(Object parsed, ParseDoc(d, where));
        op.docs.push_back(std::move(parsed));
      }
    }
  } else if (k == "update") {
    const Value* sel = o.Find("selector");
    const Value* mod = o.Find("modifier");
    if (sel == nullptr || mod == nullptr) {
      return Bad(StrCat(where, ": update needs selector and modifier"));
    }
    ASSIGN_OR_RETURN(op, ParseUpdateOp(op.topic, *sel, *mod, where));
    ASSIGN_OR_RETURN(op.multi, Flag(o, "multi", where));
    ASSIGN_OR_RETURN(op.upsert, Flag(o, "upsert", where));
  } else if (k == "remove") {
    op.kind = WriteOp::Kind::kRemove;
    const Value* sel = o.Find("selector");
    if (sel == nullptr) return Bad(StrCat(where, ": remove needs a selector"));
    ASSIGN_OR_RETURN(op.selector, ParseSelector(*sel, where));
    op.multi = true;
  } else if (k == "expect") {
    op.kind = WriteOp::Kind::kExpect;
    const Value* id = o.Find("id");
    if (id == nullptr || !id->is_string()) return Bad(StrCat(where, ": expect needs a string id"));
    op.id = id->as_string();
    int conditions = 0;
    if (const Value* e = o.Find("exists")) {
      if (!e->is_bool()) return Bad(StrCat(where, ": exists must be a boolean"));
      op.exists = e->as_bool();
      ++conditions;
    }
    if (const Value* ver = o.Find("version")) {
      if (!ver->is_int() || ver->as_int() < 0) {
        return Bad(StrCat(where, ": version must be a non-negative integer"));
      }
      op.version = static_cast<uint64_t>(ver->as_int());
      ++conditions;
    }
    if (const Value* m = o.Find("match")) {
      ASSIGN_OR_RETURN(query::Selector s, ParseSelector(*m, where));
      op.match = std::move(s);
      ++conditions;
    }
    if (conditions == 0) return Bad(StrCat(where, ": expect needs exists, version or match"));
  } else {
    return Bad(StrCat(where, ": unknown op '", k, "' (insert, update, remove, publish, expect)"));
  }
  return op;
}

}  // namespace

Value ResultValue(const TxResult& r, ResultShape shape) {
  switch (shape) {
    case ResultShape::kInsert:
    case ResultShape::kUpdate:
    case ResultShape::kRemove:
      return r.results.empty() ? Value() : r.results[0];
    case ResultShape::kPublish: {
      Object o;
      o.Append("ids", r.results.empty() ? Value(Array()) : r.results[0]);
      o.Append("seq", Value(static_cast<int64_t>(r.seq)));
      return Value(std::move(o));
    }
    case ResultShape::kTx: {
      Object o;
      o.Append("seq", Value(static_cast<int64_t>(r.seq)));
      o.Append("results", Value(Array(r.results)));
      return Value(std::move(o));
    }
  }
  return Value();
}

absl::StatusOr<TxRequest> ParseTx(const Value& ops, const Value& options) {
  if (!ops.is_array()) return Bad("tx: the first parameter must be an array of ops");
  if (ops.as_array().empty()) return Bad("tx: needs at least one op");
  TxRequest tx;
  for (size_t i = 0; i < ops.as_array().size(); ++i) {
    ASSIGN_OR_RETURN(WriteOp op, ParseOp(ops.as_array()[i], i));
    tx.ops.push_back(std::move(op));
  }
  if (!options.is_null()) {
    if (!options.is_object()) return Bad("tx: the options must be an object");
    if (const Value* key = options.Find("key")) {
      if (!key->is_string() || key->as_string().empty() || key->as_string().size() > 256) {
        return Bad("tx: key must be a non-empty string of at most 256 bytes");
      }
      tx.key = key->as_string();
    }
  }
  return tx;
}

absl::StatusOr<TxRequest> ParseInsert(std::string_view topic, const Array& params) {
  RETURN_IF_ERROR(ValidateTopicName(topic));
  if (params.size() != 1) return Bad("insert takes one document");
  WriteOp op;
  op.kind = WriteOp::Kind::kInsert;
  op.topic = std::string(topic);
  ASSIGN_OR_RETURN(Object doc, ParseDoc(params[0], "insert"));
  op.docs.push_back(std::move(doc));
  TxRequest tx;
  tx.ops.push_back(std::move(op));
  tx.shape = ResultShape::kInsert;
  return tx;
}

absl::StatusOr<TxRequest> ParseUpdate(std::string_view topic, const Array& params) {
  RETURN_IF_ERROR(ValidateTopicName(topic));
  if (params.size() < 2 || params.size() > 3) {
    return Bad("update takes [selector, modifier, options?]");
  }
  ASSIGN_OR_RETURN(WriteOp op, ParseUpdateOp(std::string(topic), params[0], params[1], "update"));
  if (params.size() == 3 && !params[2].is_null()) {
    if (!params[2].is_object()) return Bad("update: options must be an object");
    const Object& o = params[2].as_object();
    ASSIGN_OR_RETURN(op.multi, Flag(o, "multi", "update"));
    ASSIGN_OR_RETURN(op.upsert, Flag(o, "upsert", "update"));
    ASSIGN_OR_RETURN(op.return_object, Flag(o, "_returnObject", "update"));
  }
  TxRequest tx;
  tx.ops.push_back(std::move(op));
  tx.shape = ResultShape::kUpdate;
  return tx;
}

absl::StatusOr<TxRequest> ParseRemove(std::string_view topic, const Array& params) {
  RETURN_IF_ERROR(ValidateTopicName(topic));
  if (params.size() != 1) return Bad("remove takes [selector]");
  WriteOp op;
  op.kind = WriteOp::Kind::kRemove;
  op.topic = std::string(topic);
  ASSIGN_OR_RETURN(op.selector, ParseSelector(params[0], "remove"));
  op.multi = true;
  TxRequest tx;
  tx.ops.push_back(std::move(op));
  tx.shape = ResultShape::kRemove;
  return tx;
}

absl::StatusOr<TxRequest> ParsePublish(std::string_view topic, const Value& docs) {
  RETURN_IF_ERROR(ValidateTopicName(topic));
  WriteOp op;
  op.kind = WriteOp::Kind::kPublish;
  op.topic = std::string(topic);
  if (docs.is_array()) {
    if (docs.as_array().empty()) return Bad("publish: needs at least one document");
    for (const Value& d : docs.as_array()) {
      ASSIGN_OR_RETURN(Object parsed, ParseDoc(d, "publish"));
      op.docs.push_back(std::move(parsed));
    }
  } else {
    ASSIGN_OR_RETURN(Object parsed, ParseDoc(docs, "publish"));
    op.docs.push_back(std::move(parsed));
  }
  TxRequest tx;
  tx.ops.push_back(std::move(op));
  tx.shape = ResultShape::kPublish;
  return tx;
}

}  // namespace ddp::engine

#include "server/engine/apply.h"

#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "protocol/ids.h"
#include "protocol/json.h"
#include "query/path.h"
#include "server/engine/topic_name.h"

namespace ddp::engine {
namespace {

// The prior state of a document with a newly generated id: none.
const DocState kAbsent;

// `fields` with `id` as `_id` in front, as Meteor and MongoDB store
// documents.
Object WithLeadingId(const std::string& id, Object fields) {
  Object doc;
  doc.reserve(fields.size() + 1);
  doc.Append("_id", Value(id));
  for (Member& m : fields) doc.Append(std::move(m.key), std::move(m.value));
  return doc;
}

absl::Status DuplicateKey(std::string_view topic, std::string_view id) {
  return absl::AlreadyExistsError(
      StrCat("duplicate key: a document with _id '", id, "' already exists in '", topic, "'"));
}

absl::Status OutsideRowFilter(std::string_view topic) {
  return absl::PermissionDeniedError(
      StrCat("Access denied: the document does not satisfy the row filter of '", topic, "'"));
}

bool Visible(const WriteGuard* guard, const Object& doc) {
  return guard == nullptr || guard->filter.Matches(doc);
}

// A replacement written by a caller who cannot see `hidden` keeps them
// from the stored document.
absl::Status KeepHidden(const WriteGuard* guard, const Object& stored, Object& doc) {
  if (guard == nullptr || guard->hidden.empty()) return absl::OkStatus();
  Value out(std::move(doc));
  for (const std::string& path : guard->hidden) {
    query::Branches branches;
    query::LookupBranches(stored, query::Path(path), &branches);
    // A hidden field under an array has no single place to go back to:
    // the replacement keeps it only where the path is plain objects.
    if (branches.size() != 1 || branches[0].value == nullptr) continue;
    RETURN_IF_ERROR(query::SetPath(out, path, *branches[0].value));
  }
  doc = std::move(out.as_object());
  return absl::OkStatus();
}

}  // namespace

std::string_view DocKeyIn(std::string& buf, std::string_view topic, std::string_view id) {
  buf.clear();
  buf.reserve(topic.size() + 1 + id.size());
  buf.append(topic);
  buf.push_back('\0');
  buf.append(id);
  return buf;
}

std::string OverlayKey(std::string_view topic, std::string_view id) {
  std::string k;
  DocKeyIn(k, topic, id);
  return k;
}

const DocState* Overlay::Find(std::string_view topic, std::string_view id) const {
  if (docs_.empty()) return nullptr;
  auto d = docs_.find(DocKeyIn(key_, topic, id));
  return d == docs_.end() ? nullptr : &d->second;
}

void Overlay::Put(std::string_view topic, std::string_view id, DocState state) {
  docs_.insert_or_assign(OverlayKey(topic, id), std::move(state));
}

void Overlay::ForEachOfTopic(
    std::string_view topic,
    const std::function<void(std::string_view id, const DocState&)>& fn) const {
  for (const auto& [key, state] : docs_) {
    std::string_view k = key;
    if (k.size() > topic.size() && k[topic.size()] == '\0' && k.starts_with(topic)) {
      fn(k.substr(topic.size() + 1), state);
    }
  }
}

void StoreReads::Add(const TxRequest& tx) {
  auto add = [&](const std::string& topic, std::string_view id) {
    if (states_.contains(DocKeyIn(key_, topic, id))) return;
    states_.try_emplace(key_);
    keys_.emplace_back(topic, id);
  };
  for (const WriteOp& op : tx.ops) {
    switch (op.kind) {
      case WriteOp::Kind::kInsert:
      case WriteOp::Kind::kPublish:
        for (const Object& doc : op.docs) {
          if (const Value* id = doc.Find("_id"); id != nullptr && id->is_string()) {
            add(op.topic, id->as_string());
          }
        }
        break;
      case WriteOp::Kind::kUpdate:
      case WriteOp::Kind::kRemove:
        if (const auto& id = op.selector.id()) add(op.topic, *id);
        break;
      case WriteOp::Kind::kExpect:
        add(op.topic, op.id);
        break;
    }
  }
}

void StoreReads::Read(const storage::Store& store) {
  if (keys_.empty()) return;
  auto stored = store.GetMany(keys_);
  for (size_t i = 0; i < keys_.size(); ++i) {
    const auto& [topic, id] = keys_[i];
    auto it = states_.find(DocKeyIn(key_, topic, id));
    if (!stored[i].ok()) {
      states_.erase(it);
    } else if (stored[i]->has_value()) {
      storage::StoredDoc& d = **stored[i];
      it->second = DocState{std::make_shared<const Object>(std::move(d.doc)), d.version, nullptr};
    }
  }
  keys_.clear();
}

const DocState* StoreReads::Find(std::string_view topic, std::string_view id) const {
  auto it = states_.find(DocKeyIn(key_, topic, id));
  return it == states_.end() ? nullptr : &it->second;
}

TxApplier::TxApplier(const storage::Store& store, const Overlay& group, const StoreReads* reads,
                     const EngineOptions& options, int64_t now_millis)
    : store_(store), group_(group), reads_(reads), options_(options), now_millis_(now_millis) {}

absl::StatusOr<DocState> TxApplier::Get(const std::string& topic, const std::string& id) {
  if (const DocState* s = mine_.Find(topic, id)) return *s;
  if (const DocState* s = group_.Find(topic, id)) return *s;
  if (reads_ != nullptr) {
    if (const DocState* s = reads_->Find(topic, id)) return *s;
  }
  absl::StatusOr<std::optional<storage::StoredDoc>> stored = store_.Get(topic, id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return DocState{};
  return DocState{std::make_shared<const Object>(std::move((*stored)->doc)), (*stored)->version,
                  nullptr};
}

void TxApplier::Put(const std::string& topic, const std::string& id,
                    std::shared_ptr<const Object> doc, const DocState* prior) {
  if (!before_.contains(DocKeyIn(key_, topic, id))) {
    // Remember the state before this transaction touched the document.
    if (prior != nullptr) {
      before_.emplace(OverlayKey(topic, id), *prior);
    } else {
      absl::StatusOr<DocState> read = Get(topic, id);
      before_.emplace(OverlayKey(topic, id), read.ok() ? *read : DocState{});
    }
    order_.emplace_back(topic, id);
  }
  mine_.Put(topic, id, DocState{std::move(doc), 0, nullptr});
}

absl::Status TxApplier::CheckTopic(const std::string& topic) const {
  if (options_.create_topics_on_write) return absl::OkStatus();
  for (const std::string& p : options_.declared_topics) {
    if (p == topic || (IsPattern(p) && TopicMatches(p, topic))) return absl::OkStatus();
  }
  return absl::NotFoundError(StrCat("topic '", topic,
                                    "' does not exist (topics are not created on write here)"));
}

absl::Status TxApplier::Candidates(const std::string& topic, const query::Selector& selector,
                                   bool multi, const WriteGuard* guard,
                                   std::vector<std::pair<std::string, DocState>>* out) {
  if (const auto& id = selector.id()) {
    ASSIGN_OR_RETURN(DocState s, Get(topic, *id));
    if (s.doc != nullptr && selector.Matches(*s.doc) && Visible(guard, *s.doc)) {
      out->emplace_back(*id, std::move(s));
    }
    return absl::OkStatus();
  }
  // Everything in the topic, with pending writes laid over the store, in
  // id order.
  std::map<std::string, DocState, std::less<>> docs;
  absl::Status st = store_.Scan(topic, [&](std::string_view id, storage::StoredDoc&& d) {
    docs.emplace(std::string(id),
                 DocState{std::make_shared<const Object>(std::move(d.doc)), d.version, nullptr});
    return true;
  });
  RETURN_IF_ERROR(st);
  for (const Overlay* layer : {&group_, static_cast<const Overlay*>(&mine_)}) {
    layer->ForEachOfTopic(topic, [&](std::string_view id, const DocState& state) {
      docs.insert_or_assign(std::string(id), state);
    });
  }
  for (auto& [id, state] : docs) {
    if (state.doc == nullptr || !selector.Matches(*state.doc) || !Visible(guard, *state.doc)) {
      continue;
    }
    out->emplace_back(id, std::move(state));
    if (!multi) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> TxApplier::Insert(WriteOp& op) {
  RETURN_IF_ERROR(CheckTopic(op.topic));
  Object& given = op.docs[0];
  if (const Value* given_id = given.Find("_id")) {
    if (!Visible(op.guard.get(), given)) return OutsideRowFilter(op.topic);
    std::string id = given_id->as_string();
    ASSIGN_OR_RETURN(DocState existing, Get(op.topic, id));
    if (existing.doc != nullptr) return DuplicateKey(op.topic, id);
    Put(op.topic, id, std::make_shared<const Object>(std::move(given)), &existing);
    return Value(std::move(id));
  }
  // A generated id is time-ordered, like MongoDB's ObjectId (a ULID: the
  // millisecond, then 80 random bits incremented within a millisecond), so
  // documents inserted later sort later and a topic's new documents land
  // at the end of its key range: RocksDB appends them instead of
  // rewriting older files in compaction (1 KB inserts ~1.4x faster than
  // with Meteor's random ids). It is new (strictly increasing within the
  // process, 80 fresh random bits across processes, and no client can
  // plant a document under it beforehand: within a millisecond each id is
  // the last plus a random step of up to 2^32), so there is no read of the
  // prior state (that store read was 7% of an insert's CPU).
  std::string id = DefaultEventIds().Next();
  auto doc = std::make_shared<const Object>(WithLeadingId(id, std::move(given)));
  // The row filter sees the document as stored, _id included.
  if (!Visible(op.guard.get(), *doc)) return OutsideRowFilter(op.topic);
  Put(op.topic, id, std::move(doc), &kAbsent);
  return Value(std::move(id));
}

absl::StatusOr<Value> TxApplier::Publish(WriteOp& op) {
  RETURN_IF_ERROR(CheckTopic(op.topic));
  Array ids;
  ids.reserve(op.docs.size());
  for (Object& doc : op.docs) {
    std::string id;
    // A generated id is new (time-ordered ids are unique across restarts):
    // there is no prior state to read.
    const DocState* prior = nullptr;
    DocState stored;
    if (const Value* v = doc.Find("_id")) {
      id = v->as_string();
      if (op.guard != nullptr) {
        // A put over a document the caller may not see, or that has fields
        // it may not see, is decided against the stored state.
        ASSIGN_OR_RETURN(stored, Get(op.topic, id));
        prior = &stored;
        if (stored.doc != nullptr) {
          if (!Visible(op.guard.get(), *stored.doc)) return OutsideRowFilter(op.topic);
          RETURN_IF_ERROR(KeepHidden(op.guard.get(), *stored.doc, doc));
        }
      }
    } else {
      prior = &kAbsent;
      id = DefaultEventIds().Next();
      doc = WithLeadingId(id, std::move(doc));
    }
    // The row filter sees the document as stored, _id included.
    if (!Visible(op.guard.get(), doc)) return OutsideRowFilter(op.topic);
    // An event with a known _id replaces the document (publish is a put).
    Put(op.topic, id, std::make_shared<const Object>(std::move(doc)), prior);
    ids.push_back(Value(std::move(id)));
  }
  return Value(std::move(ids));
}

absl::StatusOr<Value> TxApplier::Update(const WriteOp& op) {
  RETURN_IF_ERROR(CheckTopic(op.topic));
  std::vector<std::pair<std::string, DocState>> matches;
  const WriteGuard* guard = op.guard.get();
  RETURN_IF_ERROR(Candidates(op.topic, op.selector, op.multi, guard, &matches));
  int64_t affected = 0;
  std::optional<std::string> inserted_id;
  for (auto& [id, state] : matches) {
    ASSIGN_OR_RETURN(Object updated, op.modifier.Apply(*state.doc, now_millis_));
    if (guard != nullptr) {
      if (op.modifier.is_replacement()) RETURN_IF_ERROR(KeepHidden(guard, *state.doc, updated));
      if (!guard->filter.Matches(updated)) return OutsideRowFilter(op.topic);
    }
    ++affected;
    if (updated == *state.doc) continue;  // matched, nothing to write
    Put(op.topic, id, std::make_shared<const Object>(std::move(updated)));
  }
  if (affected == 0 && op.upsert) {
    // The new document starts from the selector's equality fields.
    Value seed{Object()};
    std::string id = op.selector.id().value_or("");
    for (const auto& [path, value] : op.selector.equalities()) {
      if (path == "_id") continue;
      RETURN_IF_ERROR(query::SetPath(seed, path, value));
    }
    // The row filter's equalities seed it too: {ownerId: "$user.sub"} makes
    // an upsert the caller's own document.
    if (guard != nullptr) {
      for (const auto& [path, value] : guard->filter.equalities()) {
        if (path == "_id") continue;
        query::Branches at;
        query::LookupBranches(seed, query::Path(path), &at);
        if (at.size() == 1 && at[0].value != nullptr) continue;  // the selector said
        RETURN_IF_ERROR(query::SetPath(seed, path, value));
      }
    }
    if (id.empty()) id = DefaultEventIds().Next();
    Object with_id = WithLeadingId(id, std::move(seed.as_object()));
    ASSIGN_OR_RETURN(Object doc, op.modifier.ApplyForInsert(with_id, now_millis_));
    // A replacement or $set may have supplied the _id.
    if (const Value* final_id = doc.Find("_id"); final_id != nullptr && final_id->is_string()) {
      id = final_id->as_string();
    }
    RETURN_IF_ERROR(query::ValidateDocument(Value(doc)));
    if (!Visible(guard, doc)) return OutsideRowFilter(op.topic);
    ASSIGN_OR_RETURN(DocState existing, Get(op.topic, id));
    if (existing.doc != nullptr) return DuplicateKey(op.topic, id);
    Put(op.topic, id, std::make_shared<const Object>(std::move(doc)));
    affected = 1;
    inserted_id = id;
  }
  if (!op.return_object) return Value(affected);
  Object r;
  r.Append("numberAffected", Value(affected));
  if (inserted_id) r.Append("insertedId", Value(*inserted_id));
  return Value(std::move(r));
}

absl::StatusOr<Value> TxApplier::Remove(const WriteOp& op) {
  RETURN_IF_ERROR(CheckTopic(op.topic));
  std::vector<std::pair<std::string, DocState>> matches;
  RETURN_IF_ERROR(Candidates(op.topic, op.selector, /*multi=*/true, op.guard.get(), &matches));
  for (auto& [id, state] : matches) Put(op.topic, id, nullptr);
  return Value(static_cast<int64_t>(matches.size()));
}

absl::Status TxApplier::Expect(const WriteOp& op) {
  ASSIGN_OR_RETURN(DocState s, Get(op.topic, op.id));
  // A document the caller may not see is absent for its preconditions.
  if (s.doc != nullptr && !Visible(op.guard.get(), *s.doc)) s = DocState{};
  bool exists = s.doc != nullptr;
  if (op.exists && *op.exists != exists) {
    return ConflictError(StrCat("expected '", op.id, "' in '", op.topic, "' to ",
                                *op.exists ? "exist" : "not exist"));
  }
  if (op.version) {
    // A document written earlier in this transaction has no version yet.
    bool written_here = mine_.Find(op.topic, op.id) != nullptr;
    if (!exists || written_here || s.version != *op.version) {
      return ConflictError(StrCat("expected '", op.id, "' in '", op.topic, "' at version ",
                                  *op.version, ", found ",
                                  !exists ? std::string("no document")
                                          : written_here ? std::string("a write in this transaction")
                                                         : StrCat("version ", s.version)));
    }
  }
  if (op.match && (!exists || !op.match->Matches(*s.doc))) {
    return ConflictError(
        StrCat("expected '", op.id, "' in '", op.topic, "' to match the given selector"));
  }
  return absl::OkStatus();
}

absl::Status TxApplier::Apply(TxRequest& tx, std::vector<Value>* results) {
  for (WriteOp& op : tx.ops) {
    switch (op.kind) {
      case WriteOp::Kind::kInsert: {
        ASSIGN_OR_RETURN(Value r, Insert(op));
        results->push_back(std::move(r));
        break;
      }
      case WriteOp::Kind::kPublish: {
        ASSIGN_OR_RETURN(Value r, Publish(op));
        results->push_back(std::move(r));
        break;
      }
      case WriteOp::Kind::kUpdate: {
        ASSIGN_OR_RETURN(Value r, Update(op));
        results->push_back(std::move(r));
        break;
      }
      case WriteOp::Kind::kRemove: {
        ASSIGN_OR_RETURN(Value r, Remove(op));
        results->push_back(std::move(r));
        break;
      }
      case WriteOp::Kind::kExpect:
        RETURN_IF_ERROR(Expect(op));
        results->push_back(Value());
        break;
    }
  }
  return absl::OkStatus();
}

std::vector<TxApplier::Written> TxApplier::TakeWrites() {
  std::vector<Written> out;
  out.reserve(order_.size());
  for (auto& [topic, id] : order_) {
    const DocState& before = before_.at(DocKeyIn(key_, topic, id));
    const DocState* after = mine_.Find(topic, id);
    std::shared_ptr<const Object> after_doc = after ? after->doc : nullptr;
    if (before.doc == nullptr && after_doc == nullptr) continue;  // created and removed
    if (before.doc != nullptr && after_doc != nullptr && *before.doc == *after_doc) continue;
    Written w;
    w.change.topic = topic;
    w.change.id = id;
    w.change.before = before.doc;
    w.change.after = std::move(after_doc);
    w.prev_version = before.version;
    w.before_json = before.json;
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace ddp::engine

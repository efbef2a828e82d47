// Subscription: the context a publication publishes through (session.h).
// Every call is applied on the session's strand, in call order.
#include "server/ddp/session.h"

#include "common/strings.h"
#include "protocol/ddp_error.h"
#include "spdlog/spdlog.h"

namespace ddp {

Subscription::Subscription(std::weak_ptr<Session> session, std::shared_ptr<Executor> executor,
                           SubHandle handle, std::string id, std::string name, Array params,
                           ConnectionInfo connection)
    : session_(std::move(session)),
      executor_(std::move(executor)),
      handle_(handle),
      id_(std::move(id)),
      name_(std::move(name)),
      params_(std::move(params)),
      connection_(std::move(connection)) {}

void Subscription::OnStrand(absl::AnyInvocable<void(Session&) &&> fn) {
  if (stopped()) return;
  if (executor_->RunningInThisThread()) {
    if (auto s = session_.lock()) std::move(fn)(*s);
    return;
  }
  executor_->Post([weak = session_, fn = std::move(fn)]() mutable {
    if (auto s = weak.lock()) std::move(fn)(*s);
  });
}

namespace {
void LogMisuse(const Subscription& sub, const absl::Status& s) {
  spdlog::warn("publication '{}' (sub {}): {}", sub.name(), sub.id(), ToStd(s.message()));
}
}  // namespace

void Subscription::Added(std::string collection, std::string id, Object fields) {
  OnStrand([self = shared_from_this(), collection = std::move(collection), id = std::move(id),
            fields = std::move(fields)](Session& s) mutable {
    if (self->stopped()) return;
    if (self->forwards()) {
      static_cast<MergeSink&>(s).SendAdded(collection, id, fields);
      return;
    }
    absl::Status st = s.merge_box_.Added(self->handle_, collection, id, std::move(fields), s);
    if (!st.ok()) LogMisuse(*self, st);
  });
}

void Subscription::Changed(std::string collection, std::string id, Object fields,
                           std::vector<std::string> cleared) {
  OnStrand([self = shared_from_this(), collection = std::move(collection), id = std::move(id),
            fields = std::move(fields), cleared = std::move(cleared)](Session& s) mutable {
    if (self->stopped()) return;
    if (self->forwards()) {
      // Never an empty `changed` (the merge box's rule, kept here).
      if (!fields.empty() || !cleared.empty()) {
        static_cast<MergeSink&>(s).SendChanged(collection, id, fields, cleared);
      }
      return;
    }
    absl::Status st =
        s.merge_box_.Changed(self->handle_, collection, id, std::move(fields), cleared, s);
    if (!st.ok()) LogMisuse(*self, st);
  });
}

void Subscription::Removed(std::string collection, std::string id) {
  OnStrand([self = shared_from_this(), collection = std::move(collection),
            id = std::move(id)](Session& s) mutable {
    if (self->stopped()) return;
    if (self->forwards()) {
      static_cast<MergeSink&>(s).SendRemoved(collection, id);
      return;
    }
    absl::Status st = s.merge_box_.Removed(self->handle_, collection, id, s);
    if (!st.ok()) LogMisuse(*self, st);
  });
}

void Subscription::Apply(std::vector<DataChange> changes) {
  auto batch = std::make_shared<ChangeBatch>();
  batch->changes = std::move(changes);
  Apply(ChangeBatchPtr(std::move(batch)));
}

void Subscription::Apply(ChangeBatchPtr batch) {
  if (stopped()) return;
  if (executor_->RunningInThisThread()) {
    if (auto s = session_.lock()) ApplyBatch(*s, *batch);
    return;
  }
  executor_->Post([weak = session_, self = shared_from_this(), batch = std::move(batch)] {
    if (auto s = weak.lock()) self->ApplyBatch(*s, *batch);
  });
}

void Subscription::ForwardBatch(Session& s, const ChangeBatch& batch) {
  MergeSink& sink = s;
  for (size_t i = 0; i < batch.changes.size(); ++i) {
    if (stopped()) return;
    if (i < batch.encoded.size() && batch.encoded[i]) {
      sink.SendEncoded(batch.encoded[i]);
      continue;
    }
    const DataChange& c = batch.changes[i];
    // Never an empty `changed` (the merge box's rule, kept here).
    if (c.kind == DataChange::Kind::kChanged && c.fields.empty() && c.cleared.empty()) continue;
    sink.SendEncoded(std::make_shared<const std::string>(EncodeDataChange(c)));
  }
}

void Subscription::ApplyBatch(Session& s, const ChangeBatch& batch) {
  if (forwards()) {
    ForwardBatch(s, batch);
    return;
  }
  static const EncodedChange kNone;
  static const SharedDocumentRef kNoDocument;
  // Keeps this subscription alive if an ordered clash stops it midway.
  const std::shared_ptr<Subscription> self = shared_from_this();
  // Each change looks up the client's index, a table far larger than the
  // caches; loading the slots of the change kPrefetch ahead overlaps the
  // waits (bench_merge_box, batches of 32: twice the adds per second).
  constexpr size_t kPrefetch = 8;
  auto prefetch = [&](size_t i) {
    if (i >= batch.changes.size()) return;
    const DataChange& c = batch.changes[i];
    const SharedDocumentRef* doc = i < batch.documents.size() ? &batch.documents[i] : nullptr;
    s.merge_box_.Prefetch(c.collection, c.id,
                          doc != nullptr && *doc ? (*doc)->id_hash() : SharedDocument::HashId(c.id));
  };
  if (batch.changes.size() > 1) {
    for (size_t i = 0; i < kPrefetch; ++i) prefetch(i);
  }
  for (size_t i = 0; i < batch.changes.size(); ++i) {
    if (stopped()) return;
    if (batch.changes.size() > 1) prefetch(i + kPrefetch);
    const DataChange& c = batch.changes[i];
    const EncodedChange& encoded = i < batch.encoded.size() ? batch.encoded[i] : kNone;
    // The merge box keeps a reference to these shared fields rather than a
    // copy per client.
    const SharedDocumentRef& document =
        i < batch.documents.size() ? batch.documents[i] : kNoDocument;
    const Object& fields = document ? document->fields() : c.fields;
    absl::Status st;
    switch (c.kind) {
      case DataChange::Kind::kAdded:
        st = s.merge_box_.Added(handle_, c.collection, c.id, fields, s, encoded, document);
        break;
      case DataChange::Kind::kChanged:
        st = s.merge_box_.Changed(handle_, c.collection, c.id, c.fields, c.cleared, s, encoded,
                                  document);
        break;
      case DataChange::Kind::kRemoved:
        st = s.merge_box_.Removed(handle_, c.collection, c.id, s, encoded);
        break;
      case DataChange::Kind::kAddedBefore:
        st = s.merge_box_.AddedBefore(handle_, c.collection, c.id, fields, c.before, s, encoded,
                                      document);
        break;
      case DataChange::Kind::kMovedBefore:
        st = s.merge_box_.MovedBefore(handle_, c.collection, c.id, c.before, s, encoded);
        break;
    }
    if (st.code() == absl::StatusCode::kInvalidArgument) {
      // An ordered collection clash: the subscription cannot be served.
      s.StopSubscription(self, /*notify=*/true, st);
      return;
    }
    if (!st.ok()) LogMisuse(*this, st);
  }
}

void Subscription::Ready() {
  OnStrand([self = shared_from_this()](Session& s) {
    if (self->stopped() || self->ready_sent_ || self->id_.empty()) return;
    self->ready_sent_ = true;
    // After a re-run the client does not hear `ready` again for what it saw
    // ready before.
    if (!(s.rerun_.active() && s.rerun_.SuppressReady(self->id_))) {
      s.SendMessage(ReadyMsg{{self->id_}});
    }
    s.MaybeFinishResume(self->id_);
    s.MaybeFinishRerun(self->id_);
  });
}

void Subscription::Error(absl::Status status) {
  OnStrand([self = shared_from_this(), status = std::move(status)](Session& s) mutable {
    s.StopSubscription(self, /*notify=*/true, std::move(status));
  });
}

void Subscription::Stop() {
  OnStrand([self = shared_from_this()](Session& s) {
    s.StopSubscription(self, /*notify=*/true, std::nullopt);
  });
}

void Subscription::OnStop(absl::AnyInvocable<void() &&> fn) {
  // Registered after the stop: run at once (on the strand).
  auto run_now = [](absl::AnyInvocable<void() &&>& f) { std::move(f)(); };
  if (stopped()) {
    if (executor_->RunningInThisThread()) {
      run_now(fn);
    } else {
      executor_->Post(std::move(fn));
    }
    return;
  }
  auto add = [self = shared_from_this(), fn = std::move(fn)]() mutable {
    if (self->stopped()) {
      std::move(fn)();
    } else {
      self->on_stop_.push_back(std::move(fn));
    }
  };
  if (executor_->RunningInThisThread()) {
    add();
  } else {
    executor_->Post(std::move(add));
  }
}

}  // namespace ddp

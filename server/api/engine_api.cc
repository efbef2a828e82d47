#include "server/api/engine_api.h"

#include <mutex>

#include "common/status_macros.h"
#include "common/strings.h"
#include "server/ddp/session.h"
#include "server/engine/topic_name.h"

namespace ddp {
namespace {

using engine::Delta;
using engine::Engine;
using engine::TxRequest;
using engine::TxResult;

// Delivers an engine subscription's deltas to a DDP subscription.
class DdpSink : public engine::LiveSink {
 public:
  explicit DdpSink(std::shared_ptr<Subscription> sub) : sub_(std::move(sub)) {}
  void Send(ChangeBatchPtr deltas) override { sub_->Apply(std::move(deltas)); }
  void Ready() override { sub_->Ready(); }
  void Fail(absl::Status status) override { sub_->Error(std::move(status)); }

 private:
  std::shared_ptr<Subscription> sub_;
};

// Joins the engine's registration with the DDP subscription's stop, which
// may come first.
struct LiveLink {
  std::mutex mu;
  std::optional<engine::LiveRegistry::Id> id;
  bool stopped = false;
};

void SubmitTx(const std::shared_ptr<Engine>& engine, const access::Access* access,
              const MethodCall& call, absl::StatusOr<TxRequest> tx, const MethodReply& reply,
              bool via_tx = false) {
  if (!tx.ok()) {
    reply(tx.status());
    return;
  }
  if (access != nullptr) {
    if (absl::Status allowed = access->AuthorizeTx(CallerOf(call.connection), *tx, via_tx);
        !allowed.ok()) {
      reply(allowed);
      return;
    }
  }
  engine::ResultShape shape = tx->shape;
  engine->Submit(std::move(*tx), [reply, shape](absl::StatusOr<TxResult> r) {
    if (!r.ok()) {
      reply(r.status());
    } else {
      reply(std::optional<Value>(engine::ResultValue(*r, shape)));
    }
  });
  reply.Unblock();
}

// "/chat.room1/insert" -> ("chat.room1", "insert").
std::optional<std::pair<std::string_view, std::string_view>> SplitCollectionMethod(
    std::string_view name) {
  if (name.size() < 3 || name[0] != '/') return std::nullopt;
  size_t slash = name.rfind('/');
  if (slash == 0) return std::nullopt;
  return std::make_pair(name.substr(1, slash - 1), name.substr(slash + 1));
}

struct Handlers {
  MethodHandler insert, update, remove;
  PublicationHandler topic;
};

}  // namespace

absl::StatusOr<engine::PlanPtr> ParseLiveQuery(std::string_view target, const Value& query,
                                               const query::LiveLimits& limits,
                                               const access::Access* access,
                                               const access::Caller& caller, access::Action a) {
  if (access == nullptr) return engine::ParsePlan(target, query, limits);
  ASSIGN_OR_RETURN(std::optional<Value> allowed, access->RewriteQuery(caller, target, query, a));
  return engine::ParsePlan(target, allowed ? *allowed : query, limits);
}

PublicationStrategy StrategyFor(const EngineApiOptions& options, std::string_view name) {
  for (const PublicationStrategyRule& r : options.strategies) {
    if (r.pattern == name || (engine::IsPattern(r.pattern) && !engine::IsPattern(name) &&
                              engine::TopicMatches(r.pattern, name))) {
      return r.strategy;
    }
  }
  return PublicationStrategy::kServerMerge;
}

void RegisterEngineApi(Registry& registry, std::shared_ptr<Engine> engine,
                       EngineApiOptions options) {
  auto handlers = std::make_shared<Handlers>();
  // Every handler holds the rules it applies (null: none).
  std::shared_ptr<const access::Access> rights = options.access;
  handlers->insert = [engine, rights](MethodCall call, MethodReply reply) {
    auto parts = SplitCollectionMethod(call.name);
    SubmitTx(engine, rights.get(), call, engine::ParseInsert(parts->first, call.params), reply);
  };
  handlers->update = [engine, rights](MethodCall call, MethodReply reply) {
    auto parts = SplitCollectionMethod(call.name);
    SubmitTx(engine, rights.get(), call, engine::ParseUpdate(parts->first, call.params), reply);
  };
  handlers->remove = [engine, rights](MethodCall call, MethodReply reply) {
    auto parts = SplitCollectionMethod(call.name);
    SubmitTx(engine, rights.get(), call, engine::ParseRemove(parts->first, call.params), reply);
  };
  handlers->topic = [engine, rights,
                     options = std::move(options)](std::shared_ptr<Subscription> sub) {
    sub->SetStrategy(StrategyFor(options, sub->name()));
    if (sub->params().size() > 1) {
      sub->Error(absl::InvalidArgumentError("a topic subscription takes one query"));
      return;
    }
    absl::StatusOr<engine::PlanPtr> q =
        ParseLiveQuery(sub->name(), sub->params().empty() ? Value() : sub->params()[0],
                       engine->options().live_limits, rights.get(), CallerOf(sub->connection()),
                       access::Action::kSub);
    if (!q.ok()) {
      sub->Error(q.status());
      return;
    }
    auto link = std::make_shared<LiveLink>();
    sub->OnStop([engine, link] {
      std::lock_guard<std::mutex> lock(link->mu);
      link->stopped = true;
      if (link->id) engine->Unsubscribe(*link->id);
    });
    engine->Subscribe(std::move(*q), std::make_shared<DdpSink>(sub),
                      [engine, link, sub](absl::StatusOr<engine::LiveRegistry::Id> id) {
                        if (!id.ok()) {
                          sub->Error(id.status());
                          return;
                        }
                        std::lock_guard<std::mutex> lock(link->mu);
                        link->id = *id;
                        if (link->stopped) engine->Unsubscribe(*id);
                      });
  };

  registry.SetMethodResolver([handlers](std::string_view name) -> const MethodHandler* {
    auto parts = SplitCollectionMethod(name);
    if (!parts || !engine::ValidateTopicName(parts->first).ok()) return nullptr;
    if (parts->second == "insert") return &handlers->insert;
    if (parts->second == "update") return &handlers->update;
    if (parts->second == "remove") return &handlers->remove;
    return nullptr;
  });
  registry.SetPublicationResolver([handlers](std::string_view name) -> const PublicationHandler* {
    bool valid = engine::IsPattern(name) ? engine::ValidateTopicPattern(name).ok()
                                         : engine::ValidateTopicName(name).ok();
    return valid ? &handlers->topic : nullptr;
  });

  (void)registry.AddMethod("publish", [engine, rights](MethodCall call, MethodReply reply) {
    if (call.params.size() != 2 || !call.params[0].is_string()) {
      reply(absl::InvalidArgumentError("publish takes [topic, doc or [docs]]"));
      return;
    }
    SubmitTx(engine, rights.get(), call,
             engine::ParsePublish(call.params[0].as_string(), call.params[1]), reply);
  });
  (void)registry.AddMethod("tx", [engine, rights](MethodCall call, MethodReply reply) {
    if (call.params.empty() || call.params.size() > 2) {
      reply(absl::InvalidArgumentError("tx takes [ops, {key}?]"));
      return;
    }
    SubmitTx(engine, rights.get(), call,
             engine::ParseTx(call.params[0], call.params.size() > 1 ? call.params[1] : Value()),
             reply, /*via_tx=*/true);
  });
  (void)registry.AddMethod("query", [engine, rights](MethodCall call, MethodReply reply) {
    if (call.params.empty() || call.params.size() > 2 || !call.params[0].is_string()) {
      reply(absl::InvalidArgumentError("query takes [topic or pattern, query?]"));
      return;
    }
    absl::StatusOr<engine::PlanPtr> spec = ParseLiveQuery(
        call.params[0].as_string(), call.params.size() > 1 ? call.params[1] : Value(),
        engine->options().live_limits, rights.get(), CallerOf(call.connection),
        access::Action::kQuery);
    if (!spec.ok()) {
      reply(spec.status());
      return;
    }
    engine->Query(std::move(*spec), [reply](absl::StatusOr<Array> docs) {
      if (!docs.ok()) {
        reply(docs.status());
      } else {
        reply(std::optional<Value>(Value(std::move(*docs))));
      }
    });
    reply.Unblock();
  });
  // cluster.status: where this node and the others stand in the commit
  // log (ddpctl cluster status).
  (void)registry.AddMethod("cluster.status", [engine](MethodCall call, MethodReply reply) {
    Object out = engine::LogProgressToObject(engine->log_progress(), engine->last_seq());
    reply(std::optional<Value>(Value(std::move(out))));
  });
  (void)registry.AddMethod("history", [engine, rights](MethodCall call, MethodReply reply) {
    if (call.params.empty() || call.params.size() > 2 || !call.params[0].is_string()) {
      reply(absl::InvalidArgumentError("history takes [topic, {fromSeq, limit}?]"));
      return;
    }
    const std::string& topic = call.params[0].as_string();
    absl::Status valid = engine::IsPattern(topic) ? engine::ValidateTopicPattern(topic)
                                                  : engine::ValidateTopicName(topic);
    if (!valid.ok()) {
      reply(valid);
      return;
    }
    std::optional<query::Projection> cut;
    if (rights != nullptr) {
      absl::StatusOr<std::optional<query::Projection>> allowed =
          rights->ForHistory(CallerOf(call.connection), topic);
      if (!allowed.ok()) {
        reply(allowed.status());
        return;
      }
      cut = std::move(*allowed);
    }
    uint64_t from = 0;
    size_t limit = 1000;
    if (call.params.size() > 1 && !call.params[1].is_null()) {
      const Value& o = call.params[1];
      if (!o.is_object()) {
        reply(absl::InvalidArgumentError("history: options must be an object"));
        return;
      }
      if (const Value* f = o.Find("fromSeq")) {
        if (!f->is_int() || f->as_int() < 0) {
          reply(absl::InvalidArgumentError("history: fromSeq must be a non-negative integer"));
          return;
        }
        from = static_cast<uint64_t>(f->as_int());
      }
      if (const Value* l = o.Find("limit")) {
        if (!l->is_int() || l->as_int() <= 0 || l->as_int() > 10000) {
          reply(absl::InvalidArgumentError("history: limit must be an integer in 1..10000"));
          return;
        }
        limit = static_cast<size_t>(l->as_int());
      }
    }
    engine->History(
        topic, from, limit,
        [reply, cut = std::move(cut)](absl::StatusOr<std::vector<engine::HistoryEntry>> r) {
          if (!r.ok()) {
            reply(r.status());
            return;
          }
          Array out;
          for (engine::HistoryEntry& e : *r) {
            if (cut && e.changes.is_array()) {
              for (Value& c : e.changes.as_array()) {
                Value* doc = c.is_object() ? c.as_object().Find("doc") : nullptr;
                if (doc != nullptr && doc->is_object()) *doc = Value(cut->Apply(doc->as_object()));
              }
            }
            Object o;
            o.Append("seq", Value(static_cast<int64_t>(e.seq)));
            o.Append("t", Value(Date{e.time_millis}));
            o.Append("changes", std::move(e.changes));
            out.push_back(Value(std::move(o)));
          }
          reply(std::optional<Value>(Value(std::move(out))));
        });
    reply.Unblock();
  });
}

}  // namespace ddp

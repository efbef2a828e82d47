// The DDP face of the engine: topic publications (names and patterns) and
// the write/read methods of API.md §5, registered into a Registry.
//
//   /<topic>/insert  /<topic>/update  /<topic>/remove   (Meteor collections)
//   publish  tx  query  history
//   sub <topic or pattern> [query]
//
// Every engine call goes through the engine's ordered queue, so a method
// lets the session go on at once (Meteor's this.unblock()): the next
// message of the session is queued behind it and still sees its effect.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/access/access.h"
#include "server/ddp/registry.h"
#include "server/ddp/session.h"
#include "server/engine/engine.h"

namespace ddp {

// The publication strategy of topic subscriptions whose name (a topic or a
// pattern) matches `pattern` (a topic name, or a pattern that matches the
// topic subscribed to).
struct PublicationStrategyRule {
  std::string pattern;
  PublicationStrategy strategy = PublicationStrategy::kServerMerge;
};

struct EngineApiOptions {
  // The first matching rule applies; none: kServerMerge. Default: none.
  std::vector<PublicationStrategyRule> strategies;
  // The access rules every topic subscription, read and write goes
  // through. Default: none (everything allowed).
  std::shared_ptr<const access::Access> access;
};

// The strategy `options` give a subscription to `name`.
PublicationStrategy StrategyFor(const EngineApiOptions& options, std::string_view name);

// Registers the engine's methods and the topic publication resolver.
// `engine` must outlive every session.
void RegisterEngineApi(Registry& registry, std::shared_ptr<engine::Engine> engine,
                       EngineApiOptions options = {});

// A subscription's or a `query`'s query (`query`: {filter, fields, sort,
// ..., pipeline} or null) over a topic or pattern, as `caller` may run it
// for `a` under `access` (may be null). Errors name the offending part
// (400), or say what the caller may not do (403).
absl::StatusOr<engine::PlanPtr> ParseLiveQuery(std::string_view target, const Value& query,
                                               const query::LiveLimits& limits,
                                               const access::Access* access,
                                               const access::Caller& caller, access::Action a);

// The caller of a DDP method or subscription.
inline access::Caller CallerOf(const ConnectionInfo& c) { return access::Caller{c.user.get()}; }

}  // namespace ddp

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

#include "server/ddp/registry.h"
#include "server/engine/engine.h"

namespace ddp {

// Registers the engine's methods and the topic publication resolver.
// `engine` must outlive every session.
void RegisterEngineApi(Registry& registry, std::shared_ptr<engine::Engine> engine);

// A subscription's query (params[0]: {filter, fields, sort, ..., pipeline})
// over a topic or pattern. Errors name the offending part (400).
absl::StatusOr<engine::PlanPtr> ParseLiveQuery(std::string_view target, const Array& params,
                                               const query::LiveLimits& limits);

}  // namespace ddp

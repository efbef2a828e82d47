#include "server/ddp/registry.h"

#include "common/strings.h"
#include "server/ddp/session.h"

namespace ddp {

absl::Status Registry::AddPublication(std::string name, PublicationHandler handler) {
  if (publications_.contains(name)) {
    return absl::AlreadyExistsError(StrCat("publication '", name, "' is already registered"));
  }
  publications_.emplace(std::move(name), std::move(handler));
  return absl::OkStatus();
}

void Registry::AddUniversalPublication(PublicationHandler handler) {
  universal_.push_back(std::move(handler));
}

absl::Status Registry::AddMethod(std::string name, MethodHandler handler) {
  if (methods_.contains(name)) {
    return absl::AlreadyExistsError(StrCat("method '", name, "' is already registered"));
  }
  methods_.emplace(std::move(name), std::move(handler));
  return absl::OkStatus();
}

absl::Status Registry::AddSyncMethod(std::string name, SyncMethodHandler handler) {
  return AddMethod(std::move(name), [handler = std::move(handler)](MethodCall call,
                                                                   MethodReply reply) {
    reply(handler(call));
  });
}

void Registry::SetPublicationResolver(PublicationResolver resolver) {
  publication_resolver_ = std::move(resolver);
}

void Registry::SetMethodResolver(MethodResolver resolver) {
  method_resolver_ = std::move(resolver);
}

const PublicationHandler* Registry::FindPublication(std::string_view name) const {
  if (auto it = publications_.find(name); it != publications_.end()) return &it->second;
  return publication_resolver_ ? publication_resolver_(name) : nullptr;
}

const MethodHandler* Registry::FindMethod(std::string_view name) const {
  if (auto it = methods_.find(name); it != methods_.end()) return &it->second;
  return method_resolver_ ? method_resolver_(name) : nullptr;
}

}  // namespace ddp

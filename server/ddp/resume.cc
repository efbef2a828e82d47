#include "server/ddp/resume.h"

#include "common/strings.h"
#include "protocol/digest.h"

namespace ddp {

absl::Status ResumeClaims::Load(const Value& resume, const ResumeLimits& limits) {
  auto bad = [](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("ddpd_resume: ", why));
  };
  const Value* docs = resume.is_object() ? resume.Find("docs") : nullptr;
  if (docs == nullptr || !docs->is_object()) return bad("expected {\"docs\": {collection: {id: digest}}}");
  StringMap<StringMap<uint64_t>> out;
  size_t count = 0;
  for (const Member& c : docs->as_object()) {
    if (!c.value.is_object()) return bad(StrCat("collection '", c.key, "' is not an object"));
    StringMap<uint64_t>& ids = out[c.key];
    for (const Member& d : c.value.as_object()) {
      std::optional<uint64_t> digest =
          d.value.is_string() ? ParseDigestText(d.value.as_string()) : std::nullopt;
      if (!digest) return bad(StrCat("the digest of '", d.key, "' is not 16 hex digits"));
      if (++count > limits.max_docs) {
        return bad(StrCat("more than ", limits.max_docs, " documents claimed"));
      }
      ids[d.key] = *digest;
    }
  }
  StringSet awaited;
  const Value* subs = resume.Find("subs");
  if (subs != nullptr) {
    if (!subs->is_array()) return bad("subs is not an array of subscription ids");
    for (const Value& id : subs->as_array()) {
      if (!id.is_string()) return bad("subs is not an array of subscription ids");
      awaited.insert(id.as_string());
    }
  }
  docs_ = std::move(out);
  count_ = count;
  awaits_subs_ = subs != nullptr && !awaited.empty();
  awaited_ = std::move(awaited);
  return absl::OkStatus();
}

bool ResumeClaims::Settled(std::string_view sub_id, bool none_pending) {
  if (!awaits_subs_) return none_pending;
  if (auto it = awaited_.find(sub_id); it != awaited_.end()) awaited_.erase(it);
  return awaited_.empty();
}

bool ResumeClaims::TakeMatching(std::string_view collection, std::string_view id,
                                const Object& fields, bool* claimed) {
  if (claimed != nullptr) *claimed = false;
  auto c = docs_.find(collection);
  if (c == docs_.end()) return false;
  auto d = c->second.find(id);
  if (d == c->second.end()) return false;
  if (claimed != nullptr) *claimed = true;
  bool same = d->second == FieldsDigest(fields);
  c->second.erase(d);
  --count_;
  (same ? skipped_ : resent_)++;
  return same;
}

bool ResumeClaims::Take(std::string_view collection, std::string_view id) {
  auto c = docs_.find(collection);
  if (c == docs_.end()) return false;
  auto d = c->second.find(id);
  if (d == c->second.end()) return false;
  c->second.erase(d);
  --count_;
  return true;
}

void ResumeClaims::RetractRest(
    const std::function<void(std::string_view collection, std::string_view id)>& fn) {
  StringMap<StringMap<uint64_t>> rest;
  rest.swap(docs_);
  count_ = 0;
  for (auto& [collection, ids] : rest) {
    for (auto& [id, digest] : ids) fn(collection, id);
  }
}

}  // namespace ddp

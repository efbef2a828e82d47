// ResumeClaims: what a reconnecting client says it still holds, so that
// its new session sends only what differs (ddpd's resume; unmodified DDP
// clients never send it and are served as before).
//
// Wire (README "Resume after a reconnect"): the client's `connect` carries
//   "ddpd_resume": {"docs": {"<collection>": {"<id>": "<digest>", ...}},
//                   "subs": ["<sub id>", ...]}
// with digest = protocol/digest.h over the fields it holds; the server's
// `connected` answers "ddpd_resume": "diff" when it took them. The client
// then subscribes as usual. For each document the new subscriptions add:
//   - claimed with the same digest: nothing is sent (the client has it);
//   - claimed with another digest: `added` with the whole document, which
//     the client applies as a replacement of what it holds;
//   - not claimed: `added`, as always.
// Once every subscription named in "subs" has sent `ready` (or `nosub`),
// every claim no subscription added is retracted with `removed`. Without
// "subs", that happens the first time no subscription of the session waits
// for its `ready` (a client that subscribes one at a time then gets the
// documents of its later subscriptions again: correct, only not minimal). A claim on an
// ordered collection gets `removed` before its `addedBefore` (ordered
// results are sent whole).
//
// Works for every kind of subscription (filters, windows, aggregates,
// joins), and whatever node the client reconnects to, however far back the
// change log reaches: the comparison is with the current result.
//
// Owned by a Session; used on its strand.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/string_map.h"
#include "protocol/value.h"

namespace ddp {

struct ResumeLimits {
  // Most documents a client may claim. Default: 1,000,000.
  size_t max_docs = 1000000;
};

class ResumeClaims {
 public:
  // Takes the `ddpd_resume` value. InvalidArgument (and nothing taken) when
  // it is malformed or over the limit.
  absl::Status Load(const Value& resume, const ResumeLimits& limits);
  bool active() const { return count_ > 0; }
  // A subscription sent `ready` or stopped; true when the claims are due to
  // be settled (every awaited subscription is, or none was named and
  // `none_pending`).
  bool Settled(std::string_view sub_id, bool none_pending);
  size_t size() const { return count_; }

  // An `added` for the document: true when the client holds exactly these
  // fields (send nothing). The claim is used up either way; `claimed` (if
  // given) says whether there was one (then the `added` replaces what the
  // client holds).
  bool TakeMatching(std::string_view collection, std::string_view id, const Object& fields,
                    bool* claimed = nullptr);
  // Whether the client claimed the document; the claim is used up.
  bool Take(std::string_view collection, std::string_view id);
  // Every claim no subscription added, then nothing is claimed.
  void RetractRest(const std::function<void(std::string_view collection, std::string_view id)>& fn);

  // Counters for tests and stats: documents not sent / sent again.
  int64_t skipped() const { return skipped_; }
  int64_t resent() const { return resent_; }

 private:
  StringMap<StringMap<uint64_t>> docs_;  // collection -> id -> digest
  size_t count_ = 0;
  bool awaits_subs_ = false;
  StringSet awaited_;  // the "subs" not settled yet
  int64_t skipped_ = 0;
  int64_t resent_ = 0;
};

}  // namespace ddp

#include "jetstream/jetstream_log.h"

#include "jetstream/nats_handles.h"

#include <random>
#include <thread>

#include "absl/strings/str_join.h"
#include "commitlog/record.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/json.h"
#include "spdlog/spdlog.h"

namespace ddp::jetstream {
namespace {

constexpr char kExpectedLastSeq[] = "Nats-Expected-Last-Sequence";


// Failures a retry can outlive: no leader yet, a server gone, a slow ack.
bool Transient(natsStatus s, jsErrCode jerr) {
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED ||
         s == NATS_CONNECTION_DISCONNECTED || s == NATS_NOT_YET_CONNECTED || s == NATS_IO_ERROR ||
         s == NATS_STALE_CONNECTION || jerr == JSClusterNotAvailErr;
}

// A call to NATS that failed: Unavailable, naming what and why.
absl::Status Failed(std::string_view what, natsStatus s,
                    jsErrCode jerr = static_cast<jsErrCode>(0)) {
  return absl::UnavailableError(StrCat("cluster log: ", what, ": ", NatsError(s, jerr)));
}

// Record `seq` of `stream` as JetStream stores it; nullptr when there is
// none (never written, or removed by retention). The caller destroys it.
absl::StatusOr<natsMsg*> GetStored(jsCtx* js, const std::string& stream, uint64_t seq) {
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&msg, js, stream.c_str(), seq, nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return nullptr;
  if (s != NATS_OK) return Failed(StrCat("reading record ", seq), s, jerr);
  return msg;
}

int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string RandomNodeId() {
  std::random_device rd;
  static constexpr char kChars[] = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  std::string id = "node-";
  for (int i = 0; i < 10; ++i) id.push_back(kChars[rd() % (sizeof(kChars) - 1)]);
  return id;
}

}  // namespace


JetStreamLog::JetStreamLog(JetStreamOptions options) : options_(std::move(options)) {
  if (options_.node_id.empty()) options_.node_id = RandomNodeId();
  // Message ids must not repeat across restarts within JetStream's dedupe
  // window: a restarted node's first publishes would be taken for its
  // previous run's.
  msg_id_prefix_ = StrCat(options_.node_id, "-", RandomNodeId().substr(5));
  subject_ = StrCat("ddpd.", options_.stream, ".log");
}

JetStreamLog::~JetStreamLog() { Stop(); }

absl::Status JetStreamLog::Connect() {
  if (nats_ != nullptr) return absl::OkStatus();
  if (options_.servers.empty()) return absl::InvalidArgumentError("--cluster names no server");
  auto owned = std::make_unique<Nats>();  // kept only when everything works
  Nats& n = *owned;
  std::vector<const char*> urls;
  for (const std::string& s : options_.servers) urls.push_back(s.c_str());
  natsStatus s = natsOptions_Create(&n.opts);
  if (s == NATS_OK) s = natsOptions_SetServers(n.opts, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetName(n.opts, StrCat("ddpd ", options_.node_id).c_str());
  // Reconnect forever: the stream outlives any one server.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(n.opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(n.opts, 200);
  if (s == NATS_OK) s = natsOptions_SetTimeout(n.opts, Millis(options_.request_timeout));
  if (s == NATS_OK) {
    s = natsOptions_SetDisconnectedCB(
        n.opts,
        [](natsConnection*, void* self) {
          static_cast<JetStreamLog*>(self)->connected_ = false;
          spdlog::warn("cluster log: disconnected from NATS; reconnecting");
        },
        this);
  }
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectedCB(
        n.opts,
        [](natsConnection* nc, void* self) {
          static_cast<JetStreamLog*>(self)->connected_ = true;
          char url[256] = {0};
          natsConnection_GetConnectedUrl(nc, url, sizeof(url));
          spdlog::info("cluster log: reconnected to {}", url);
        },
        this);
  }
  if (s == NATS_OK) {
    // The last of the connection's callbacks: Stop waits for it.
    s = natsOptions_SetClosedCB(
        n.opts,
        [](natsConnection*, void* self) {
          auto* log = static_cast<JetStreamLog*>(self);
          {
            std::lock_guard<std::mutex> lock(log->mu_);
            log->closed_ = true;
          }
          log->room_.notify_all();
        },
        this);
  }
  if (s != NATS_OK) return Failed("options", s);
  s = natsConnection_Connect(&n.nc, n.opts);
  if (s != NATS_OK) {
    return Failed(StrCat("cannot connect to ", absl::StrJoin(options_.servers, ",")), s);
  }
  connected_ = true;
  max_payload_ = natsConnection_GetMaxPayload(n.nc);

  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = Millis(options_.request_timeout);
  s = natsConnection_JetStream(&n.js, n.nc, &jo);
  if (s != NATS_OK) return Failed("JetStream context", s);
  nats_ = std::move(owned);
  return absl::OkStatus();
}

absl::Status JetStreamLog::Start(uint64_t position, std::function<void()> wake) {
  wake_ = std::move(wake);
  RETURN_IF_ERROR(Connect());
  Nats& n = *nats_;
  natsStatus s = NATS_OK;

  // The stream: found, or created (two nodes starting at once may both
  // try; the same configuration is accepted twice). A cluster that just
  // started has no JetStream leader for a moment: retry until
  // publish_timeout.
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const SteadyTime deadline = SteadyClock::now() + options_.publish_timeout;
  while (true) {
    jerr = static_cast<jsErrCode>(0);
    s = js_GetStreamInfo(&si, n.js, options_.stream.c_str(), nullptr, &jerr);
    if (s != NATS_OK && jerr == JSStreamNotFoundErr) {
      jsStreamConfig cfg;
      jsStreamConfig_Init(&cfg);
      cfg.Name = options_.stream.c_str();
      const char* subjects[] = {subject_.c_str()};
      cfg.Subjects = subjects;
      cfg.SubjectsLen = 1;
      cfg.Storage = js_FileStorage;
      cfg.Replicas = options_.replicas;
      // A commit log loses nothing silently: no limits, no discarding, no
      // deletes of single records.
      cfg.Retention = js_LimitsPolicy;
      cfg.DenyDelete = true;
      if (options_.max_age > Duration::zero()) {
        cfg.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.max_age).count();
      }
      if (options_.max_bytes > 0) cfg.MaxBytes = options_.max_bytes;
      // The dedupe window covers Commit's retries with room to spare (ns).
      cfg.Duplicates = std::max<int64_t>(Millis(options_.publish_timeout) * 6, 120000) * 1000000;
      jerr = static_cast<jsErrCode>(0);
      s = js_AddStream(&si, n.js, &cfg, nullptr, &jerr);
      if (s == NATS_OK) {
        spdlog::info("cluster log: created stream '{}' ({} replicas)", options_.stream,
                     options_.replicas);
      } else if (jerr == JSStreamNameExistErr) {
        continue;
      }
    }
    // Until the servers found each other, a stream of 3 replicas has "no
    // suitable peers" either.
    bool forming = jerr == JSClusterNoPeersErr || jerr == JSInsufficientResourcesErr;
    if (s == NATS_OK || !(Transient(s, jerr) || forming) || SteadyClock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (s != NATS_OK) return Failed(StrCat("stream '", options_.stream, "'"), s, jerr);
  absl::Status limits = ApplyRetention(si);
  const uint64_t last = si->State.LastSeq, first = si->State.FirstSeq;
  int64_t replicas = si->Config != nullptr ? si->Config->Replicas : 0;
  jsStreamInfo_Destroy(si);
  RETURN_IF_ERROR(limits);
  NoteEnd(last);
  if (last > 0 && first > position + 1) {
    return absl::FailedPreconditionError(StrCat(
        "cluster log: stream '", options_.stream, "' starts at record ", first,
        " (its retention removed what came before) and this node is at ", position,
        ": start it with an empty --data-dir so that it joins from another node's snapshot"));
  }
  if (position > last) {
    return absl::FailedPreconditionError(
        StrCat("cluster log: this node's data is at position ", position, " of stream '",
               options_.stream, "', which ends at ", last,
               ": the data directory belongs to another stream (use a fresh --data-dir)"));
  }
  spdlog::info("cluster log: stream '{}' ({} replicas) at {}, this node at {}", options_.stream,
               replicas, last, position);

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options_.stream.c_str();
  so.Ordered = true;
  if (position > 0) {
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = position + 1;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  // Creating the consumer is a request to the stream's leader: while one
  // is being elected (a server just died) it times out; retry.
  for (;;) {
    jerr = static_cast<jsErrCode>(0);
    s = js_Subscribe(
        &n.sub, n.js, subject_.c_str(),
        [](natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
          jsMsgMetaData* meta = nullptr;
          if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
            std::string data(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
            uint64_t seq = meta->Sequence.Stream, pending = meta->NumPending;
            jsMsgMetaData_Destroy(meta);
            natsMsg_Destroy(msg);
            OnMessage(self, seq, pending, std::move(data));
          } else {
            natsMsg_Destroy(msg);
          }
        },
        this, nullptr, &so, &jerr);
    if (s == NATS_OK || !Transient(s, jerr) || SteadyClock::now() >= deadline) break;
    spdlog::warn("cluster log: subscribing failed ({}); retrying", NatsError(s, jerr));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (s != NATS_OK) return Failed("subscribe", s, jerr);
  Track(n.sub);
  // The inbox bounds what waits for the committer; nats.c's own queue in
  // front of it must not drop messages meanwhile.
  natsSubscription_SetPendingLimits(n.sub, 1 << 20, 1 << 30);
  s = natsConnection_Subscribe(
      &n.nodes_sub, n.nc, StrCat("ddpd.", options_.stream, ".nodes.*").c_str(),
      [](natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
        static_cast<JetStreamLog*>(self)->OnAnnouncement(
            std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
        natsMsg_Destroy(msg);
      },
      this);
  if (s != NATS_OK) return Failed("subscribe to node announcements", s);
  Track(n.nodes_sub);
  return absl::OkStatus();
}

absl::Status JetStreamLog::ApplyRetention(void* raw) {
  auto* si = static_cast<jsStreamInfo*>(raw);
  if (si->Config == nullptr) return absl::OkStatus();
  const int64_t age =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.max_age).count();
  const bool set_age = age > 0 && si->Config->MaxAge != age;
  const bool set_bytes = options_.max_bytes > 0 && si->Config->MaxBytes != options_.max_bytes;
  if (!set_age && !set_bytes) return absl::OkStatus();
  jsStreamConfig cfg = *si->Config;  // the stream's own, with new limits
  if (set_age) cfg.MaxAge = age;
  if (set_bytes) cfg.MaxBytes = options_.max_bytes;
  jsStreamInfo* updated = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_UpdateStream(&updated, nats_->js, &cfg, nullptr, &jerr);
  if (s != NATS_OK) {
    return absl::UnavailableError(StrCat("cluster log: setting the retention of stream '",
                                         options_.stream, "': ", NatsError(s, jerr)));
  }
  spdlog::info("cluster log: stream '{}' keeps records for {} s and {} bytes at most (0: no limit)",
               options_.stream, updated->Config->MaxAge / 1000000000, updated->Config->MaxBytes);
  jsStreamInfo_Destroy(updated);
  return absl::OkStatus();
}

// nats.c may run a subscription's handler once more after it is closed;
// its completion callback says when that can no longer happen, and Stop
// waits for it before this object can go.
void JetStreamLog::Track(void* raw) {
  auto* sub = static_cast<natsSubscription*>(raw);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++open_subs_;
  }
  natsStatus s = natsSubscription_SetOnCompleteCB(
      sub,
      [](void* self) {
        auto* log = static_cast<JetStreamLog*>(self);
        {
          std::lock_guard<std::mutex> lock(log->mu_);
          --log->open_subs_;
        }
        log->room_.notify_all();
      },
      this);
  if (s != NATS_OK) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_subs_;
  }
}

void JetStreamLog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  room_.notify_all();
  if (nats_ == nullptr) return;
  if (nats_->sub != nullptr) natsSubscription_Unsubscribe(nats_->sub);
  if (nats_->nodes_sub != nullptr) natsSubscription_Unsubscribe(nats_->nodes_sub);
  if (nats_->snapshot_open_sub != nullptr) natsSubscription_Unsubscribe(nats_->snapshot_open_sub);
  if (nats_->snapshot_node_sub != nullptr) natsSubscription_Unsubscribe(nats_->snapshot_node_sub);
  if (nats_->nc != nullptr) natsConnection_Close(nats_->nc);
  // A callback still inside OnMessage returns once it sees stopping_.
  std::unique_lock<std::mutex> lock(mu_);
  if (!room_.wait_for(lock, std::chrono::seconds(30),
                      [&] { return in_callback_ == 0 && open_subs_ == 0 && closed_; })) {
    spdlog::error("cluster log: NATS callbacks still running after 30 s; stopping anyway");
  }
  lock.unlock();
  nats_.reset();
  connected_ = false;
}

void JetStreamLog::NoteEnd(uint64_t end) {
  uint64_t cur = end_.load();
  while (end > cur && !end_.compare_exchange_weak(cur, end)) {
  }
}

void JetStreamLog::OnMessage(void* raw, uint64_t seq, uint64_t pending, std::string data) {
  auto* self = static_cast<JetStreamLog*>(raw);
  self->NoteEnd(seq + pending);
  {
    std::unique_lock<std::mutex> lock(self->mu_);
    ++self->in_callback_;
    self->room_.wait(
        lock, [&] { return self->stopping_ || self->inbox_size_ < self->options_.inbox_bytes; });
    if (!self->stopping_) {
      self->inbox_size_ += data.size();
      self->inbox_.push_back(Received{seq, std::move(data)});
    }
    --self->in_callback_;
  }
  self->room_.notify_all();
  if (self->wake_) self->wake_();
}

absl::StatusOr<std::optional<std::string>> JetStreamLog::Fetch(uint64_t seq) {
  ASSIGN_OR_RETURN(natsMsg * msg, GetStored(nats_->js, options_.stream, seq));
  if (msg == nullptr) return std::nullopt;
  std::string data(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
  NoteEnd(seq);
  return data;
}

absl::StatusOr<std::vector<storage::CommitBatch>> JetStreamLog::Poll(uint64_t position,
                                                                     size_t max) {
  std::vector<storage::CommitBatch> out;
  if (nats_ == nullptr) return absl::UnavailableError("cluster log: not started");
  std::vector<Received> taken;
  uint64_t delivered_from = 0;  // the first record left in the inbox, if any
  {
    std::lock_guard<std::mutex> lock(mu_);
    // What the consumer delivered that this node already has (its own
    // records, or ones read directly after a conflict) is dropped.
    while (!inbox_.empty() && inbox_.front().seq <= position) {
      inbox_size_ -= inbox_.front().data.size();
      inbox_.pop_front();
    }
    uint64_t next = position + 1;
    while (!inbox_.empty() && inbox_.front().seq == next && taken.size() < max) {
      inbox_size_ -= inbox_.front().data.size();
      taken.push_back(std::move(inbox_.front()));
      inbox_.pop_front();
      ++next;
    }
    // A gap before the inbox's first record (the consumer restarted after
    // the connection moved) is read from the stream.
    if (taken.empty() && !inbox_.empty()) behind_ = true;
    // A record before one the consumer delivered exists, or existed.
    if (!inbox_.empty()) delivered_from = inbox_.front().seq;
  }
  room_.notify_all();
  uint64_t next = position + 1 + taken.size();
  while (behind_ && taken.size() < max) {
    ASSIGN_OR_RETURN(std::optional<std::string> data, Fetch(next));
    if (!data) {
      behind_ = false;
      if (next < delivered_from) {  // never when the inbox is empty
        // Delivered later records exist, so this one did: the stream's
        // retention removed it before this node applied it.
        return absl::FailedPreconditionError(StrCat(
            "cluster log: record ", next, " is gone from stream '", options_.stream,
            "' (its retention removed it) before this node applied it: restart this node with "
            "an empty --data-dir so that it joins from another node's snapshot"));
      }
      break;
    }
    taken.push_back(Received{next++, std::move(*data)});
  }
  out.reserve(taken.size());
  for (Received& r : taken) {
    if (r.data.empty() || r.data[0] != commitlog::kRecordMagic) {
      // Not a ddpd record (something else published on the subject):
      // every node skips it alike. Restrict the subject to ddpd's NATS user.
      spdlog::warn("cluster log: record {} is not ddpd's; skipped", r.seq);
      storage::CommitBatch& skip = out.emplace_back();
      skip.log_position = r.seq;
      continue;
    }
    absl::StatusOr<storage::CommitBatch> b = commitlog::DecodeGroup(r.data);
    if (!b.ok()) {
      return absl::DataLossError(StrCat(b.status().message(), " at stream sequence ", r.seq));
    }
    b->log_position = r.seq;
    out.push_back(std::move(*b));
  }
  return out;
}

absl::Status JetStreamLog::Commit(storage::Store& store, storage::CommitBatch& batch) {
  if (nats_ == nullptr) return absl::UnavailableError("cluster log: not started");
  std::string record = commitlog::EncodeGroup(batch);
  if (max_payload_ > 0 && static_cast<int64_t>(record.size()) > max_payload_) {
    return absl::ResourceExhaustedError(
        StrCat("the transaction's record is ", record.size(),
               " bytes, more than the NATS servers' max_payload of ", max_payload_));
  }
  const uint64_t expected = store.log_position();
  const std::string expected_text = std::to_string(expected);
  const std::string msg_id = StrCat(msg_id_prefix_, "-", ++next_msg_id_);
  const SteadyTime deadline = SteadyClock::now() + options_.publish_timeout;
  Duration backoff = std::chrono::milliseconds(20);
  std::string last_error;
  bool retried = false;
  while (true) {
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject_.c_str(), nullptr, record.data(),
                                  static_cast<int>(record.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, kExpectedLastSeq, expected_text.c_str());
    if (s != NATS_OK) {
      if (msg != nullptr) natsMsg_Destroy(msg);
      return absl::InternalError(StrCat("cluster log: building a record: ", NatsError(s, {})));
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id.c_str();
    po.MaxWait = Millis(options_.request_timeout);
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_PublishMsg(&ack, nats_->js, msg, &po, &jerr);
    natsMsg_Destroy(msg);
    if (s == NATS_OK) {
      uint64_t seq = ack->Sequence;
      jsPubAck_Destroy(ack);
      if (seq != expected + 1) {
        return absl::InternalError(StrCat("cluster log: record stored at ", seq,
                                          ", expected right after ", expected));
      }
      return Applied(store, batch, seq);
    }
    if (jerr == JSStreamWrongLastSequenceErr) {
      // Another record is at expected+1. After a retry it may be ours (an
      // earlier attempt that landed before the dedupe table knew it).
      if (retried) {
        absl::StatusOr<bool> ours = IsOurs(expected + 1, msg_id);
        if (ours.ok() && *ours) return Applied(store, batch, expected + 1);
        if (!ours.ok()) {
          behind_ = true;
          return absl::UnavailableError(StrCat(
              "cluster log: cannot tell whether the write was stored (", ours.status().message(),
              "); retry it with an idempotency key"));
        }
      }
      // Nothing of ours was stored: another node appended first.
      behind_ = true;
      return absl::AbortedError("cluster log: another node committed first");
    }
    retried = true;
    last_error = NatsError(s, jerr);
    if (!Transient(s, jerr) || SteadyClock::now() + backoff >= deadline) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min<Duration>(backoff * 2, std::chrono::milliseconds(500));
  }
  // We cannot tell whether the record was stored: if it was, it comes
  // back through Poll and is applied like another node's.
  behind_ = true;
  return absl::UnavailableError(
      StrCat("cluster log unavailable (", last_error,
             "); the write may or may not have been applied: retry it with an idempotency key"));
}

void JetStreamLog::Announce(uint64_t position, uint64_t seq) {
  if (nats_ == nullptr || nats_->nc == nullptr) return;
  {
    // The stream is ahead and the consumer delivered nothing: it may have
    // stalled; the next Poll reads from the stream.
    std::lock_guard<std::mutex> lock(mu_);
    if (end_.load() > position && inbox_.empty()) behind_ = true;
  }
  std::string body = StrCat(R"({"node":)");
  AppendJsonString(options_.node_id, &body);
  StrAppend(&body, R"(,"position":)", position, R"(,"seq":)", seq, "}");
  // Fire and forget: a lost announcement only ages this node's entry.
  natsConnection_Publish(nats_->nc,
                         StrCat("ddpd.", options_.stream, ".nodes.", options_.node_id).c_str(),
                         body.data(), static_cast<int>(body.size()));
}

void JetStreamLog::OnAnnouncement(std::string_view data) {
  absl::StatusOr<Value> v = ParseJson(data);
  if (!v.ok() || !v->is_object()) return;
  const Value* node = v->Find("node");
  const Value* position = v->Find("position");
  const Value* seq = v->Find("seq");
  if (node == nullptr || !node->is_string() || position == nullptr || !position->is_int() ||
      seq == nullptr || !seq->is_int()) {
    return;
  }
  Heard h;
  h.status.node = node->as_string();
  h.status.position = static_cast<uint64_t>(position->as_int());
  h.status.seq = static_cast<uint64_t>(seq->as_int());
  h.status.self = h.status.node == options_.node_id;
  h.at = SteadyClock::now();
  // Another node applied this far: the stream reaches at least there.
  NoteEnd(h.status.position);
  std::lock_guard<std::mutex> lock(nodes_mu_);
  nodes_[h.status.node] = std::move(h);
}

std::vector<commitlog::NodeStatus> JetStreamLog::Nodes() const {
  constexpr auto kForgetAfter = std::chrono::seconds(10);
  std::vector<commitlog::NodeStatus> out;
  SteadyTime now = SteadyClock::now();
  std::lock_guard<std::mutex> lock(nodes_mu_);
  for (const auto& [name, h] : nodes_) {
    if (now - h.at > kForgetAfter) continue;
    commitlog::NodeStatus st = h.status;
    st.age_millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - h.at).count();
    out.push_back(std::move(st));
  }
  return out;
}

absl::Status JetStreamLog::Applied(storage::Store& store, storage::CommitBatch& batch,
                                   uint64_t seq) {
  NoteEnd(seq);
  batch.log_position = seq;
  absl::Status s = store.Commit(batch);
  if (s.ok()) return s;
  // The record is in the log (every other node applies it) but not here:
  // never a retryable status, or the group would be applied twice.
  return absl::DataLossError(StrCat("the write is committed in the cluster log (record ", seq,
                                    ") but this node could not store it: ", s.message()));
}

absl::StatusOr<bool> JetStreamLog::IsOurs(uint64_t seq, const std::string& msg_id) {
  ASSIGN_OR_RETURN(natsMsg * msg, GetStored(nats_->js, options_.stream, seq));
  if (msg == nullptr) return Failed(StrCat("reading record ", seq), NATS_NOT_FOUND);
  const char* id = nullptr;
  bool ours = natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr &&
              msg_id == id;
  natsMsg_Destroy(msg);
  return ours;
}

commitlog::LogStatus JetStreamLog::status() const {
  commitlog::LogStatus st;
  st.kind = "jetstream";
  st.connected = connected_.load();
  st.end = end_.load();
  st.detail = StrCat("stream ", options_.stream, " node ", options_.node_id);
  return st;
}

}  // namespace ddp::jetstream

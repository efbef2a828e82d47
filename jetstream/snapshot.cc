// Snapshots between cluster nodes (see jetstream_log.h): a joining node
// asks any node for a RocksDB checkpoint of its store and copies its files
// over core NATS request/reply, one chunk per request (the reader paces the
// transfer; nothing is queued at either end).
#include <filesystem>
#include <fstream>

#include "common/status_macros.h"
#include "jetstream/nats_handles.h"
#include "protocol/json.h"
#include "spdlog/spdlog.h"

namespace ddp::jetstream {
namespace {

namespace fs = std::filesystem;

// A snapshot unread this long is deleted.
constexpr auto kSnapshotIdle = std::chrono::minutes(10);
// One read request carries at most this much (and less than max_payload).
constexpr int64_t kChunk = int64_t{1} << 20;
constexpr int64_t kOpenTimeoutMs = 5000;   // a checkpoint flushes the memtables
constexpr int64_t kReadTimeoutMs = 10000;

std::string Subject(const std::string& stream, std::string_view what) {
  return StrCat("ddpd.", stream, ".snapshot.", what);
}

// A file name from a peer: one plain component, nothing that climbs out.
bool SafeName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

constexpr char kErrorHeader[] = "Ddpd-Error";

// An answer; a refusal carries its reason in a header (a chunk of a file
// may hold any bytes).
void Reply(natsConnection* nc, const std::string& reply, std::string_view body,
           const std::string& error = "") {
  if (reply.empty()) return;
  natsMsg* m = nullptr;
  if (natsMsg_Create(&m, reply.c_str(), nullptr, body.data(), static_cast<int>(body.size())) !=
      NATS_OK) {
    return;
  }
  if (!error.empty()) natsMsgHeader_Set(m, kErrorHeader, error.c_str());
  natsConnection_PublishMsg(nc, m);
  natsMsg_Destroy(m);
}

absl::StatusOr<std::string> Request(natsConnection* nc, const std::string& subject,
                                    std::string_view body, int64_t timeout_ms) {
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, nc, subject.c_str(), body.data(),
                                        static_cast<int>(body.size()), timeout_ms);
  if (s == NATS_NO_RESPONDERS) return absl::NotFoundError("no node offers a snapshot");
  if (s != NATS_OK) {
    return absl::UnavailableError(StrCat("snapshot request ", subject, ": ", NatsError(s, {})));
  }
  const char* error = nullptr;
  if (natsMsgHeader_Get(reply, kErrorHeader, &error) == NATS_OK && error != nullptr) {
    absl::Status refused = absl::FailedPreconditionError(StrCat("snapshot refused: ", error));
    natsMsg_Destroy(reply);
    return refused;
  }
  std::string out(natsMsg_GetData(reply), natsMsg_GetDataLength(reply));
  natsMsg_Destroy(reply);
  return out;
}

}  // namespace

void JetStreamLog::ServeSnapshots(CheckpointFn checkpoint, std::string scratch) {
  {
    std::lock_guard<std::mutex> lock(snapshots_mu_);
    checkpoint_ = std::move(checkpoint);
    scratch_ = std::move(scratch);
    std::error_code ec;
    fs::remove_all(scratch_, ec);  // what an earlier run left
  }
  if (nats_ == nullptr) return;
  auto on_msg = [](natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
    const char* reply = natsMsg_GetReply(msg);
    static_cast<JetStreamLog*>(self)->OnSnapshotRequest(
        natsMsg_GetSubject(msg), std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)),
        reply != nullptr ? reply : "");
    natsMsg_Destroy(msg);
  };
  natsStatus s = natsConnection_QueueSubscribe(&nats_->snapshot_open_sub, nats_->nc,
                                               Subject(options_.stream, "open").c_str(), "ddpd",
                                               on_msg, this);
  if (s == NATS_OK) {
    Track(nats_->snapshot_open_sub);
    s = natsConnection_Subscribe(&nats_->snapshot_node_sub, nats_->nc,
                                 Subject(options_.stream, StrCat(options_.node_id, ".*")).c_str(),
                                 on_msg, this);
    if (s == NATS_OK) Track(nats_->snapshot_node_sub);
  }
  if (s != NATS_OK) {
    spdlog::warn("cluster log: cannot serve snapshots: {}", NatsError(s, {}));
  }
}

// On a nats.c thread: one request at a time per subscription.
void JetStreamLog::OnSnapshotRequest(std::string_view subject, std::string_view data,
                                     std::string reply) {
  // Counted like a message callback: Stop waits for it (a checkpoint uses
  // the engine's store).
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    ++in_callback_;
  }
  struct Done {
    JetStreamLog* log;
    ~Done() {
      {
        std::lock_guard<std::mutex> lock(log->mu_);
        --log->in_callback_;
      }
      log->room_.notify_all();
    }
  } done{this};
  natsConnection* nc = nats_->nc;
  auto error = [&](std::string_view why) { Reply(nc, reply, "", std::string(why)); };
  std::unique_lock<std::mutex> lock(snapshots_mu_);
  const SteadyTime now = SteadyClock::now();
  for (auto it = served_.begin(); it != served_.end();) {
    if (now - it->second.last_used > kSnapshotIdle) {
      std::error_code ec;
      fs::remove_all(it->second.dir, ec);
      it = served_.erase(it);
    } else {
      ++it;
    }
  }
  if (subject == Subject(options_.stream, "open")) {
    if (!checkpoint_) return error("this node serves no snapshots");
    std::string id = StrCat(options_.node_id, "-", ++next_snapshot_);
    std::string dir = StrCat(scratch_, "/", id);
    std::error_code ec;
    fs::create_directories(scratch_, ec);
    CheckpointFn checkpoint = checkpoint_;
    lock.unlock();  // the checkpoint flushes: do not hold reads of others
    absl::Status made = checkpoint(dir);
    if (!made.ok()) return error(ToStd(made.message()));
    Array files;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
      if (!e.is_regular_file()) continue;
      files.push_back(Value(Object{{"name", Value(e.path().filename().string())},
                                   {"size", Value(static_cast<int64_t>(e.file_size()))}}));
    }
    lock.lock();
    served_[id] = Served{dir, SteadyClock::now()};
    spdlog::info("cluster log: serving snapshot {} ({} files)", id, files.size());
    Reply(nc, reply,
          ToJson(Value(Object{{"id", Value(id)},
                              {"node", Value(options_.node_id)},
                              {"files", Value(std::move(files))}})));
    return;
  }
  absl::StatusOr<Value> req = ParseJson(data);
  const Value* id = req.ok() ? req->Find("id") : nullptr;
  if (id == nullptr || !id->is_string()) return error("expected {\"id\": ...}");
  auto snap = served_.find(id->as_string());
  if (snap == served_.end()) return error("no such snapshot (expired?)");
  if (subject == Subject(options_.stream, StrCat(options_.node_id, ".close"))) {
    std::error_code ec;
    fs::remove_all(snap->second.dir, ec);
    served_.erase(snap);
    Reply(nc, reply, "{}");
    return;
  }
  if (subject != Subject(options_.stream, StrCat(options_.node_id, ".read"))) return;
  const Value* file = req->Find("file");
  const Value* offset = req->Find("offset");
  if (file == nullptr || !file->is_string() || !SafeName(file->as_string()) ||
      offset == nullptr || !offset->is_int() || offset->as_int() < 0) {
    return error("expected {\"id\", \"file\", \"offset\"}");
  }
  snap->second.last_used = SteadyClock::now();
  std::ifstream in(StrCat(snap->second.dir, "/", file->as_string()), std::ios::binary);
  if (!in) return error("no such file");
  in.seekg(offset->as_int());
  const int64_t chunk = std::min<int64_t>(kChunk, max_payload_ > 4096 ? max_payload_ - 4096 : 4096);
  std::string buf(static_cast<size_t>(chunk), '\0');
  in.read(buf.data(), chunk);
  buf.resize(static_cast<size_t>(in.gcount()));
  Reply(nc, reply, buf);
}

absl::Status JetStreamLog::Bootstrap(const std::string& dir) {
  RETURN_IF_ERROR(Connect());
  natsConnection* nc = nats_->nc;
  absl::StatusOr<std::string> opened =
      Request(nc, Subject(options_.stream, "open"), "{}", kOpenTimeoutMs);
  if (opened.status().code() == absl::StatusCode::kFailedPrecondition) {
    return absl::NotFoundError(opened.status().message());
  }
  if (!opened.ok()) return opened.status();
  absl::StatusOr<Value> v = ParseJson(*opened);
  if (!v.ok() || !v->is_object()) return absl::DataLossError("snapshot: unreadable answer");
  const Value* id = v->Find("id");
  const Value* node = v->Find("node");
  const Value* files = v->Find("files");
  if (id == nullptr || !id->is_string() || node == nullptr || !node->is_string() ||
      files == nullptr || !files->is_array() || node->as_string().find('.') != std::string::npos) {
    return absl::DataLossError("snapshot: malformed answer");
  }
  const std::string from = node->as_string();
  const std::string tmp = dir + ".bootstrap";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return absl::UnavailableError(StrCat("snapshot: cannot create '", tmp, "': ", ec.message()));
  const std::string id_json = [&] {
    std::string s;
    AppendJsonString(id->as_string(), &s);
    return s;
  }();
  int64_t total = 0;
  auto copy = [&]() -> absl::Status {
    for (const Value& f : files->as_array()) {
      const Value* name = f.Find("name");
      const Value* size = f.Find("size");
      if (name == nullptr || !name->is_string() || !SafeName(name->as_string()) || size == nullptr ||
          !size->is_int()) {
        return absl::DataLossError("snapshot: a malformed file entry");
      }
      std::ofstream out(StrCat(tmp, "/", name->as_string()), std::ios::binary);
      int64_t at = 0;
      while (at < size->as_int()) {
        std::string req = StrCat(R"({"id":)", id_json, R"(,"file":)");
        AppendJsonString(name->as_string(), &req);
        StrAppend(&req, R"(,"offset":)", at, "}");
        ASSIGN_OR_RETURN(std::string chunk, Request(nc, Subject(options_.stream, StrCat(from, ".read")),
                                                    req, kReadTimeoutMs));
        if (chunk.empty()) {
          return absl::DataLossError(StrCat("snapshot: '", name->as_string(), "' from ", from,
                                            " ends before its size"));
        }
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        at += static_cast<int64_t>(chunk.size());
      }
      out.close();
      if (!out) return absl::UnavailableError(StrCat("snapshot: cannot write into '", tmp, "'"));
      total += at;
    }
    return absl::OkStatus();
  };
  absl::Status copied = copy();
  (void)Request(nc, Subject(options_.stream, StrCat(from, ".close")), StrCat(R"({"id":)", id_json, "}"),
                kReadTimeoutMs);
  if (!copied.ok()) {
    fs::remove_all(tmp, ec);
    return copied;
  }
  fs::remove_all(dir, ec);  // empty (the caller checked)
  fs::rename(tmp, dir, ec);
  if (ec) return absl::UnavailableError(StrCat("snapshot: cannot move it into '", dir, "'"));
  spdlog::info("cluster log: copied snapshot {} from {} ({} files, {} bytes)", id->as_string(), from,
               files->as_array().size(), total);
  return absl::OkStatus();
}

}  // namespace ddp::jetstream

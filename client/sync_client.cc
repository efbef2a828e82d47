// SyncClient: the blocking facade over Client (client.h).
#include <future>

#include "client/client.h"
#include "common/strings.h"

namespace ddp {

// ------------------------------------------------------------ SyncClient

absl::StatusOr<std::unique_ptr<SyncClient>> SyncClient::Connect(ClientOptions options,
                                                                 std::chrono::milliseconds timeout) {
  auto client = Client::Create(std::move(options));
  auto connected = std::make_shared<std::promise<absl::Status>>();
  auto once = std::make_shared<std::atomic<bool>>(false);
  client->OnConnectionChange([connected, once](bool up, absl::Status why) {
    if (!once->exchange(true)) connected->set_value(up ? absl::OkStatus() : why);
  });
  client->Start();
  std::future<absl::Status> f = connected->get_future();
  if (f.wait_for(timeout) != std::future_status::ready) {
    client->Stop();
    return absl::DeadlineExceededError("could not connect in time");
  }
  absl::Status s = f.get();
  if (!s.ok()) {
    client->Stop();
    return s;
  }
  return std::unique_ptr<SyncClient>(new SyncClient(std::move(client)));
}

SyncClient::~SyncClient() { client_->Stop(); }

absl::StatusOr<Value> SyncClient::Call(std::string method, Array params,
                                       std::chrono::milliseconds timeout, CallOptions options) {
  std::future<absl::StatusOr<Value>> f = client_->Call(std::move(method), std::move(params), options);
  if (f.wait_for(timeout) != std::future_status::ready) {
    return absl::DeadlineExceededError("no result in time");
  }
  return f.get();
}

absl::StatusOr<Client::SubscriptionId> SyncClient::Subscribe(std::string name, Array params,
                                                             std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<absl::Status>>();
  auto once = std::make_shared<std::atomic<bool>>(false);
  Client::SubscriptionCallbacks cb;
  cb.ready = [p, once] {
    if (!once->exchange(true)) p->set_value(absl::OkStatus());
  };
  cb.stopped = [p, once](absl::Status s) {
    if (!once->exchange(true)) p->set_value(s.ok() ? absl::CancelledError("stopped before ready") : s);
  };
  Client::SubscriptionId id = client_->Subscribe(std::move(name), std::move(params), std::move(cb));
  std::future<absl::Status> f = p->get_future();
  if (f.wait_for(timeout) != std::future_status::ready) {
    return absl::DeadlineExceededError("subscription not ready in time");
  }
  absl::Status s = f.get();
  if (!s.ok()) return s;
  return id;
}

void SyncClient::Unsubscribe(const Client::SubscriptionId& id) { client_->Unsubscribe(id); }

std::vector<std::pair<std::string, Object>> SyncClient::Find(const std::string& collection) const {
  std::vector<std::pair<std::string, Object>> out;
  client_->ReadCache([&](const Cache& cache) {
    const Collection* c = cache.Get(collection);
    if (c == nullptr) return;
    if (!c->order().empty()) {
      for (const std::string& id : c->order()) {
        if (const Object* d = c->Find(id)) out.emplace_back(id, *d);
      }
      return;
    }
    for (const auto& [id, doc] : c->documents()) out.emplace_back(id, doc);
  });
  return out;
}

absl::Status SyncClient::WaitFor(const std::function<bool(const Cache&)>& pred,
                                 std::chrono::milliseconds timeout) {
  // An observer of every collection wakes the wait on each change.
  auto mu = std::make_shared<std::mutex>();
  auto cv = std::make_shared<std::condition_variable>();
  auto tick = std::make_shared<uint64_t>(0);
  auto poke = [mu, cv, tick] {
    std::lock_guard<std::mutex> lock(*mu);
    ++*tick;
    cv->notify_all();
  };
  ObserveCallbacks cb;
  cb.added = [poke](const std::string&, const Object&) { poke(); };
  cb.changed = [poke](const std::string&, const Object&, const std::vector<std::string>&) { poke(); };
  cb.removed = [poke](const std::string&) { poke(); };
  cb.moved = [poke](const std::string&, const std::optional<std::string>&) { poke(); };
  uint64_t handle = client_->Observe("", std::move(cb));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  absl::Status result = absl::OkStatus();
  while (true) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(*mu);
      seen = *tick;
    }
    bool ok = false;
    client_->ReadCache([&](const Cache& c) { ok = pred(c); });
    if (ok) break;
    std::unique_lock<std::mutex> lock(*mu);
    if (!cv->wait_until(lock, deadline, [&] { return *tick != seen; })) {
      result = absl::DeadlineExceededError("condition not reached in time");
      break;
    }
  }
  client_->Unobserve(handle);
  return result;
}

}  // namespace ddp

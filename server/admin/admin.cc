#include "server/admin/admin.h"

#include <algorithm>

#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace ddp::admin {
namespace {

// Whether `user`'s `roles` claim (a string or an array of strings) names
// `role`.
bool HasRole(const UserIdentity& user, std::string_view role) {
  const Value* roles = user.claims.Find("roles");
  if (roles == nullptr) return false;
  if (roles->is_string()) return roles->as_string() == role;
  if (!roles->is_array()) return false;
  for (const Value& r : roles->as_array()) {
    if (r.is_string() && r.as_string() == role) return true;
  }
  return false;
}

}  // namespace

AdminFeed::AdminFeed(AdminOptions options) : options_(std::move(options)) {}

AdminFeed::~AdminFeed() { Stop(); }

void AdminFeed::SetSources(const NetServer* net, std::shared_ptr<const engine::Engine> engine) {
  std::lock_guard<std::mutex> lock(mu_);
  net_ = net;
  engine_ = std::move(engine);
}

absl::Status AdminFeed::Register(Registry& registry) {
  std::weak_ptr<AdminFeed> weak = weak_from_this();
  return registry.AddPublication("ddpd.admin", [weak](std::shared_ptr<Subscription> sub) {
    if (auto self = weak.lock()) {
      self->Subscribe(std::move(sub));
    } else {
      sub->Error(absl::UnavailableError("the server is shutting down"));
    }
  });
}

void AdminFeed::Subscribe(std::shared_ptr<Subscription> sub) {
  if (!options_.open) {
    const std::shared_ptr<const UserIdentity>& user = sub->connection().user;
    if (user == nullptr) {
      sub->Error(absl::UnauthenticatedError("log in as an admin to see the admin page's data"));
      return;
    }
    if (!HasRole(*user, options_.role)) {
      sub->Error(absl::PermissionDeniedError(
          StrCat("the admin page's data needs the role '", options_.role, "'")));
      return;
    }
  }
  auto s = std::make_shared<Subscriber>();
  s->sub = sub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      sub->Error(absl::UnavailableError("the server is shutting down"));
      return;
    }
    subscribers_.push_back(s);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  std::weak_ptr<AdminFeed> weak = weak_from_this();
  sub->OnStop([weak, raw = s.get()] {
    auto self = weak.lock();
    if (self == nullptr) return;
    std::lock_guard<std::mutex> lock(self->mu_);
    std::erase_if(self->subscribers_, [raw](const auto& p) { return p.get() == raw; });
  });
  cv_.notify_all();  // a refresh now, for the newcomer
}

void AdminFeed::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    subscribers_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Refreshes every interval while there are subscribers; a new subscriber
// gets one at once (with `ready`).
void AdminFeed::Run() {
  Snapshot previous;
  bool have_previous = false;
  SteadyTime taken{};
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const size_t known = subscribers_.size();
    bool fresh = std::any_of(subscribers_.begin(), subscribers_.end(),
                             [](const auto& s) { return s->sent.empty(); });
    if (!fresh) {
      cv_.wait_for(lock, options_.interval,
                   [&] { return stopping_ || subscribers_.size() > known; });
      if (stopping_) break;
    }
    if (subscribers_.empty()) {
      have_previous = false;  // rates start again with the next subscriber
      continue;
    }
    const NetServer* net = net_;
    std::shared_ptr<const engine::Engine> engine = engine_;
    std::vector<std::shared_ptr<Subscriber>> subs = subscribers_;
    lock.unlock();
    const SteadyTime now = SteadyClock::now();
    const double seconds = have_previous ? std::chrono::duration<double>(now - taken).count() : 0;
    Snapshot snapshot = TakeSnapshot(net, engine.get(), have_previous ? &previous : nullptr,
                                     seconds, options_.max_rows);
    // Rates are measured over an interval at least: a refresh for a
    // newcomer in between does not become the reference.
    if (!have_previous ||
        seconds >= std::chrono::duration<double>(options_.interval).count() * 0.9) {
      previous = snapshot;
      have_previous = true;
      taken = now;
    }
    for (const auto& s : subs) SendDiff(*s, snapshot);
    lock.lock();
  }
}

void AdminFeed::SendDiff(Subscriber& s, const Snapshot& snapshot) {
  const bool first = s.sent.empty();
  StringSet seen;
  for (const auto& [id, doc] : snapshot) {
    seen.insert(id);
    auto it = s.sent.find(id);
    if (it == s.sent.end()) {
      s.sub->Added("ddpd_admin", id, doc);
      s.sent.emplace(id, doc);
      continue;
    }
    Object changed;
    std::vector<std::string> cleared;
    for (size_t i = 0; i < doc.size(); ++i) {
      const Member& m = doc.at(i);
      const Value* old = it->second.Find(m.key);
      if (old == nullptr || !(*old == m.value)) changed.Set(m.key, m.value);
    }
    for (size_t i = 0; i < it->second.size(); ++i) {
      const std::string& k = it->second.at(i).key;
      if (!doc.Contains(k)) cleared.push_back(k);
    }
    if (!changed.empty() || !cleared.empty()) {
      s.sub->Changed("ddpd_admin", id, std::move(changed), std::move(cleared));
      it->second = doc;
    }
  }
  std::vector<std::string> gone;
  for (const auto& [id, doc] : s.sent) {
    if (!seen.contains(id)) gone.push_back(id);
  }
  for (const std::string& id : gone) {
    s.sub->Removed("ddpd_admin", id);
    s.sent.erase(id);
  }
  if (first) s.sub->Ready();
}

}  // namespace ddp::admin

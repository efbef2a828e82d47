#include "server/ddp/session_directory.h"

#include "server/ddp/session.h"

namespace ddp {

bool SessionDirectory::Park(const std::string& session_id, Parked&& parked) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || parked_.size() >= max_parked_) return false;
  return parked_.try_emplace(session_id, std::move(parked)).second;
}

std::optional<SessionDirectory::Parked> SessionDirectory::Claim(std::string_view session_id,
                                                                 SteadyTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = parked_.find(session_id);
  if (it == parked_.end() || it->second.expires <= now) return std::nullopt;
  Parked out = std::move(it->second);
  parked_.erase(it);
  return out;
}

std::vector<SessionDirectory::Parked> SessionDirectory::TakeExpired(SteadyTime now) {
  std::vector<Parked> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = parked_.begin(); it != parked_.end();) {
    if (it->second.expires <= now) {
      out.push_back(std::move(it->second));
      parked_.erase(it++);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<SessionDirectory::Parked> SessionDirectory::TakeAll() {
  std::vector<Parked> out;
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  out.reserve(parked_.size());
  for (auto& [id, p] : parked_) out.push_back(std::move(p));
  parked_.clear();
  return out;
}

size_t SessionDirectory::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return parked_.size();
}

void Dismiss(SessionDirectory::Parked parked) {
  std::shared_ptr<Executor> strand = parked.session->strand();
  strand->Post([session = std::move(parked.session), release = std::move(parked.release)] {
    session->OnClosed();
    if (release) release();
  });
}

}  // namespace ddp

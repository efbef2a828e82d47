#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "common/strings.h"

extern char** environ;

namespace ddp::testing {

absl::StatusOr<std::unique_ptr<Process>> Process::Start(std::vector<std::string> argv,
                                                        std::vector<std::string> extra_env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (auto& e : extra_env) env.push_back(std::move(e));
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    // The test may have blocked signals in its threads; the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(cargv[0], cargv.data(), cenv.data());
    std::fprintf(stderr, "exec %s: %s\n", cargv[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  std::unique_ptr<Process> p(new Process());
  p->pid_ = pid;
  p->reader_ = std::thread([raw = p.get(), fd = fds[0]] { raw->ReadLoop(fd); });
  return p;
}

Process::~Process() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    (void)Wait(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

void Process::ReadLoop(int fd) {
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(mu_);
    partial_.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
    cv_.notify_all();
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  if (!partial_.empty()) lines_.push_back(std::move(partial_));
  eof_ = true;
  cv_.notify_all();
}

absl::StatusOr<std::string> Process::WaitForLine(std::string_view needle,
                                                 std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  size_t seen = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (; seen < lines_.size(); ++seen) {
      if (lines_[seen].find(needle) != std::string::npos) return lines_[seen];
    }
    if (eof_) {
      return absl::FailedPreconditionError(
          StrCat("process ended without printing '", needle, "'"));
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return absl::DeadlineExceededError(StrCat("no line with '", needle, "' in time"));
    }
  }
}

std::string Process::Output() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (auto& l : lines_) StrAppend(&out, l, "\n");
  return out + partial_;
}

void Process::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

absl::StatusOr<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (reaped_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // waitpid has no timeout: poll with a short backoff (this only bounds how
  // long we look; it does not wait for an event that a signal would give).
  auto step = std::chrono::milliseconds(1);
  while (true) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      // The child is gone, but the reader thread may not have drained the
      // pipe yet: without this, Output() right after Wait() sometimes missed
      // the last lines (DdpctlTest flaked on a missing --help or error text).
      // Bounded, in case a grandchild still holds the pipe open.
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(5), [this] { return eof_; });
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError("process did not exit in time");
    }
    std::this_thread::sleep_for(step);
    step = std::min(step * 2, std::chrono::milliseconds(20));
  }
}

std::string BinaryPath(std::string_view name) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string();
  dir = dir.substr(0, dir.rfind('/'));
  return StrCat(dir, "/", name);
}

}  // namespace ddp::testing

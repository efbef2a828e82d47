// Runs a program (the real ddpd, the test server) as a child process for
// tests: captures its stdout+stderr line by line, waits for a line with a
// deadline, sends signals, reaps it. The destructor kills a child that is
// still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace ddp::testing {

class Process {
 public:
  static absl::StatusOr<std::unique_ptr<Process>> Start(
      std::vector<std::string> argv, std::vector<std::string> extra_env = {});
  ~Process();

  // The first output line (from the start) containing `needle`.
  absl::StatusOr<std::string> WaitForLine(std::string_view needle,
                                          std::chrono::milliseconds timeout);
  // Everything printed so far.
  std::string Output();
  void Signal(int sig);
  // Exit code, or 128 + signal number when killed. DeadlineExceeded if it
  // does not exit in time.
  absl::StatusOr<int> Wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  Process() = default;
  void ReadLoop(int fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool eof_ = false;
};

// Path of a binary built next to the running test (build/bin/<name>).
std::string BinaryPath(std::string_view name);

}  // namespace ddp::testing

// What /proc says about a process, for the load clients (ddp_bench and
// loadgen): they report the server's CPU cost per operation, which is what
// matters when client and server share a small machine.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace bench {

// User + system CPU seconds of process `pid`; -1 when unknown.
inline double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return -1;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return -1;
  char buf[4096];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // The fields after the command name (which may hold spaces) start after ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  unsigned long utime = 0, stime = 0;
  // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
      2) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace bench

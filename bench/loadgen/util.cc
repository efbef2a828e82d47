// Clock, /proc readers, payloads and the driver factory.
#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "loadgen.h"

namespace loadgen {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double SelfCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

double MachineBusySeconds() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return -1;
  unsigned long long v[8] = {};
  int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                      &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n < 8) return -1;
  // user nice system idle iowait irq softirq steal
  unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return static_cast<double>(busy) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t ProcessRssKib(int pid) {
  if (pid <= 0) return -1;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (f == nullptr) return -1;
  char line[256];
  int64_t kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    long long v = 0;
    if (std::sscanf(line, "VmRSS: %lld kB", &v) == 1) {
      kib = v;
      break;
    }
  }
  std::fclose(f);
  return kib;
}

void MakePayload(std::string& out, int64_t ts, size_t bytes) {
  char digits[24];
  int n = std::snprintf(digits, sizeof digits, "%lld", static_cast<long long>(ts));
  out.clear();
  out.append(R"({"ts":)").append(digits, static_cast<size_t>(n)).append(R"(,"p":")");
  size_t tail = 2;  // "}
  if (out.size() + tail < bytes) out.append(bytes - out.size() - tail, 'x');
  out.append("\"}");
}

int64_t FindTs(std::string_view text) {
  size_t at = text.find(R"("ts":)");
  if (at == std::string_view::npos) return -1;
  at += 5;
  int64_t v = 0;
  bool any = false;
  while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
    v = v * 10 + (text[at] - '0');
    ++at;
    any = true;
  }
  return any ? v : -1;
}

void YieldHelperThreads() {
  pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return;
  sched_param none{};
  while (dirent* e = readdir(dir)) {
    pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
    if (tid > 0 && tid != self) (void)sched_setscheduler(tid, SCHED_BATCH, &none);
  }
  closedir(dir);
}

void Connection::Call(std::string_view, std::string_view) {
  std::fprintf(stderr, "loadgen: method calls are only supported over DDP\n");
  std::exit(2);
}

std::unique_ptr<Driver> MakeDriver(const std::string& system, asio::io_context& ioc,
                                   const Endpoint& endpoint) {
  if (system == "ddp") return MakeDdpDriver(ioc, endpoint);
  if (system == "nats") return MakeNatsDriver(ioc, endpoint);
  if (system == "redis") return MakeRedisDriver(ioc, endpoint);
  if (system == "mqtt-tcp") return MakeMqttTcpDriver(ioc, endpoint);
  if (system == "mqtt-ws") return MakeMqttWsDriver(ioc, endpoint);
  std::fprintf(stderr, "loadgen: unknown system '%s' (ddp, nats, redis, mqtt-tcp, mqtt-ws)\n",
               system.c_str());
  std::exit(2);
}

}  // namespace loadgen

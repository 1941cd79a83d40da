// Thread-count state and the fork guard (see parallel.h).
#include "common/parallel.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <time.h>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define FE_HAVE_ATFORK 1
#endif
#if defined(__linux__)
#include <fcntl.h>
#include <unistd.h>
#endif

namespace fe {
namespace {
std::atomic<bool> g_forked_child{false};

// The process-wide count: (generation << 32) | threads. Generation 0 means never set: every thread
// then uses OpenMP's own default (OMP_NUM_THREADS, else the cores). set_num_threads bumps the
// generation; a thread that sees a generation it has not applied yet copies the count into its own
// OpenMP setting (an OpenMP ICV belongs to one OS thread, and a new thread starts from the initial one).
std::atomic<uint64_t> g_setting{0};
thread_local uint32_t t_applied_generation = 0;

#ifdef FE_HAVE_ATFORK
std::atomic<bool> g_parent_multithreaded{true};

// Threads of this process, or -1 if unknown. Reads /proc/self/stat with plain system calls.
int count_os_threads() {
#if defined(__linux__)
  const int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[1024];
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  // "pid (comm) state ppid ..." : num_threads is field 20; comm may hold spaces and ')', so count the
  // fields after the last ')'.
  const char* p = nullptr;
  for (ssize_t i = n - 1; i >= 0; --i)
    if (buf[i] == ')') {
      p = buf + i + 1;
      break;
    }
  if (!p) return -1;
  for (int field = 3; field < 20; ++field) {  // skip fields 3 .. 19
    while (*p == ' ') ++p;
    while (*p && *p != ' ') ++p;
    if (!*p) return -1;
  }
  while (*p == ' ') ++p;
  int threads = 0;
  while (*p >= '0' && *p <= '9') threads = threads * 10 + (*p++ - '0');
  return threads > 0 ? threads : -1;
#else
  return -1;
#endif
}

void before_fork() { g_parent_multithreaded.store(count_os_threads() != 1); }

// libgomp keeps its worker threads per thread that started a parallel region, in thread-local state that
// survives fork while the workers do not: the child's next region waits for them forever. Any library
// may have started them (libgomp is shared by the process), and nothing tells whether one did; but they
// are threads, so a parent with no thread besides the one forking has no pool to lose. Every other
// child (and every child of such a child) runs kernels on one thread.
void on_fork_child() {
  if (g_parent_multithreaded.load()) g_forked_child.store(true);
}
struct AtforkRegistration {
  AtforkRegistration() { pthread_atfork(before_fork, nullptr, on_fork_child); }
} g_atfork_registration;
#endif
}  // namespace

bool in_forked_child() { return g_forked_child.load(std::memory_order_relaxed); }

// ---- the adaptive default (see parallel.h) ----------------------------------------------------------
namespace {
constexpr int64_t kWindowNs = 10'000'000;    // measured wall time that ends a window in the mode held ...
constexpr int64_t kTrialNs = 2'000'000;      // ... and a trial (then every region is measured): when
                                             // the trial is the slow mode, it should not last
constexpr int64_t kHoldMinNs = 250'000'000;  // a mode is kept this long after a decision ...
constexpr int64_t kHoldMaxNs = 4'000'000'000;  // ... doubling up to this while it keeps winning
constexpr unsigned kSampleEvery = 8;         // one region in 8 is measured

const bool g_env_threads = [] {
  const char* v = std::getenv("OMP_NUM_THREADS");
  return v && *v;
}();
std::atomic<bool> g_adaptive{!g_env_threads};

struct Controller {
  std::mutex mutex;
  std::atomic<bool> serial{false};    // the mode in use: one thread, or all
  std::atomic<bool> probing{false};   // the mode in use is a short trial of the other one
  std::atomic<bool> short_window{true};  // a trial, or the first window: every region is measured
  std::atomic<int64_t> hold_until{0};
  int64_t hold = kHoldMinNs;
  std::atomic<int64_t> cpu{0}, wall{0};  // this window: work (CPU ns) and wall ns of measured regions
  double rate[2] = {0, 0};               // work per wall second: [parallel, serial], latest window
} g_ctl;
thread_local unsigned t_region_count = 0;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A window ended in the mode in use: keep it, try the other one, or switch (caller holds the mutex).
void decide(int64_t now) {
  Controller& c = g_ctl;
  const int64_t cpu = c.cpu.exchange(0), wall = c.wall.exchange(0);
  const bool serial = c.serial.load();
  c.rate[serial] = wall > 0 ? double(cpu) / double(wall) : 0.0;
  if (c.probing.load()) {  // both rates are fresh: keep the better
    const bool want_serial = c.rate[0] < c.rate[1];
    if (want_serial == serial) {
      c.hold = kHoldMinNs;  // the trial won: a new regime
    } else {
      c.hold = std::min(2 * c.hold, kHoldMaxNs);  // the held mode won again
      c.serial.store(want_serial);
    }
    c.probing.store(false);
    c.short_window.store(false);
    c.hold_until.store(now + c.hold);
  } else if (now >= c.hold_until.load()) {  // held long enough: try the other mode for a window
    c.serial.store(!serial);
    c.probing.store(true);
    c.short_window.store(true);
  }
}
}  // namespace

bool adaptive_threads() { return g_adaptive.load(std::memory_order_relaxed); }

int64_t thread_cpu_ns() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#else
  return 0;
#endif
}

bool begin_sample(RegionSample& s, int nthreads) {
#if defined(CLOCK_THREAD_CPUTIME_ID) && defined(FIRSTEPOCH_HAVE_OPENMP)
  if (!adaptive_threads() || in_forked_child()) return false;
  // Measure the regions the mode in use decided: threaded ones in parallel mode, all in serial mode.
  if (g_ctl.serial.load(std::memory_order_relaxed) ? nthreads != 1 : nthreads < 2) return false;
  if (!g_ctl.short_window.load(std::memory_order_relaxed) && t_region_count++ % kSampleEvery != 0)
    return false;
  s.wall0 = now_ns();
  return true;
#else
  (void)s;
  (void)nthreads;
  return false;
#endif
}

void end_sample(RegionSample& s, bool parallel) {
  const int64_t now = now_ns();
  Controller& c = g_ctl;
  if (c.serial.load() == parallel) return;  // the mode changed while it ran
  c.cpu.fetch_add(s.cpu.load(std::memory_order_relaxed));
  const int64_t window = c.short_window.load() ? kTrialNs : kWindowNs;
  if (c.wall.fetch_add(now - s.wall0) + (now - s.wall0) < window) return;
  std::unique_lock<std::mutex> lock(c.mutex, std::try_to_lock);
  if (lock.owns_lock() && c.wall.load() >= window) decide(now);
}

int configured_num_threads() {
  if (in_forked_child()) return 1;
#ifdef FIRSTEPOCH_HAVE_OPENMP
  const uint64_t setting = g_setting.load(std::memory_order_acquire);
  const uint32_t generation = static_cast<uint32_t>(setting >> 32);
  if (generation != t_applied_generation) {
    omp_set_num_threads(static_cast<int>(setting & 0xffffffffu));
    t_applied_generation = generation;
  }
  // The calling thread's setting: the process-wide count, or what threadpoolctl set here since.
  return omp_get_max_threads();
#else
  return 1;
#endif
}

int get_num_threads() {
  const int n = configured_num_threads();
  if (n > 1 && adaptive_threads() && g_ctl.serial.load(std::memory_order_relaxed)) return 1;
  return n;
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
  if (in_forked_child() && n > 1)
    throw std::runtime_error(
        "set_num_threads: this process was forked from one that had other threads (one of them may "
        "have been an OpenMP worker); libgomp cannot run threads in such a child, so kernels here stay "
        "on one thread (use the 'spawn' or 'forkserver' start method for multi-threaded workers)");
  uint64_t old = g_setting.load();
  uint64_t next;
  do {
    next = (((old >> 32) + 1) << 32) | static_cast<uint32_t>(n);
    if ((next >> 32) == 0) next += uint64_t{1} << 32;  // generation 0 means "never set"
  } while (!g_setting.compare_exchange_weak(old, next));
  g_adaptive.store(false);
#ifdef FIRSTEPOCH_HAVE_OPENMP
  omp_set_num_threads(n);
  t_applied_generation = static_cast<uint32_t>(next >> 32);
#endif
}

}  // namespace fe

// Thread-count state and the fork guard (see parallel.h).
#include "common/parallel.h"

#include <atomic>
#include <stdexcept>
#include <string>

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

int get_num_threads() {
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
#ifdef FIRSTEPOCH_HAVE_OPENMP
  omp_set_num_threads(n);
  t_applied_generation = static_cast<uint32_t>(next >> 32);
#endif
}

}  // namespace fe

// Thread-count state and the fork guard (see parallel.h).
#include "common/parallel.h"

#include <atomic>
#include <stdexcept>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define FE_HAVE_ATFORK 1
#endif

namespace fe {
namespace {
std::atomic<bool> g_pool_started{false};
std::atomic<bool> g_forked_child{false};

#ifdef FE_HAVE_ATFORK
void on_fork_child() {
  if (g_pool_started.load()) g_forked_child.store(true);
}
struct AtforkRegistration {
  AtforkRegistration() { pthread_atfork(nullptr, nullptr, on_fork_child); }
} g_atfork_registration;
#endif
}  // namespace

bool in_forked_child() { return g_forked_child.load(std::memory_order_relaxed); }
void note_pool_started() { g_pool_started.store(true, std::memory_order_relaxed); }

int get_num_threads() {
  if (in_forked_child()) return 1;
#ifdef FIRSTEPOCH_HAVE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
  if (in_forked_child() && n > 1)
    throw std::runtime_error(
        "set_num_threads: this process was forked after OpenMP threads started; libgomp cannot run "
        "threads in such a child, so kernels here stay on one thread (use the 'spawn' or "
        "'forkserver' start method for multi-threaded workers)");
#ifdef FIRSTEPOCH_HAVE_OPENMP
  omp_set_num_threads(n);
#endif
}

}  // namespace fe

// The only place that touches OpenMP. Drivers call parallel_region(); microkernels never do.
// A fork child of a process whose OpenMP pool is running cannot use libgomp (its pool threads are
// gone and the child would wait on them forever). Any library may have started that pool, so a fork
// child runs every kernel on one thread unless its parent had no thread but the one that forked.
#pragma once
#include <atomic>
#include <cstdint>

#ifdef FIRSTEPOCH_HAVE_OPENMP
#include <omp.h>
#endif

namespace fe {

// Threads a kernel started now from this thread should use: configured_num_threads(), or 1 while the
// adaptive default finds one thread faster (see below); 1 in a poisoned fork child.
int get_num_threads();
// The thread count set by set_num_threads (in any thread), or OpenMP's default (OMP_NUM_THREADS, else
// the cores) before any call. threadpoolctl's OpenMP limit, which holds in the thread that set it, is
// honoured there. What Python's firstepoch.get_num_threads() returns.
int configured_num_threads();
// Sets the thread count for every thread of the process and turns the adaptive default off; throws
// std::invalid_argument for n < 1.
void set_num_threads(int n);
// True in a fork child whose parent may have had OpenMP worker threads (it had more than one thread).
bool in_forked_child();

// The adaptive default. While the count is OpenMP's default (neither set_num_threads nor OMP_NUM_THREADS
// chose it), kernels run on all threads or on one, whichever does more work per second now: other busy
// processes on the cores make every parallel region wait for a thread the OS has not scheduled, and
// then one thread is faster. A sample of the regions measures the work done (the threads' CPU time) per
// wall second in the mode in use; the other mode is tried for a short window now and then.
bool adaptive_threads();
struct RegionSample {
  int64_t wall0 = 0;
  std::atomic<int64_t> cpu{0};
};
bool begin_sample(RegionSample& s, int nthreads);  // true for the regions that are measured
int64_t thread_cpu_ns();
void end_sample(RegionSample& s, bool parallel);

// Runs fn(thread_id, thread_count) on up to `nthreads` threads. With one thread it is a plain call:
// no OpenMP runtime is touched, which is what keeps fork children safe.
template <class F>
void parallel_region(int nthreads, F&& fn) {
  RegionSample sample;
  const bool measured = begin_sample(sample, nthreads);
#ifdef FIRSTEPOCH_HAVE_OPENMP
  if (nthreads > 1 && !in_forked_child()) {
#pragma omp parallel num_threads(nthreads)
    {
      const int64_t c0 = measured ? thread_cpu_ns() : 0;
      fn(omp_get_thread_num(), omp_get_num_threads());
      if (measured) sample.cpu.fetch_add(thread_cpu_ns() - c0, std::memory_order_relaxed);
    }
    if (measured) end_sample(sample, true);
    return;
  }
#endif
  const int64_t c0 = measured ? thread_cpu_ns() : 0;
  fn(0, 1);
  if (measured) {
    sample.cpu.fetch_add(thread_cpu_ns() - c0, std::memory_order_relaxed);
    end_sample(sample, false);
  }
}

// Static split of [0, n) into `parts` contiguous ranges; part `i` gets [begin, end).
inline void split_range(int64_t n, int parts, int i, int64_t* begin, int64_t* end) {
  const int64_t base = n / parts, rem = n % parts;
  *begin = i * base + (i < rem ? i : rem);
  *end = *begin + base + (i < rem ? 1 : 0);
}

// Splits [0, n) into contiguous ranges over up to `nthreads` threads and calls fn(begin, end) for each
// non-empty one. Fewer threads are used when each would get less than `min_work` units of work
// (n * work_per_item in all): below that, a fork/join costs more than it saves.
template <class F>
void parallel_ranges(int64_t n, int64_t work_per_item, int64_t min_work, int nthreads, F&& fn) {
  const int64_t by_work = n * work_per_item / min_work;
  int64_t nt = nthreads;
  if (by_work < nt) nt = by_work;
  if (n < nt) nt = n;
  if (nt < 1) nt = 1;
  parallel_region(static_cast<int>(nt), [&](int tid, int count) {
    int64_t b, e;
    split_range(n, count, tid, &b, &e);
    if (b < e) fn(b, e);
  });
}

// parallel_ranges at the elementwise drivers' threshold (rows, planes, channels of a few elementwise
// passes): below ~32K elements of work per thread, one thread is faster than a fork/join.
constexpr int64_t kMinWorkPerThread = 32768;
template <class F>
void parallel_items(int64_t n, int64_t work_per_item, int nthreads, F&& fn) {
  parallel_ranges(n, work_per_item, kMinWorkPerThread, nthreads, fn);
}

}  // namespace fe

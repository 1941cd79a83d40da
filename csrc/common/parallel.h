// The only place that touches OpenMP. Drivers call parallel_region(); microkernels never do.
// A fork child of a process whose OpenMP pool is running cannot use libgomp (its pool threads are
// gone and the child would wait on them forever). Any library may have started that pool, so a fork
// child runs every kernel on one thread unless its parent had no thread but the one that forked.
#pragma once
#include <cstdint>

#ifdef FIRSTEPOCH_HAVE_OPENMP
#include <omp.h>
#endif

namespace fe {

// Threads a kernel called from this thread may use: the count set_num_threads set (in any thread), or
// OpenMP's default (OMP_NUM_THREADS, else the cores) before any call; 1 in a poisoned fork child.
// (threadpoolctl's OpenMP limit, which holds in the thread that set it, is honoured there.)
int get_num_threads();
// Sets the thread count for every thread of the process; throws std::invalid_argument for n < 1.
void set_num_threads(int n);
// True in a fork child whose parent may have had OpenMP worker threads (it had more than one thread).
bool in_forked_child();

// Runs fn(thread_id, thread_count) on up to `nthreads` threads. With one thread it is a plain call:
// no OpenMP runtime is touched, which is what keeps fork children safe.
template <class F>
void parallel_region(int nthreads, F&& fn) {
#ifdef FIRSTEPOCH_HAVE_OPENMP
  if (nthreads > 1 && !in_forked_child()) {
#pragma omp parallel num_threads(nthreads)
    fn(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  fn(0, 1);
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

}  // namespace fe

// The memory-bandwidth probe (see bandwidth.h): one parallel region per run, each thread streaming its
// own contiguous share of two large buffers.
#include "common/bandwidth.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>

#include "common/parallel.h"

namespace fe {

namespace {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

std::unique_ptr<float, FreeDeleter> alloc_floats(int64_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, static_cast<std::size_t>(n) * sizeof(float)) != 0) throw std::bad_alloc();
  return std::unique_ptr<float, FreeDeleter>(static_cast<float*>(p));
}

}  // namespace

double measure_bandwidth_gbs(int64_t nbytes, int nthreads, int repeats) {
  if (nbytes < 4096) throw std::invalid_argument("nbytes must be at least 4096");
  if (nthreads < 1) throw std::invalid_argument("threads must be at least 1");
  if (repeats < 1) throw std::invalid_argument("repeats must be at least 1");
  const int64_t n = nbytes / static_cast<int64_t>(sizeof(float));
  auto src_buf = alloc_floats(n), dst_buf = alloc_floats(n);
  float* src = src_buf.get();
  float* dst = dst_buf.get();
  // first touch by the thread that will stream the share (the same static split as below)
  parallel_region(nthreads, [&](int tid, int count) {
    int64_t b, e;
    split_range(n, count, tid, &b, &e);
    for (int64_t i = b; i < e; ++i) {
      src[i] = static_cast<float>(i & 1023);
      dst[i] = 0.0f;
    }
  });
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    parallel_region(nthreads, [&](int tid, int count) {
      int64_t b, e;
      split_range(n, count, tid, &b, &e);
      const float* __restrict__ s = src;
      float* __restrict__ d = dst;
      for (int64_t i = b; i < e; ++i) d[i] = 2.0f * s[i];
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double gbs = 2.0 * static_cast<double>(n) * sizeof(float) / secs * 1e-9;
    if (gbs > best) best = gbs;
  }
  // the stores must not be dead: read one value back
  if (dst[n / 2] != 2.0f * src[n / 2]) throw std::runtime_error("bandwidth probe: wrong result");
  return best;
}

}  // namespace fe

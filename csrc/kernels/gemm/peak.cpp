// Measures the machine's FMA throughput with an ISA's probe on n threads: the ceiling that every
// GEMM figure in bench/ is quoted against.
#include <chrono>

#include "common/parallel.h"
#include "kernels/gemm/gemm.h"

namespace fe {
namespace gemm {

double measure_peak_gflops(double (*probe)(int64_t), int64_t iters, int nthreads) {
  probe(iters / 8 + 1);  // warm-up: clocks up, code paged in
  double total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  parallel_region(nthreads, [&](int tid, int nt) {
    const double f = probe(iters);
#ifdef FIRSTEPOCH_HAVE_OPENMP
#pragma omp atomic
#endif
    total += f;
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return total / secs * 1e-9;
}

}  // namespace gemm
}  // namespace fe

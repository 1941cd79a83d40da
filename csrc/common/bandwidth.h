// The memory-bandwidth probe: the ceiling every "% of bandwidth" figure in bench/ is quoted against
// (as the FMA probe, kernels/gemm/peak.cpp, is for GFLOP/s).
#pragma once
#include <cstdint>

namespace fe {

// Streams dst[i] = 2 * src[i] over two float buffers of `nbytes` each (allocated here and touched
// first by the threads that stream them, so pages sit near those threads) on `nthreads` threads, each
// a fixed contiguous share. Returns the best of `repeats` runs in GB/s, counting the bytes read plus
// the bytes written (2 * nbytes per run; the write-allocate reads a store may cost are not counted,
// as in STREAM's "scale"). nbytes should be far larger than the last-level cache. Throws
// std::invalid_argument for nbytes < 4096, nthreads < 1 or repeats < 1; std::bad_alloc when the
// buffers cannot be had.
double measure_bandwidth_gbs(int64_t nbytes, int nthreads, int repeats);

}  // namespace fe

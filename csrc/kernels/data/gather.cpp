// Row gather (see gather.h).
#include "kernels/data/gather.h"

#include <cstring>

namespace fe {
namespace data {

void gather_rows(const char* src, int64_t row_bytes, const int64_t* idx, int64_t n, char* out) {
  // Rows this many places ahead are prefetched, a cache line at a time: 2 measured best (1: 6.3 us, 2: 5.5,
  // 4: 5.6-6.0, 8: 5.9-6.4 for the batch above); rows longer than 16 KiB are left to the hardware's
  // prefetcher, which follows a long sequential copy by itself.
  constexpr int64_t kAhead = 2, kLine = 64;
  const bool prefetch = row_bytes <= 16384;
  for (int64_t i = 0; i < n; ++i) {
    if (prefetch && i + kAhead < n) {
      const char* p = src + idx[i + kAhead] * row_bytes;
      for (int64_t b = 0; b < row_bytes; b += kLine) __builtin_prefetch(p + b, 0, 3);
    }
    std::memcpy(out + i * row_bytes, src + idx[i] * row_bytes, static_cast<size_t>(row_bytes));
  }
}

}  // namespace data
}  // namespace fe

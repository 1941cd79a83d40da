// Drivers for the attention family: one parallel region per call. Forward items are (g, h, query
// block), split in contiguous ranges; backward items are (g, key/value head) groups. Each item writes
// its own rows only, so results do not depend on the thread count.
#include "kernels/attention/attention.h"

#include "common/parallel.h"
#include "common/scratch.h"

namespace fe {
namespace attention {

template <class T>
void forward(const Kernels<T>& k, const Problem<T>& p, int nthreads) {
  const int64_t gh = p.G * p.H;
  if (gh <= 0 || p.L <= 0) return;
  const int64_t nb = (p.L + k.block_q - 1) / k.block_q, items = gh * nb;
  const int64_t ws = k.forward_workspace(p);
  // work per item: about block_q * S * (E + Ev) multiply-adds
  const int64_t per_item = k.block_q * (p.S + 1) * (p.E + p.Ev + 1);
  parallel_ranges(items, per_item, kMinWorkPerThread, nthreads, [&](int64_t b, int64_t e) {
    Workspace w(Workspace::bytes_for<T>({ws}));
    T* work = w.take<T>(ws);
    k.forward_items(p, b, e, work);
  });
}

template <class T>
void backward(const Kernels<T>& k, const Problem<T>& p, int nthreads) {
  const int64_t groups = p.G * p.Hkv;
  if (groups <= 0) return;
  const int64_t ws = k.backward_workspace(p);
  const int64_t per_item = (p.H / (p.Hkv > 0 ? p.Hkv : 1)) * (p.L + 1) * (p.S + 1) * (p.E + p.Ev + 1);
  parallel_ranges(groups, per_item, kMinWorkPerThread, nthreads, [&](int64_t b, int64_t e) {
    Workspace w(Workspace::bytes_for<T>({ws}));
    T* work = w.take<T>(ws);
    for (int64_t g = b; g < e; ++g) k.backward_group(p, g, work);
  });
}

template <class T>
int64_t workspace_bytes(const Kernels<T>& k, const Problem<T>& p, bool backward) {
  return Workspace::bytes_for<T>({backward ? k.backward_workspace(p) : k.forward_workspace(p)});
}

#define FE_INSTANTIATE(T)                                                 \
  template void forward<T>(const Kernels<T>&, const Problem<T>&, int);    \
  template void backward<T>(const Kernels<T>&, const Problem<T>&, int);   \
  template int64_t workspace_bytes<T>(const Kernels<T>&, const Problem<T>&, bool);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace attention
}  // namespace fe

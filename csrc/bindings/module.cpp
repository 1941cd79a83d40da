// firstepoch._C: the module, its CPU/ISA/thread functions, and the call of each family's bind_<family>
// (bindings/<family>.cpp). Every binding checks each argument (dtype, rank, shape, layout, aliasing)
// once and raises TypeError/ValueError naming it; none casts or copies. Kernels run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/bandwidth.h"
#include "common/cpu.h"
#include "common/heap.h"
#include "common/parallel.h"
#include "bindings/common.h"
#include "bindings/numpy_memory.h"
#include "dispatch.h"

namespace py = pybind11;

namespace {

using namespace fe::pybind;

// The malloc policy chosen at import (common/heap.h): FIRSTEPOCH_MALLOC=keep (the default; any case,
// blank means unset) keeps freed buffers for reuse, =system leaves the process's malloc as it was.
// cpu_info()["malloc"] reports it.
// keep also puts NumPy's array data on 64-byte boundaries (bindings/numpy_memory.h); cpu_info()
// ["numpy_alignment"] says whether that took (64) or not (None).
const char* g_malloc_policy = "system";
bool g_numpy_aligned = false;

void apply_malloc_policy() {
  std::string given;
  const std::string want = fe::env_setting("FIRSTEPOCH_MALLOC", &given);
  if (want == "system") return;
  if (want != "keep" && !want.empty())
    throw std::invalid_argument("FIRSTEPOCH_MALLOC must be one of keep, system (any case); got '" + given + "'");
  g_malloc_policy = fe::keep_freed_memory() ? "keep" : "system (not glibc's malloc)";
  g_numpy_aligned = fe::pybind::align_numpy_allocations();
}

py::dict cpu_info() {
  py::dict d;
  d["isa"] = fe::isa_name(fe::active_isa());
  py::list av;
  for (auto isa : fe::available_isas()) av.append(fe::isa_name(isa));
  d["available"] = av;
  d["threads"] = fe::configured_num_threads();
  d["adaptive_threads"] = fe::adaptive_threads();
#ifdef FIRSTEPOCH_HAVE_OPENMP
  d["openmp"] = true;
#else
  d["openmp"] = false;
#endif
  d["forked_child"] = fe::in_forked_child();
  d["malloc"] = g_malloc_policy;
  d["numpy_alignment"] = g_numpy_aligned ? py::object(py::int_(64)) : py::object(py::none());
  py::dict kernels;
  kernels["sgemm"] = fe::kernels<fe::gemm::UKernel<float>>().name;
  kernels["dgemm"] = fe::kernels<fe::gemm::UKernel<double>>().name;
  d["kernels"] = kernels;
  return d;
}

}  // namespace

void bind_gemm(py::module_& m);
void bind_conv(py::module_& m);
void bind_pool(py::module_& m);
void bind_softmax(py::module_& m);
void bind_optim(py::module_& m);
void bind_norm(py::module_& m);
void bind_rnn(py::module_& m);
void bind_interp(py::module_& m);
void bind_activation(py::module_& m);
void bind_attention(py::module_& m);
void bind_data(py::module_& m);
void bind_reduce(py::module_& m);

PYBIND11_MODULE(_C, m) {
  m.doc() = "firstepoch C++ kernels (GEMM, ...) with run-time SIMD dispatch and OpenMP threads";
#ifdef FIRSTEPOCH_VERSION
  m.attr("__version__") = FIRSTEPOCH_VERSION;
#endif
  // Resolve FIRSTEPOCH_ISA now, so a bad value fails the import with a clear message.
  fe::active_isa();
  apply_malloc_policy();

  m.def("cpu_info", &cpu_info, "ISA in use, ISAs available, thread count, kernel names and the malloc policy.");
  m.def("get_isa", [] { return std::string(fe::isa_name(fe::active_isa())); });
  m.def(
      "set_isa", [](const std::string& name) { fe::set_active_isa(fe::isa_from_name(name)); },
      py::arg("name"), "Force an ISA level: 'scalar', 'avx2' or 'avx512' (RuntimeError if unsupported).");
  m.def("get_num_threads", &fe::configured_num_threads,
        "Kernel threads: the count set_num_threads set (in any thread), else OpenMP's default.");
  m.def("set_num_threads", &fe::set_num_threads, py::arg("n"),
        "Sets the kernel thread count for every thread of the process (and ends the adaptive default).");
  m.def("_kernel_threads", &fe::get_num_threads,
        "Threads a kernel started now would use (1 while the adaptive default finds one thread faster).");
  m.def(
      "memory_bandwidth_gbs",
      [](int64_t nbytes, int threads, int repeats) {
        py::gil_scoped_release nogil;
        return fe::measure_bandwidth_gbs(nbytes, threads, repeats);
      },
      py::arg("nbytes") = int64_t(1) << 30, py::arg("threads") = 1, py::arg("repeats") = 3,
      "Measured memory bandwidth (GB/s, bytes read + bytes written) of a streaming dst = 2 * src over two "
      "float buffers of nbytes each on `threads` threads, the best of `repeats` runs (ValueError for "
      "nbytes < 4096, threads < 1 or repeats < 1).");
  m.def(
      "release_free_memory", [] { return fe::release_free_memory(); },
      "Returns the free memory malloc keeps (FIRSTEPOCH_MALLOC=keep) to the OS now; True if any was returned.");
  bind_gemm(m);
  bind_softmax(m);
  bind_optim(m);
  bind_conv(m);
  bind_pool(m);
  bind_norm(m);
  bind_rnn(m);
  bind_interp(m);
  bind_activation(m);
  bind_attention(m);
  bind_data(m);
  bind_reduce(m);
}

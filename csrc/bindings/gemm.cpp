// Bindings of GEMM (gemm, with its bias/ReLU epilogue) and its tuning and peak-probe helpers.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "bindings/common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;

namespace {

using namespace fe::pybind;

// A matrix operand: the last axis has unit stride and rows do not go backwards, so it can be read
// as (rows, cols) with a leading dimension. Batch axis (3-D) stride must be >= 0.
struct Mat {
  int64_t batch = 1, rows = 0, cols = 0, ld = 0, batch_stride = 0;
  bool batched = false;
};

Mat describe(const py::array& a, const char* name) {
  if (a.ndim() != 2 && a.ndim() != 3)
    throw py::value_error(std::string(name) + " must be 2-D (rows, cols) or 3-D (batch, rows, cols), got shape " +
                          shape_str(a));
  const py::ssize_t item = a.itemsize();
  const int r = static_cast<int>(a.ndim()) - 2;
  Mat m;
  m.batched = a.ndim() == 3;
  m.batch = m.batched ? a.shape(0) : 1;
  m.rows = a.shape(r);
  m.cols = a.shape(r + 1);
  if (a.size() == 0) {  // nothing is read or written: any strides will do
    m.ld = std::max<int64_t>(m.cols, 1);
    m.batch_stride = m.rows * m.ld;
    return m;
  }
  const bool unit_inner = m.cols <= 1 || a.strides(r + 1) == item;
  const py::ssize_t rs = m.rows <= 1 ? std::max<py::ssize_t>(m.cols, 1) * item : a.strides(r);
  const py::ssize_t bs = (!m.batched || m.batch <= 1) ? 0 : a.strides(0);
  if (!unit_inner || rs % item != 0 || rs < m.cols * item || bs < 0 || bs % item != 0)
    throw py::value_error(std::string(name) + " with shape " + shape_str(a) +
                          " must be C-contiguous along its rows (unit stride on the last axis, rows "
                          "going forward); got a transposed, reversed or strided view: pass the "
                          "transpose flag, or make a copy with numpy.ascontiguousarray");
  m.ld = rs / item;
  m.batch_stride = bs / item;
  return m;
}

template <class T>
py::array gemm_typed(py::array a, py::array b, py::array out, bool trans_a, bool trans_b, double alpha,
                     double beta, py::object bias_obj, bool relu) {
  require_dtype<T>(a, "a");
  require_dtype<T>(b, "b");
  require_dtype<T>(out, "out");
  Mat ma = describe(a, "a"), mb = describe(b, "b"), mc = describe(out, "out");
  const int64_t M = trans_a ? ma.cols : ma.rows, K = trans_a ? ma.rows : ma.cols;
  const int64_t Kb = trans_b ? mb.cols : mb.rows, N = trans_b ? mb.rows : mb.cols;
  auto op_shape = [](const py::array& x, bool t) { return shape_str(x) + (t ? " (transposed)" : ""); };
  if (K != Kb)
    throw py::value_error("gemm: inner dimensions differ: op(a) is " + std::to_string(M) + "x" +
                          std::to_string(K) + " from a " + op_shape(a, trans_a) + ", op(b) is " +
                          std::to_string(Kb) + "x" + std::to_string(N) + " from b " + op_shape(b, trans_b));
  if (ma.batched && mb.batched && ma.batch != mb.batch)
    throw py::value_error("gemm: batch sizes differ: a " + shape_str(a) + ", b " + shape_str(b));
  const bool batched = ma.batched || mb.batched;
  const int64_t batch = ma.batched ? ma.batch : mb.batch;
  if (batched != mc.batched || mc.rows != M || mc.cols != N || (batched && mc.batch != batch)) {
    std::string want = batched ? "(" + std::to_string(batch) + ", " : "(";
    want += std::to_string(M) + ", " + std::to_string(N) + ")";
    throw py::value_error("out must have shape " + want + " for a " + op_shape(a, trans_a) + " and b " +
                          op_shape(b, trans_b) + ", got " + shape_str(out));
  }
  if (!out.writeable()) throw py::value_error("out is read-only");
  if (batched && batch > 1 && mc.batch_stride < M * mc.ld)
    throw py::value_error("out with shape " + shape_str(out) + " has overlapping batch entries");
  require_no_overlap(out, a, "out", "a");
  require_no_overlap(out, b, "out", "b");
  const T* bias_ptr = nullptr;
  py::array bias;
  if (!bias_obj.is_none()) {
    bias = as_array(bias_obj, "bias");
    require_dtype<T>(bias, "bias");
    if (bias.ndim() != 1 || bias.shape(0) != N)
      throw py::value_error("bias must have shape (" + std::to_string(N) + ",) (one per output column), got " +
                            shape_str(bias));
    if (N > 1 && bias.strides(0) != bias.itemsize())
      throw py::value_error("bias with shape " + shape_str(bias) + " must be contiguous");
    require_no_overlap(out, bias, "out", "bias");
    bias_ptr = static_cast<const T*>(bias.data());
  }
  const T* pa = static_cast<const T*>(a.data());
  const T* pb = static_cast<const T*>(b.data());
  T* pc = static_cast<T*>(out.mutable_data());
  const auto& uk = fe::kernels<fe::gemm::UKernel<T>>();
  const int nthreads = fe::get_num_threads();
  {
    py::gil_scoped_release nogil;
    fe::gemm::gemm_batched<T>(uk, trans_a, trans_b, batch, M, N, K, static_cast<T>(alpha), pa, ma.ld,
                              ma.batched ? ma.batch_stride : 0, pb, mb.ld, mb.batched ? mb.batch_stride : 0,
                              static_cast<T>(beta), pc, mc.ld, mc.batch_stride, bias_ptr, relu, nthreads);
  }
  return out;
}

py::array gemm(py::array a, py::array b, py::array out, bool trans_a, bool trans_b, double alpha, double beta,
               py::object bias, bool relu) {
  return is_float64(out, "out") ? gemm_typed<double>(a, b, out, trans_a, trans_b, alpha, beta, bias, relu)
                                : gemm_typed<float>(a, b, out, trans_a, trans_b, alpha, beta, bias, relu);
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", &gemm, py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("out").noconvert(),
        py::kw_only(), py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("alpha") = 1.0,
        py::arg("beta") = 0.0, py::arg("bias") = py::none(), py::arg("relu") = false,
        R"(out = alpha * op(a) @ op(b) + beta * out [+ bias] [ReLU], in place; returns out.

a, b, out: float32 or float64 arrays (all the same dtype), 2-D, or 3-D for a batch (a 2-D operand is
shared by every batch entry). Rows must have unit stride (C-contiguous or row slices); op(x) is x or,
with trans_x=True, its transpose. beta == 0 never reads out. bias: (N,) added per column.)");
  m.def(
      "_set_gemm_blocking",
      [](const std::string& dtype, const std::string& isa, int mc, int kc, int nc) {
        if (dtype != "float32" && dtype != "float64") throw py::value_error("dtype must be float32 or float64");
        fe::set_gemm_blocking(dtype == "float64", fe::isa_from_name(isa), mc, kc, nc);
      },
      py::arg("dtype"), py::arg("isa"), py::arg("mc"), py::arg("kc"), py::arg("nc"),
      "Tuning only: override the cache blocking of one GEMM kernel (see bench/tune_gemm.py).");
  m.def("_gemm_blocking", [](const std::string& dtype, const std::string& isa) {
    auto isa_v = fe::isa_from_name(isa);
    if (dtype == "float64") {
      const auto& u = fe::kernels<fe::gemm::UKernel<double>>(isa_v);
      return py::make_tuple(u.mr, u.nr, u.mc, u.kc, u.nc);
    }
    const auto& u = fe::kernels<fe::gemm::UKernel<float>>(isa_v);
    return py::make_tuple(u.mr, u.nr, u.mc, u.kc, u.nc);
  }, py::arg("dtype"), py::arg("isa"), "(mr, nr, mc, kc, nc) of one GEMM kernel.");
  m.def(
      "fma_peak_gflops",
      [](const std::string& isa, int64_t iters, int threads) {
        auto probe = fe::kernels<fe::gemm::UKernel<float>>(fe::isa_from_name(isa)).fma_probe;
        py::gil_scoped_release nogil;
        return fe::gemm::measure_peak_gflops(probe, iters, threads);
      },
      py::arg("isa"), py::arg("iters") = 20000000, py::arg("threads") = 1,
      "Measured FMA throughput (GFLOP/s) of an ISA's probe on `threads` threads together.");
}

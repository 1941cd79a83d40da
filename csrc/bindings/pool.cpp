// Bindings of max and average pooling (NCHW), forward and backward. Window parameters are checked here
// with ValueErrors naming them (PyTorch raises RuntimeError for the same cases); the output size is
// PyTorch's, with its ceil_mode.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include <string>
#include <utility>

#include "bindings/common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

// PyTorch's pooling output size along one dimension: the floor (or, in ceil mode, the ceiling) of the
// window count, and in ceil mode the last window must start inside the input or its left padding.
int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const int64_t span = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;  // floor division
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

template <class T>
fe::conv::Geometry pool_geometry(const py::array& x, Pair k, Pair s, Pair p, Pair d, bool ceil_mode, const char* what) {
  require_c_array<T>(x, "x", 4);
  const std::string w(what);
  if (k.first < 1 || k.second < 1) throw py::value_error(w + ": kernel_size must be >= 1, got " + pair_str(k));
  if (s.first < 1 || s.second < 1) throw py::value_error(w + ": stride must be >= 1, got " + pair_str(s));
  if (p.first < 0 || p.second < 0) throw py::value_error(w + ": padding must be >= 0, got " + pair_str(p));
  if (d.first < 1 || d.second < 1) throw py::value_error(w + ": dilation must be >= 1, got " + pair_str(d));
  const int64_t lim = int64_t(1) << 31;  // keeps the size arithmetic far from int64 overflow
  for (const Pair* v : {&k, &s, &p, &d})
    if (v->first >= lim || v->second >= lim)
      throw py::value_error(w + ": kernel_size, stride, padding and dilation must be below 2**31, got " + pair_str(k) +
                            ", " + pair_str(s) + ", " + pair_str(p) + ", " + pair_str(d));
  if (2 * p.first > k.first || 2 * p.second > k.second)
    throw py::value_error(w + ": padding " + pair_str(p) + " must be at most half of kernel_size " + pair_str(k));
  const int64_t C = x.shape(1), H = x.shape(2), W = x.shape(3);
  const int64_t OH = pool_out_size(H, k.first, s.first, p.first, d.first, ceil_mode);
  const int64_t OW = pool_out_size(W, k.second, s.second, p.second, d.second, ceil_mode);
  if (OH < 1 || OW < 1)
    throw py::value_error(w + ": the (dilated) kernel " +
                          pair_str({d.first * (k.first - 1) + 1, d.second * (k.second - 1) + 1}) +
                          " is larger than the padded input " + pair_str({H + 2 * p.first, W + 2 * p.second}) +
                          ": the output size " + pair_str({OH, OW}) + " is too small");
  int64_t cols = 0, work = 0;
  if (__builtin_mul_overflow(OH, OW, &cols) || __builtin_mul_overflow(cols, k.first * k.second, &work))
    throw py::value_error(w + ": output " + pair_str({OH, OW}) + " times kernel " + pair_str(k) +
                          " has more than 2**63 elements");
  return {C, H, W, k.first, k.second, s.first, s.second, p.first, p.second, d.first, d.second, OH, OW};
}

// max_pool2d's argmax: a C-contiguous int64 array of the output's shape.
void require_argmax(const py::array& argmax, std::initializer_list<int64_t> shape) {
  if (!py::isinstance<py::array_t<int64_t>>(argmax) || !(argmax.flags() & py::array::c_style))
    throw py::type_error("argmax must be a C-contiguous int64 array");
  require_aligned(argmax, "argmax");
  require_shape(argmax, "argmax", shape);
}

// The checks a pooling forward makes: x (N, C, H, W) and its window, y the pooled output.
template <class T>
fe::conv::Geometry pool_forward_checks(const py::array& x, const py::array& y, Pair k, Pair s, Pair p, Pair d,
                                       bool ceil_mode, const char* what) {
  const auto g = pool_geometry<T>(x, k, s, p, d, ceil_mode, what);
  require_output<T>(y, "y", {x.shape(0), g.C, g.OH, g.OW});
  require_no_overlap(y, x, "y", "x");
  return g;
}

// The checks a pooling backward makes: dx (N, C, H, W), which the kernel overwrites, has the input's
// shape; dy has the pooled shape.
template <class T>
fe::conv::Geometry pool_backward_checks(const py::array& dy, const py::array& dx, Pair k, Pair s, Pair p, Pair d,
                                        bool ceil_mode, const char* what) {
  require_writeable(dx, "dx");
  const auto g = pool_geometry<T>(dx, k, s, p, d, ceil_mode, what);
  require_c_array<T>(dy, "dy", 4);
  require_shape(dy, "dy", {dx.shape(0), g.C, g.OH, g.OW});
  require_no_overlap(dx, dy, "dx", "dy");
  return g;
}

// Runs launch(kernels, in, out, planes, threads) on the active ISA's pooling kernels with the GIL
// released: in is the array read (x or dy), out the one overwritten (y or dx), planes = N * C.
template <class T, class Launch>
void run_pool(const py::array& in, py::array& out, int64_t planes, Launch&& launch) {
  const T* pin = static_cast<const T*>(in.data());
  T* pout = static_cast<T*>(out.mutable_data());
  const auto& kk = fe::kernels<fe::pool::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  launch(kk, pin, pout, planes, nt);
}

template <class T>
void maxpool_t(py::array x, py::array y, py::array argmax, Pair k, Pair s, Pair p, Pair d, bool ceil_mode) {
  const auto g = pool_forward_checks<T>(x, y, k, s, p, d, ceil_mode, "max_pool2d");
  require_argmax(argmax, {x.shape(0), g.C, g.OH, g.OW});
  require_writeable(argmax, "argmax");
  require_disjoint({{y, "y"}, {argmax, "argmax"}}, {{x, "x"}});
  int64_t* pa = static_cast<int64_t*>(argmax.mutable_data());
  run_pool<T>(x, y, x.shape(0) * g.C, [&](const auto& kk, const T* px, T* py_, int64_t planes, int nt) {
    fe::pool::maxpool<T>(kk, px, g, py_, pa, planes, nt);
  });
}

template <class T>
void maxpool_backward_t(py::array dy, py::array argmax, py::array dx, Pair k, Pair s, Pair p, Pair d, bool ceil_mode) {
  const auto g = pool_backward_checks<T>(dy, dx, k, s, p, d, ceil_mode, "max_pool2d_backward");
  require_argmax(argmax, {dx.shape(0), g.C, g.OH, g.OW});
  require_no_overlap(dx, argmax, "dx", "argmax");  // dx's writes would change indices not yet read
  const int64_t* pa = static_cast<const int64_t*>(argmax.data());
  const int64_t plane = g.H * g.W;
  // The kernel checks every index as it reads it (one pass over argmax, not two), skips and counts those
  // outside [-1, H*W); then the first of them is named here (dx holds the other indices' gradient).
  int64_t bad = 0;
  run_pool<T>(dy, dx, dx.shape(0) * g.C, [&](const auto& kk, const T* pdy, T* pdx, int64_t planes, int nt) {
    bad = fe::pool::maxpool_backward<T>(kk, pdy, pa, g, pdx, planes, nt);
  });
  for (int64_t i = 0, n = argmax.size(); bad && i < n; ++i)
    if (pa[i] < -1 || pa[i] >= plane)
      throw py::index_error("argmax holds " + std::to_string(pa[i]) + ", outside a plane of " + std::to_string(plane));
}

// Average pooling's divisor options; divisor_override None or a non-zero integer below 2**31.
fe::pool::AvgDivisor avg_divisor(bool count_include_pad, std::optional<int64_t> divisor_override, const char* what) {
  if (divisor_override && (*divisor_override == 0 || *divisor_override >= (int64_t(1) << 31) ||
                           *divisor_override <= -(int64_t(1) << 31)))
    throw py::value_error(std::string(what) + ": divisor_override must be a non-zero integer below 2**31 in size, got " +
                          std::to_string(*divisor_override));
  return {count_include_pad, divisor_override ? *divisor_override : 0};
}

template <class T>
void avgpool_t(py::array x, py::array y, Pair k, Pair s, Pair p, bool ceil_mode, bool count_include_pad,
               std::optional<int64_t> divisor_override) {
  const auto g = pool_forward_checks<T>(x, y, k, s, p, {1, 1}, ceil_mode, "avg_pool2d");
  const auto dv = avg_divisor(count_include_pad, divisor_override, "avg_pool2d");
  run_pool<T>(x, y, x.shape(0) * g.C, [&](const auto& kk, const T* px, T* py_, int64_t planes, int nt) {
    fe::pool::avgpool<T>(kk, px, g, dv, py_, planes, nt);
  });
}

template <class T>
void avgpool_backward_t(py::array dy, py::array dx, Pair k, Pair s, Pair p, bool ceil_mode, bool count_include_pad,
                        std::optional<int64_t> divisor_override) {
  const auto g = pool_backward_checks<T>(dy, dx, k, s, p, {1, 1}, ceil_mode, "avg_pool2d_backward");
  const auto dv = avg_divisor(count_include_pad, divisor_override, "avg_pool2d_backward");
  run_pool<T>(dy, dx, dx.shape(0) * g.C, [&](const auto& kk, const T* pdy, T* pdx, int64_t planes, int nt) {
    fe::pool::avgpool_backward<T>(kk, pdy, g, dv, pdx, planes, nt);
  });
}

}  // namespace

void bind_pool(py::module_& m) {
  auto win = [](const char* n) { return py::arg(n); };
  using Div = std::optional<int64_t>;
  m.def("max_pool2d_forward", [](py::array x, py::array y, py::array a, Pair k, Pair s, Pair p, Pair d, bool c) {
          is_float64(x, "x") ? maxpool_t<double>(x, y, a, k, s, p, d, c) : maxpool_t<float>(x, y, a, k, s, p, d, c);
        }, py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("argmax").noconvert(), win("kernel_size"),
        win("stride"), win("padding"), win("dilation"), py::arg("ceil_mode") = false,
        "Max pooling of x (N, C, H, W) into y, saving argmax (the flat index h*W + w of each window's maximum).");
  m.def("max_pool2d_backward", [](py::array dy, py::array a, py::array dx, Pair k, Pair s, Pair p, Pair d, bool c) {
          is_float64(dx, "dx") ? maxpool_backward_t<double>(dy, a, dx, k, s, p, d, c)
                               : maxpool_backward_t<float>(dy, a, dx, k, s, p, d, c);
        }, py::arg("dy").noconvert(), py::arg("argmax").noconvert(), py::arg("dx").noconvert(), win("kernel_size"),
        win("stride"), win("padding"), win("dilation"), py::arg("ceil_mode") = false,
        "dx (overwritten) = dy routed to each window's max (argmax from max_pool2d_forward).");
  m.def("avg_pool2d_forward", [](py::array x, py::array y, Pair k, Pair s, Pair p, bool c, bool cip, Div dov) {
          is_float64(x, "x") ? avgpool_t<double>(x, y, k, s, p, c, cip, dov) : avgpool_t<float>(x, y, k, s, p, c, cip, dov);
        }, py::arg("x").noconvert(), py::arg("y").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        py::arg("ceil_mode") = false, py::arg("count_include_pad") = true, py::arg("divisor_override") = py::none(),
        "Average pooling of x (N, C, H, W) into y: each window's sum over its divisor (PyTorch's rules).");
  m.def("avg_pool2d_backward", [](py::array dy, py::array dx, Pair k, Pair s, Pair p, bool c, bool cip, Div dov) {
          is_float64(dx, "dx") ? avgpool_backward_t<double>(dy, dx, k, s, p, c, cip, dov)
                               : avgpool_backward_t<float>(dy, dx, k, s, p, c, cip, dov);
        }, py::arg("dy").noconvert(), py::arg("dx").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        py::arg("ceil_mode") = false, py::arg("count_include_pad") = true, py::arg("divisor_override") = py::none(),
        "dx (overwritten) = dy / divisor spread over each window.");
}

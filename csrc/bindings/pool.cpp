// Bindings of max and average pooling (NCHW), forward and backward. Window parameters are checked by
// window_geometry (common.h) with ValueErrors naming them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "bindings/common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

template <class T>
fe::conv::Geometry pool_geometry(const py::array& x, Pair k, Pair s, Pair p, Pair d, const char* what) {
  require_c_array<T>(x, "x", 4);
  const auto g = window_geometry(x.shape(1), x.shape(2), x.shape(3), k, s, p, d, what);  // bounds k, p first
  if (2 * p.first > k.first || 2 * p.second > k.second)
    throw py::value_error(std::string(what) + ": padding " + pair_str(p) + " must be at most half of kernel_size " +
                          pair_str(k));
  return g;
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
                                       const char* what) {
  const auto g = pool_geometry<T>(x, k, s, p, d, what);
  require_output<T>(y, "y", {x.shape(0), g.C, g.OH, g.OW});
  require_no_overlap(y, x, "y", "x");
  return g;
}

// The checks a pooling backward makes: dx (N, C, H, W), which the kernel overwrites, has the input's
// shape; dy has the pooled shape.
template <class T>
fe::conv::Geometry pool_backward_checks(const py::array& dy, const py::array& dx, Pair k, Pair s, Pair p, Pair d,
                                        const char* what) {
  require_writeable(dx, "dx");
  const auto g = pool_geometry<T>(dx, k, s, p, d, what);
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
void maxpool_t(py::array x, py::array y, py::array argmax, Pair k, Pair s, Pair p, Pair d) {
  const auto g = pool_forward_checks<T>(x, y, k, s, p, d, "max_pool2d");
  require_argmax(argmax, {x.shape(0), g.C, g.OH, g.OW});
  require_writeable(argmax, "argmax");
  require_disjoint({{y, "y"}, {argmax, "argmax"}}, {{x, "x"}});
  int64_t* pa = static_cast<int64_t*>(argmax.mutable_data());
  run_pool<T>(x, y, x.shape(0) * g.C, [&](const auto& kk, const T* px, T* py_, int64_t planes, int nt) {
    fe::pool::maxpool<T>(kk, px, g, py_, pa, planes, nt);
  });
}

template <class T>
void maxpool_backward_t(py::array dy, py::array argmax, py::array dx, Pair k, Pair s, Pair p, Pair d) {
  const auto g = pool_backward_checks<T>(dy, dx, k, s, p, d, "max_pool2d_backward");
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

template <class T>
void avgpool_t(py::array x, py::array y, Pair k, Pair s, Pair p) {
  const auto g = pool_forward_checks<T>(x, y, k, s, p, {1, 1}, "avg_pool2d");
  run_pool<T>(x, y, x.shape(0) * g.C, [&](const auto& kk, const T* px, T* py_, int64_t planes, int nt) {
    fe::pool::avgpool<T>(kk, px, g, py_, planes, nt);
  });
}

template <class T>
void avgpool_backward_t(py::array dy, py::array dx, Pair k, Pair s, Pair p) {
  const auto g = pool_backward_checks<T>(dy, dx, k, s, p, {1, 1}, "avg_pool2d_backward");
  run_pool<T>(dy, dx, dx.shape(0) * g.C, [&](const auto& kk, const T* pdy, T* pdx, int64_t planes, int nt) {
    fe::pool::avgpool_backward<T>(kk, pdy, g, pdx, planes, nt);
  });
}

}  // namespace

void bind_pool(py::module_& m) {
  auto win = [](const char* n) { return py::arg(n); };
  m.def("max_pool2d_forward", [](py::array x, py::array y, py::array a, Pair k, Pair s, Pair p, Pair d) {
          is_float64(x, "x") ? maxpool_t<double>(x, y, a, k, s, p, d) : maxpool_t<float>(x, y, a, k, s, p, d);
        }, py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("argmax").noconvert(), win("kernel_size"),
        win("stride"), win("padding"), win("dilation"), "Max pooling of x (N, C, H, W) into y, saving argmax.");
  m.def("max_pool2d_backward", [](py::array dy, py::array a, py::array dx, Pair k, Pair s, Pair p, Pair d) {
          is_float64(dx, "dx") ? maxpool_backward_t<double>(dy, a, dx, k, s, p, d) : maxpool_backward_t<float>(dy, a, dx, k, s, p, d);
        }, py::arg("dy").noconvert(), py::arg("argmax").noconvert(), py::arg("dx").noconvert(), win("kernel_size"),
        win("stride"), win("padding"), win("dilation"), "dx (overwritten) = dy routed to each window's max (argmax from max_pool2d_forward).");
  m.def("avg_pool2d_forward", [](py::array x, py::array y, Pair k, Pair s, Pair p) {
          is_float64(x, "x") ? avgpool_t<double>(x, y, k, s, p) : avgpool_t<float>(x, y, k, s, p);
        }, py::arg("x").noconvert(), py::arg("y").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        "Average pooling (padding counts as zeros) of x (N, C, H, W) into y.");
  m.def("avg_pool2d_backward", [](py::array dy, py::array dx, Pair k, Pair s, Pair p) {
          is_float64(dx, "dx") ? avgpool_backward_t<double>(dy, dx, k, s, p) : avgpool_backward_t<float>(dy, dx, k, s, p);
        }, py::arg("dy").noconvert(), py::arg("dx").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        "dx (overwritten) = dy spread evenly over each window.");
}

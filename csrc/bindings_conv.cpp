// Bindings for im2col / col2im and pooling (NCHW). Window parameters are checked here (positive
// kernel and stride, non-negative padding, an output of at least 1x1) with ValueErrors naming them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "bindings_common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;
using Pair = std::pair<int64_t, int64_t>;

namespace {

std::string pair_str(const Pair& p) { return "(" + std::to_string(p.first) + ", " + std::to_string(p.second) + ")"; }

fe::conv::Geometry geometry(int64_t C, int64_t H, int64_t W, Pair k, Pair s, Pair p, Pair d, const char* what) {
  if (k.first < 1 || k.second < 1) throw py::value_error(std::string(what) + ": kernel_size must be >= 1, got " + pair_str(k));
  if (s.first < 1 || s.second < 1) throw py::value_error(std::string(what) + ": stride must be >= 1, got " + pair_str(s));
  if (p.first < 0 || p.second < 0) throw py::value_error(std::string(what) + ": padding must be >= 0, got " + pair_str(p));
  if (d.first < 1 || d.second < 1) throw py::value_error(std::string(what) + ": dilation must be >= 1, got " + pair_str(d));
  // Bounded so that the size arithmetic below stays far from int64 overflow (signed overflow is UB).
  const int64_t lim = int64_t(1) << 31;
  for (const Pair* v : {&k, &s, &p, &d})
    if (v->first >= lim || v->second >= lim)
      throw py::value_error(std::string(what) + ": kernel_size, stride, padding and dilation must be below 2**31, got " +
                            pair_str(k) + ", " + pair_str(s) + ", " + pair_str(p) + ", " + pair_str(d));
  const int64_t eh = d.first * (k.first - 1) + 1, ew = d.second * (k.second - 1) + 1;
  const int64_t OH = (H + 2 * p.first - eh) / s.first + 1, OW = (W + 2 * p.second - ew) / s.second + 1;
  if (H + 2 * p.first < eh || W + 2 * p.second < ew || OH < 1 || OW < 1)
    throw py::value_error(std::string(what) + ": the (dilated) kernel " + pair_str({eh, ew}) +
                          " is larger than the padded input " + pair_str({H + 2 * p.first, W + 2 * p.second}));
  int64_t rows = 0, cols = 0, elems = 0;
  if (__builtin_mul_overflow(C, k.first * k.second, &rows) || __builtin_mul_overflow(OH, OW, &cols) ||
      __builtin_mul_overflow(rows, cols, &elems))
    throw py::value_error(std::string(what) + ": the column matrix (C*kh*kw, OH*OW) for " + std::to_string(C) +
                          " channels, kernel " + pair_str(k) + " and output " + pair_str({OH, OW}) +
                          " has more than 2**63 elements");
  return {C, H, W, k.first, k.second, s.first, s.second, p.first, p.second, d.first, d.second, OH, OW};
}

// conv2d's column buffer (C*kh*kw, OH*OW) of at least one image, checked before the kernel allocates it.
template <class T>
void require_columns_fit(const fe::conv::Geometry& g) {
  require_scratch_fits(static_cast<uint64_t>(g.C * g.kh * g.kw) * static_cast<uint64_t>(g.OH * g.OW), sizeof(T),
                       "conv2d: the column buffer (C*kh*kw, OH*OW) = (" + std::to_string(g.C * g.kh * g.kw) + ", " +
                           std::to_string(g.OH * g.OW) + ")");
}

template <class T>
const fe::conv::Kernels<T>& kernels() {
  return fe::conv_kernels<T>(fe::active_isa());
}

void require_shape(const py::array& a, const char* name, std::initializer_list<int64_t> shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  int i = 0;
  for (int64_t v : shape) ok = ok && a.shape(i++) == v;
  if (!ok) {
    std::string want = "(";
    i = 0;
    for (int64_t v : shape) want += (i++ ? ", " : "") + std::to_string(v);
    throw py::value_error(std::string(name) + " must have shape " + want + "), got " + shape_str(a));
  }
}

template <class T>
void im2col_t(py::array x, py::array col, Pair k, Pair s, Pair p, Pair d) {
  require_c_array<T>(x, "x", 3);
  const auto g = geometry(x.shape(0), x.shape(1), x.shape(2), k, s, p, d, "im2col");
  require_c_array<T>(col, "col", 2);
  require_writeable(col, "col");
  require_shape(col, "col", {g.C * g.kh * g.kw, g.OH * g.OW});
  require_no_overlap(col, x, "col", "x");
  const T* px = static_cast<const T*>(x.data());
  T* pc = static_cast<T*>(col.mutable_data());
  const auto& kk = kernels<T>();
  py::gil_scoped_release nogil;
  kk.im2col(px, g, pc, g.OH * g.OW);
}

template <class T>
void col2im_t(py::array col, py::array dx, Pair k, Pair s, Pair p, Pair d) {
  require_c_array<T>(dx, "dx", 3);
  require_writeable(dx, "dx");
  const auto g = geometry(dx.shape(0), dx.shape(1), dx.shape(2), k, s, p, d, "col2im");
  require_c_array<T>(col, "col", 2);
  require_shape(col, "col", {g.C * g.kh * g.kw, g.OH * g.OW});
  require_no_overlap(dx, col, "dx", "col");
  const T* pc = static_cast<const T*>(col.data());
  T* pd = static_cast<T*>(dx.mutable_data());
  const auto& kk = kernels<T>();
  py::gil_scoped_release nogil;
  kk.col2im(pc, g, pd, g.OH * g.OW);
}

template <class T>
fe::conv::Geometry pool_geometry(const py::array& x, Pair k, Pair s, Pair p, Pair d, const char* what) {
  require_c_array<T>(x, "x", 4);
  const auto g = geometry(x.shape(1), x.shape(2), x.shape(3), k, s, p, d, what);  // bounds k, p first
  if (2 * p.first > k.first || 2 * p.second > k.second)
    throw py::value_error(std::string(what) + ": padding " + pair_str(p) + " must be at most half of kernel_size " +
                          pair_str(k));
  return g;
}

template <class T>
void maxpool_t(py::array x, py::array y, py::array argmax, Pair k, Pair s, Pair p, Pair d) {
  const auto g = pool_geometry<T>(x, k, s, p, d, "max_pool2d");
  const int64_t N = x.shape(0);
  require_c_array<T>(y, "y", 4);
  require_writeable(y, "y");
  require_shape(y, "y", {N, g.C, g.OH, g.OW});
  if (!py::isinstance<py::array_t<int64_t>>(argmax) || !(argmax.flags() & py::array::c_style))
    throw py::type_error("argmax must be a C-contiguous int64 array");
  require_aligned(argmax, "argmax");
  require_shape(argmax, "argmax", {N, g.C, g.OH, g.OW});
  require_writeable(argmax, "argmax");
  require_no_overlap(y, x, "y", "x");
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  int64_t* pa = static_cast<int64_t*>(argmax.mutable_data());
  const auto& kk = kernels<T>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::maxpool<T>(kk, px, g, py_, pa, N * g.C, nt);
}

template <class T>
void maxpool_backward_t(py::array dy, py::array argmax, py::array dx, Pair k, Pair s, Pair p, Pair d) {
  require_writeable(dx, "dx");
  const auto g = pool_geometry<T>(dx, k, s, p, d, "max_pool2d_backward");
  const int64_t N = dx.shape(0);
  require_c_array<T>(dy, "dy", 4);
  require_shape(dy, "dy", {N, g.C, g.OH, g.OW});
  if (!py::isinstance<py::array_t<int64_t>>(argmax) || !(argmax.flags() & py::array::c_style))
    throw py::type_error("argmax must be a C-contiguous int64 array");
  require_aligned(argmax, "argmax");
  require_shape(argmax, "argmax", {N, g.C, g.OH, g.OW});
  const int64_t* pa = static_cast<const int64_t*>(argmax.data());
  const int64_t plane = g.H * g.W;
  for (int64_t i = 0, n = argmax.size(); i < n; ++i)
    if (pa[i] < -1 || pa[i] >= plane) throw py::index_error("argmax holds " + std::to_string(pa[i]) + ", outside a plane of " + std::to_string(plane));
  require_no_overlap(dx, dy, "dx", "dy");
  const T* pdy = static_cast<const T*>(dy.data());
  T* pdx = static_cast<T*>(dx.mutable_data());
  const auto& kk = kernels<T>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::maxpool_backward<T>(kk, pdy, pa, g, pdx, N * g.C, nt);
}

template <class T>
void avgpool_t(py::array x, py::array y, Pair k, Pair s, Pair p) {
  const auto g = pool_geometry<T>(x, k, s, p, {1, 1}, "avg_pool2d");
  const int64_t N = x.shape(0);
  require_c_array<T>(y, "y", 4);
  require_writeable(y, "y");
  require_shape(y, "y", {N, g.C, g.OH, g.OW});
  require_no_overlap(y, x, "y", "x");
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  const auto& kk = kernels<T>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::avgpool<T>(kk, px, g, py_, N * g.C, nt);
}

template <class T>
void avgpool_backward_t(py::array dy, py::array dx, Pair k, Pair s, Pair p) {
  require_writeable(dx, "dx");
  const auto g = pool_geometry<T>(dx, k, s, p, {1, 1}, "avg_pool2d_backward");
  const int64_t N = dx.shape(0);
  require_c_array<T>(dy, "dy", 4);
  require_shape(dy, "dy", {N, g.C, g.OH, g.OW});
  require_no_overlap(dx, dy, "dx", "dy");
  const T* pdy = static_cast<const T*>(dy.data());
  T* pdx = static_cast<T*>(dx.mutable_data());
  const auto& kk = kernels<T>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::avgpool_backward<T>(kk, pdy, g, pdx, N * g.C, nt);
}

template <class T>
fe::conv::Geometry conv_geometry(const py::array& x, const py::array& w, int64_t groups, Pair s, Pair p, Pair d) {
  require_c_array<T>(x, "x", 4);
  require_c_array<T>(w, "weight", 4);
  const int64_t C = x.shape(1), OC = w.shape(0);
  if (groups < 1 || C % groups || OC % groups || w.shape(1) * groups != C)
    throw py::value_error("conv2d: input " + shape_str(x) + " and weight " + shape_str(w) + " do not fit groups=" +
                          std::to_string(groups));
  return geometry(C, x.shape(2), x.shape(3), {w.shape(2), w.shape(3)}, s, p, d, "conv2d");
}

template <class T>
void conv_forward_t(py::array x, py::array w, py::object bias, py::array y, Pair s, Pair p, Pair d, int64_t groups) {
  const auto g = conv_geometry<T>(x, w, groups, s, p, d);
  const int64_t N = x.shape(0), OC = w.shape(0);
  require_c_array<T>(y, "y", 4);
  require_writeable(y, "y");
  require_shape(y, "y", {N, OC, g.OH, g.OW});
  require_no_overlap(y, x, "y", "x");
  require_no_overlap(y, w, "y", "weight");
  py::array b;
  const T* pb = nullptr;
  if (!bias.is_none()) {
    b = bias.cast<py::array>();
    require_c_array<T>(b, "bias", 1);
    require_shape(b, "bias", {OC});
    pb = static_cast<const T*>(b.data());
  }
  const T* px = static_cast<const T*>(x.data());
  require_columns_fit<T>(g);
  const T* pw = static_cast<const T*>(w.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  const auto& kk = kernels<T>();
  const auto& uk = fe::gemm_ukernel<T>(fe::active_isa());
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::conv2d_forward<T>(kk, uk, px, N, g, pw, OC, groups, pb, py_, nt);
}

template <class T>
void conv_backward_t(py::array x, py::array w, py::array dy, py::object dx_obj, py::object dw_obj, Pair s, Pair p, Pair d,
                     int64_t groups) {
  const auto g = conv_geometry<T>(x, w, groups, s, p, d);
  const int64_t N = x.shape(0), OC = w.shape(0);
  require_c_array<T>(dy, "dy", 4);
  require_shape(dy, "dy", {N, OC, g.OH, g.OW});
  py::array dxa, dwa;
  T* pdx = nullptr;
  T* pdw = nullptr;
  if (!dx_obj.is_none()) {
    dxa = dx_obj.cast<py::array>();
    require_c_array<T>(dxa, "dx", 4);
    require_writeable(dxa, "dx");
    require_shape(dxa, "dx", {N, g.C, g.H, g.W});
    require_no_overlap(dxa, dy, "dx", "dy");
    require_no_overlap(dxa, x, "dx", "x");
    pdx = static_cast<T*>(dxa.mutable_data());
  }
  if (!dw_obj.is_none()) {
    dwa = dw_obj.cast<py::array>();
    require_c_array<T>(dwa, "dweight", 4);
    require_writeable(dwa, "dweight");
    require_shape(dwa, "dweight", {OC, w.shape(1), w.shape(2), w.shape(3)});
    require_no_overlap(dwa, dy, "dweight", "dy");
    require_no_overlap(dwa, w, "dweight", "weight");
    pdw = static_cast<T*>(dwa.mutable_data());
  }
  const T* px = static_cast<const T*>(x.data());
  const T* pw = static_cast<const T*>(w.data());
  require_columns_fit<T>(g);
  const T* pdy = static_cast<const T*>(dy.data());
  const auto& kk = kernels<T>();
  const auto& uk = fe::gemm_ukernel<T>(fe::active_isa());
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::conv2d_backward<T>(kk, uk, px, N, g, pw, OC, groups, pdy, pdx, pdw, nt);
}

bool f64(const py::array& a, const char* name) {
  if (py::isinstance<py::array_t<float>>(a)) return false;
  if (py::isinstance<py::array_t<double>>(a)) return true;
  throw py::type_error(std::string(name) + " must have dtype float32 or float64, got " + dtype_str(a) + " with shape " +
                       shape_str(a));
}

}  // namespace

void bind_conv(py::module_& m) {
  auto win = [](const char* n) { return py::arg(n); };
  m.def("conv2d_forward", [](py::array x, py::array w, py::object b, py::array y, Pair s, Pair p, Pair d, int64_t groups) {
          f64(x, "x") ? conv_forward_t<double>(x, w, b, y, s, p, d, groups) : conv_forward_t<float>(x, w, b, y, s, p, d, groups);
        }, py::arg("x").noconvert(), py::arg("weight").noconvert(), py::arg("bias").noconvert(), py::arg("y").noconvert(),
        win("stride"), win("padding"), win("dilation"), win("groups"),
        "y (N, OC, OH, OW) = conv2d(x (N, C, H, W), weight (OC, C/groups, kh, kw)) + bias: im2col + GEMM per image.");
  m.def("conv2d_backward", [](py::array x, py::array w, py::array dy, py::object dx, py::object dw, Pair s, Pair p,
                              Pair d, int64_t groups) {
          f64(x, "x") ? conv_backward_t<double>(x, w, dy, dx, dw, s, p, d, groups)
                      : conv_backward_t<float>(x, w, dy, dx, dw, s, p, d, groups);
        }, py::arg("x").noconvert(), py::arg("weight").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(),
        py::arg("dweight").noconvert(), win("stride"), win("padding"), win("dilation"), win("groups"),
        "dx and dweight (each overwritten when given) of conv2d from dy (N, OC, OH, OW).");
  m.def("im2col", [](py::array x, py::array col, Pair k, Pair s, Pair p, Pair d) {
          f64(x, "x") ? im2col_t<double>(x, col, k, s, p, d) : im2col_t<float>(x, col, k, s, p, d);
        }, py::arg("x").noconvert(), py::arg("col").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        win("dilation"), "col (C*kh*kw, OH*OW) = the sliding windows of one image x (C, H, W).");
  m.def("col2im", [](py::array col, py::array dx, Pair k, Pair s, Pair p, Pair d) {
          f64(dx, "dx") ? col2im_t<double>(col, dx, k, s, p, d) : col2im_t<float>(col, dx, k, s, p, d);
        }, py::arg("col").noconvert(), py::arg("dx").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        win("dilation"), "dx (C, H, W) += the windows in col scattered back (overlaps add up).");
  m.def("max_pool2d", [](py::array x, py::array y, py::array a, Pair k, Pair s, Pair p, Pair d) {
          f64(x, "x") ? maxpool_t<double>(x, y, a, k, s, p, d) : maxpool_t<float>(x, y, a, k, s, p, d);
        }, py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("argmax").noconvert(), win("kernel_size"),
        win("stride"), win("padding"), win("dilation"), "Max pooling of x (N, C, H, W) into y, saving argmax.");
  m.def("max_pool2d_backward", [](py::array dy, py::array a, py::array dx, Pair k, Pair s, Pair p, Pair d) {
          f64(dx, "dx") ? maxpool_backward_t<double>(dy, a, dx, k, s, p, d) : maxpool_backward_t<float>(dy, a, dx, k, s, p, d);
        }, py::arg("dy").noconvert(), py::arg("argmax").noconvert(), py::arg("dx").noconvert(), win("kernel_size"),
        win("stride"), win("padding"), win("dilation"), "dx += dy routed to each window's max.");
  m.def("avg_pool2d", [](py::array x, py::array y, Pair k, Pair s, Pair p) {
          f64(x, "x") ? avgpool_t<double>(x, y, k, s, p) : avgpool_t<float>(x, y, k, s, p);
        }, py::arg("x").noconvert(), py::arg("y").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        "Average pooling (padding counts as zeros) of x (N, C, H, W) into y.");
  m.def("avg_pool2d_backward", [](py::array dy, py::array dx, Pair k, Pair s, Pair p) {
          f64(dx, "dx") ? avgpool_backward_t<double>(dy, dx, k, s, p) : avgpool_backward_t<float>(dy, dx, k, s, p);
        }, py::arg("dy").noconvert(), py::arg("dx").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        "dx += dy spread evenly over each window.");
}

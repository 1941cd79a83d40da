// Bindings of interpolation (F.interpolate's nearest, nearest-exact and linear modes) over NCHW planes,
// forward and backward. 1-D input comes as planes of one row. Every argument is checked here once.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/common.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

fe::interp::Mode parse_mode(const std::string& mode, bool align_corners) {
  fe::interp::Mode m;
  if (mode == "nearest")
    m = fe::interp::Mode::nearest;
  else if (mode == "nearest-exact")
    m = fe::interp::Mode::nearest_exact;
  else if (mode == "linear")
    m = fe::interp::Mode::linear;
  else if (mode == "nearest-1d")
    m = fe::interp::Mode::nearest_1d;
  else
    throw py::value_error("mode must be 'nearest', 'nearest-exact', 'nearest-1d' or 'linear', got '" + mode + "'");
  if (align_corners && m != fe::interp::Mode::linear)
    throw py::value_error("align_corners=True is only meaningful with mode 'linear', got '" + mode + "'");
  return m;
}

// in (N, C, H, W) is read, out (N, C, OH, OW) or the input's shape overwritten: the sizes, with every
// plane size >= 1 (as PyTorch requires) and the scratch a plane's backward needs (H * OW per thread).
template <class T>
fe::interp::Geometry checks(const py::array& small, const char* small_name, const py::array& big,
                            const char* big_name, bool big_is_output, const char* what) {
  // small: x (forward) or dx (backward); big: y or dy, shaped by the output size
  require_c_array<T>(small, small_name, 4);
  require_c_array<T>(big, big_name, 4);
  if (big.shape(0) != small.shape(0) || big.shape(1) != small.shape(1))
    throw py::value_error(std::string(what) + ": " + big_name + " with shape " + shape_str(big) + " must have the N and C of " +
                          small_name + " with shape " + shape_str(small));
  const fe::interp::Geometry g{small.shape(2), small.shape(3), big.shape(2), big.shape(3)};
  if (g.H < 1 || g.W < 1 || g.OH < 1 || g.OW < 1)
    throw py::value_error(std::string(what) + ": input and output sizes must be greater than 0, got " + small_name + " " +
                          shape_str(small) + " and " + big_name + " " + shape_str(big));
  require_writeable(big_is_output ? big : small, big_is_output ? big_name : small_name);
  require_no_overlap(big_is_output ? big : small, big_is_output ? small : big, big_is_output ? big_name : small_name,
                     big_is_output ? small_name : big_name);
  require_scratch_fits(static_cast<uint64_t>(g.H) * static_cast<uint64_t>(g.OW) * fe::get_num_threads(), sizeof(T),
                       std::string(what) + " with an input of " + shape_str(small) + " and output of " + shape_str(big));
  return g;
}

template <class T>
void forward_t(py::array x, py::array y, const std::string& mode, bool align_corners, double sh, double sw) {
  const auto m = parse_mode(mode, align_corners);
  const auto g = checks<T>(x, "x", y, "y", true, "interpolate2d_forward");
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  const int64_t planes = x.shape(0) * x.shape(1);
  const auto& kk = fe::kernels<fe::interp::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::interp::interpolate2d_forward<T>(kk, px, g, planes, m, align_corners, sh, sw, py_, nt);
}

template <class T>
void backward_t(py::array dy, py::array dx, const std::string& mode, bool align_corners, double sh, double sw) {
  const auto m = parse_mode(mode, align_corners);
  const auto g = checks<T>(dx, "dx", dy, "dy", false, "interpolate2d_backward");
  const T* pdy = static_cast<const T*>(dy.data());
  T* pdx = static_cast<T*>(dx.mutable_data());
  const int64_t planes = dx.shape(0) * dx.shape(1);
  const auto& kk = fe::kernels<fe::interp::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::interp::interpolate2d_backward<T>(kk, pdy, g, planes, m, align_corners, sh, sw, pdx, nt);
}

}  // namespace

void bind_interp(py::module_& m) {
  m.def("interpolate2d_forward",
        [](py::array x, py::array y, const std::string& mode, bool align_corners, double sh, double sw) {
          is_float64(x, "x") ? forward_t<double>(x, y, mode, align_corners, sh, sw)
                             : forward_t<float>(x, y, mode, align_corners, sh, sw);
        },
        py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("mode"), py::arg("align_corners"),
        py::arg("scale_h"), py::arg("scale_w"),
        "y (N, C, OH, OW) overwritten with x (N, C, H, W) interpolated: mode 'nearest', 'nearest-exact', "
        "'nearest-1d' (nearest without its out == in, 2 * in shortcuts) or 'linear' (separable bilinear); scale_h, scale_w: F.interpolate's scale_factor, or 0 for none.");
  m.def("interpolate2d_backward",
        [](py::array dy, py::array dx, const std::string& mode, bool align_corners, double sh, double sw) {
          is_float64(dx, "dx") ? backward_t<double>(dy, dx, mode, align_corners, sh, sw)
                               : backward_t<float>(dy, dx, mode, align_corners, sh, sw);
        },
        py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::arg("mode"), py::arg("align_corners"),
        py::arg("scale_h"), py::arg("scale_w"),
        "dx (N, C, H, W) overwritten with the gradient of interpolate2d_forward for dy (N, C, OH, OW).");
}

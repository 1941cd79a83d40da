// Bindings of convolution (conv2d_forward / conv2d_backward) and its im2col / col2im, NCHW. Window
// parameters are checked by window_geometry (common.h) with ValueErrors naming them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "bindings/common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"
#include "kernels/conv/winograd.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

// conv2d's column buffer (C*kh*kw, OH*OW) of at least one image, checked before the kernel allocates it.
template <class T>
void require_columns_fit(const fe::conv::Geometry& g) {
  require_scratch_fits(static_cast<uint64_t>(g.C * g.kh * g.kw) * static_cast<uint64_t>(g.OH * g.OW), sizeof(T),
                       "conv2d: the column buffer (C*kh*kw, OH*OW) = (" + std::to_string(g.C * g.kh * g.kw) + ", " +
                           std::to_string(g.OH * g.OW) + ")");
}

// im2col and col2im share one check: the image (C, H, W), its window and the column matrix
// (C*kh*kw, OH*OW); col_is_output says which of the two the kernel overwrites.
template <class T>
fe::conv::Geometry columns_checks(const py::array& image, const char* image_name, const py::array& col,
                                  bool col_is_output, Pair k, Pair s, Pair p, Pair d, const char* what) {
  require_c_array<T>(image, image_name, 3);
  if (!col_is_output) require_writeable(image, image_name);
  const auto g = window_geometry(image.shape(0), image.shape(1), image.shape(2), k, s, p, d, what);
  if (col_is_output) {
    require_output<T>(col, "col", {g.C * g.kh * g.kw, g.OH * g.OW});
    require_no_overlap(col, image, "col", image_name);
  } else {
    require_c_array<T>(col, "col", 2);
    require_shape(col, "col", {g.C * g.kh * g.kw, g.OH * g.OW});
    require_no_overlap(image, col, image_name, "col");
  }
  return g;
}

// Runs launch(kernels, in, out) on the active ISA's conv kernels with the GIL released: in is the
// array read (x or col), out the one overwritten (col or dx).
template <class T, class Launch>
void run_columns(const py::array& in, py::array& out, Launch&& launch) {
  const T* pin = static_cast<const T*>(in.data());
  T* pout = static_cast<T*>(out.mutable_data());
  const auto& kk = fe::kernels<fe::conv::Kernels<T>>();
  py::gil_scoped_release nogil;
  launch(kk, pin, pout);
}

template <class T>
void im2col_t(py::array x, py::array col, Pair k, Pair s, Pair p, Pair d) {
  const auto g = columns_checks<T>(x, "x", col, true, k, s, p, d, "im2col");
  run_columns<T>(x, col, [&](const auto& kk, const T* px, T* pc) { kk.im2col(px, g, pc, g.OH * g.OW); });
}

template <class T>
void col2im_t(py::array col, py::array dx, Pair k, Pair s, Pair p, Pair d) {
  const auto g = columns_checks<T>(dx, "dx", col, false, k, s, p, d, "col2im");
  run_columns<T>(col, dx, [&](const auto& kk, const T* pc, T* pd) { kk.col2im(pc, g, pd, g.OH * g.OW); });
}

template <class T>
fe::conv::Geometry conv_geometry(const py::array& x, const py::array& w, int64_t groups, Pair s, Pair p, Pair d) {
  require_c_array<T>(x, "x", 4);
  require_c_array<T>(w, "weight", 4);
  const int64_t C = x.shape(1), OC = w.shape(0);
  if (groups < 1 || C % groups || OC % groups || w.shape(1) * groups != C)
    throw py::value_error("conv2d: input " + shape_str(x) + " and weight " + shape_str(w) + " do not fit groups=" +
                          std::to_string(groups));
  return window_geometry(C, x.shape(2), x.shape(3), {w.shape(2), w.shape(3)}, s, p, d, "conv2d");
}

template <class T>
void conv_forward_t(py::array x, py::array w, py::object bias, py::array y, Pair s, Pair p, Pair d, int64_t groups,
                    bool relu) {
  const auto g = conv_geometry<T>(x, w, groups, s, p, d);
  const int64_t N = x.shape(0), OC = w.shape(0);
  require_output<T>(y, "y", {N, OC, g.OH, g.OW});
  require_disjoint({{y, "y"}}, {{x, "x"}, {w, "weight"}, {bias, "bias"}});
  py::array b;
  const T* pb = nullptr;
  if (!bias.is_none()) {
    b = as_array(bias, "bias");
    require_c_array<T>(b, "bias", 1);
    require_shape(b, "bias", {OC});
    pb = static_cast<const T*>(b.data());
  }
  const T* px = static_cast<const T*>(x.data());
  require_columns_fit<T>(g);
  const T* pw = static_cast<const T*>(w.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  const auto& kk = fe::kernels<fe::conv::Kernels<T>>();
  const auto& uk = fe::kernels<fe::gemm::UKernel<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::conv2d_forward<T>(kk, uk, px, N, g, pw, OC, groups, pb, relu, py_, nt);
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
    dxa = as_array(dx_obj, "dx");
    require_output<T>(dxa, "dx", {N, g.C, g.H, g.W});
    pdx = static_cast<T*>(dxa.mutable_data());
  }
  if (!dw_obj.is_none()) {
    dwa = as_array(dw_obj, "dweight");
    require_output<T>(dwa, "dweight", {OC, w.shape(1), w.shape(2), w.shape(3)});
    pdw = static_cast<T*>(dwa.mutable_data());
  }
  require_disjoint({{dx_obj, "dx"}, {dw_obj, "dweight"}}, {{dy, "dy"}, {x, "x"}, {w, "weight"}});
  const T* px = static_cast<const T*>(x.data());
  const T* pw = static_cast<const T*>(w.data());
  require_columns_fit<T>(g);
  const T* pdy = static_cast<const T*>(dy.data());
  const auto& kk = fe::kernels<fe::conv::Kernels<T>>();
  const auto& uk = fe::kernels<fe::gemm::UKernel<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::conv2d_backward<T>(kk, uk, px, N, g, pw, OC, groups, pdy, pdx, pdw, nt);
}

template <class T>
void conv_backward_bias_t(py::array dy, py::object y_obj, py::object dy_out_obj, py::object dbias_obj) {
  require_c_array<T>(dy, "dy", 4);
  const int64_t N = dy.shape(0), C = dy.shape(1), H = dy.shape(2), W = dy.shape(3);
  if (y_obj.is_none() != dy_out_obj.is_none())
    throw py::value_error("conv2d_backward_bias: y and dy_out are given together (the masked dy needs y's mask) or "
                          "not at all; got y " + std::string(y_obj.is_none() ? "None" : "given") + ", dy_out " +
                          (dy_out_obj.is_none() ? "None" : "given"));
  py::array ya, outa, dba;
  const T* py_ = nullptr;
  T* pout = nullptr;
  T* pdb = nullptr;
  if (!y_obj.is_none()) {
    ya = as_array(y_obj, "y");
    require_c_array<T>(ya, "y", 4);
    require_shape(ya, "y", {N, C, H, W});
    outa = as_array(dy_out_obj, "dy_out");
    require_output<T>(outa, "dy_out", {N, C, H, W});
    py_ = static_cast<const T*>(ya.data());
    pout = static_cast<T*>(outa.mutable_data());
  }
  if (!dbias_obj.is_none()) {
    dba = as_array(dbias_obj, "dbias");
    require_output<T>(dba, "dbias", {C});
    pdb = static_cast<T*>(dba.mutable_data());
  }
  require_disjoint({{dy_out_obj, "dy_out"}, {dbias_obj, "dbias"}}, {{dy, "dy"}, {y_obj, "y"}});
  const T* pdy = static_cast<const T*>(dy.data());
  const auto& kk = fe::kernels<fe::conv::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::conv::conv2d_backward_bias<T>(kk, pdy, py_, pout, pdb, N, C, H * W, nt);
}

}  // namespace

void bind_conv(py::module_& m) {
  auto win = [](const char* n) { return py::arg(n); };
  m.def("conv2d_forward", [](py::array x, py::array w, py::object b, py::array y, Pair s, Pair p, Pair d, int64_t groups,
                             py::object activation) {
          bool relu = false;
          if (!activation.is_none()) {
            const std::string a = py::isinstance<py::str>(activation) ? activation.cast<std::string>() : std::string();
            if (a != "relu")
              throw py::value_error("conv2d: activation must be None or 'relu', got " +
                                    py::repr(activation).cast<std::string>());
            relu = true;
          }
          is_float64(x, "x") ? conv_forward_t<double>(x, w, b, y, s, p, d, groups, relu)
                             : conv_forward_t<float>(x, w, b, y, s, p, d, groups, relu);
        }, py::arg("x").noconvert(), py::arg("weight").noconvert(), py::arg("bias").noconvert(), py::arg("y").noconvert(),
        win("stride"), win("padding"), win("dilation"), win("groups"), py::arg("activation") = py::none(),
        "y (N, OC, OH, OW) = activation(conv2d(x (N, C, H, W), weight (OC, C/groups, kh, kw)) + bias), activation\n"
        "None or 'relu' (applied to each output tile while it is in cache): im2col + GEMM over tiles of output rows.");
  m.def("conv2d_backward", [](py::array x, py::array w, py::array dy, py::object dx, py::object dw, Pair s, Pair p,
                              Pair d, int64_t groups) {
          is_float64(x, "x") ? conv_backward_t<double>(x, w, dy, dx, dw, s, p, d, groups)
                      : conv_backward_t<float>(x, w, dy, dx, dw, s, p, d, groups);
        }, py::arg("x").noconvert(), py::arg("weight").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(),
        py::arg("dweight").noconvert(), win("stride"), win("padding"), win("dilation"), win("groups"),
        "dx and dweight (each overwritten when given) of conv2d from dy (N, OC, OH, OW).");
  m.def("conv2d_backward_bias", [](py::array dy, py::object y, py::object dy_out, py::object dbias) {
          is_float64(dy, "dy") ? conv_backward_bias_t<double>(dy, y, dy_out, dbias)
                               : conv_backward_bias_t<float>(dy, y, dy_out, dbias);
        }, py::arg("dy").noconvert(), py::arg("y").noconvert(), py::arg("dy_out").noconvert(),
        py::arg("dbias").noconvert(),
        "One pass over dy (N, OC, OH, OW): with y (a fused ReLU's output), dy_out (overwritten) = dy where y > 0,\n"
        "else dy*0 (NaN stays NaN, as dy * (y > 0)); dbias (OC,), overwritten when given, = the per-channel sums\n"
        "of that masked dy (or of dy without y). y and dy_out come together or are both None.");
  m.def("conv_algorithm", [](std::vector<int64_t> x_shape, std::vector<int64_t> w_shape, Pair s, Pair p, Pair d,
                             int64_t groups) -> std::string {
          if (x_shape.size() != 4 || w_shape.size() != 4)
            throw py::value_error("conv_algorithm: x_shape and weight_shape must have 4 entries (NCHW, OIHW)");
          if (groups < 1 || x_shape[1] % groups || w_shape[0] % groups || w_shape[1] * groups != x_shape[1])
            throw py::value_error("conv_algorithm: shapes do not fit groups=" + std::to_string(groups));
          const auto g = window_geometry(x_shape[1], x_shape[2], x_shape[3], {w_shape[2], w_shape[3]}, s, p, d,
                                         "conv2d");
          // the order of conv2d_forward / conv2d_backward's hooks (kernels/conv/conv.cpp)
          if (fe::conv::direct::applies(g, w_shape[0], groups)) return "direct";
          if (fe::conv::winograd::forward_applies(g, w_shape[0], groups)) return "winograd";
          return "im2col";
        }, py::arg("x_shape"), py::arg("weight_shape"), win("stride"), win("padding"), win("dilation"), win("groups"),
        "The path conv2d_forward/conv2d_backward take for these shapes: 'direct' (few channels, no column "
        "matrix; a strided layer's dx still by im2col + GEMM + col2im), 'winograd' (F(2x2, 3x3) or F(4x4, 3x3), "
        "winograd_tile: 3x3, stride 1, many channels, more than 16 output positions) or 'im2col' (im2col + GEMM "
        "over tiles of output rows, or of "
        "several whole images side by side where an image has fewer than 64 output positions; a 3x3 stride-1 layer "
        "with many channels on a smaller map still takes its weight gradient by Winograd). For tests and benchmarks.");
  m.def("winograd_tile", [](int64_t out_h, int64_t out_w, int64_t channels) {
          if (out_h < 1 || out_w < 1)
            throw py::value_error("winograd_tile: out_h and out_w must be >= 1, got " + std::to_string(out_h) +
                                  " and " + std::to_string(out_w));
          if (channels < 0)
            throw py::value_error("winograd_tile: channels must be >= 0, got " + std::to_string(channels));
          return fe::conv::winograd::tile_for(out_h, out_w, channels);
        }, py::arg("out_h"), py::arg("out_w"), py::arg("channels"),
        "The output tile side, 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3)), of the Winograd path's convolution onto an "
        "out_h x out_w map whose outputs each sum `channels` channels: the forward (the output's map, in_channels), "
        "the data gradient (the input's map, out_channels) and the weight gradient (the output's map, 0). "
        "For tests and benchmarks.");
  m.def("set_winograd_tile", [](int tile) {
          if (tile != 0 && tile != 2 && tile != 4)
            throw py::value_error("set_winograd_tile: tile must be 0 (by shape), 2 or 4, got " + std::to_string(tile));
          fe::conv::winograd::set_tile_override(tile);
        }, py::arg("tile"),
        "Makes every Winograd convolution use tile 2 or 4 (0: by shape, the default), process-wide. For tests.");
  m.def("get_winograd_tile", [] { return fe::conv::winograd::tile_override(); },
        "The set_winograd_tile override: 0 (by shape), 2 or 4.");
  m.def("set_conv_small_map_bytes", [](int64_t bytes) {
          if (bytes < 0)
            throw py::value_error("set_conv_small_map_bytes: bytes must be >= 0, got " + std::to_string(bytes));
          fe::conv::set_small_map_bytes(bytes);
        }, py::arg("bytes"),
        "The budget, in bytes, of the columns and dy the weight gradient of small maps (images side by side) sums "
        "in one pass; 0 (the default) is 4 MiB. Process-wide. For tests: 1 makes each image group take several "
        "passes.");
  m.def("get_conv_small_map_bytes", [] { return fe::conv::small_map_bytes(); },
        "The set_conv_small_map_bytes override: 0 (the default budget) or the bytes set.");
  m.def("im2col", [](py::array x, py::array col, Pair k, Pair s, Pair p, Pair d) {
          is_float64(x, "x") ? im2col_t<double>(x, col, k, s, p, d) : im2col_t<float>(x, col, k, s, p, d);
        }, py::arg("x").noconvert(), py::arg("col").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        win("dilation"), "col (C*kh*kw, OH*OW) = the sliding windows of one image x (C, H, W).");
  m.def("col2im", [](py::array col, py::array dx, Pair k, Pair s, Pair p, Pair d) {
          is_float64(dx, "dx") ? col2im_t<double>(col, dx, k, s, p, d) : col2im_t<float>(col, dx, k, s, p, d);
        }, py::arg("col").noconvert(), py::arg("dx").noconvert(), win("kernel_size"), win("stride"), win("padding"),
        win("dilation"), "dx (C, H, W), overwritten, = the windows in col scattered back (overlaps add up).");
}

// Bindings of the activation family: pointwise activations (forward, backward from x), PReLU, and the
// fused pointwise losses. Every array is checked once (dtype, C-contiguity, shape, writeability, no
// output sharing memory with another array) before the kernel runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>

#include "bindings/common.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;
namespace act = fe::activation;

namespace {

int activation_kind(const std::string& kind) {
  static const char* names[act::kNumKinds] = {"relu",     "sigmoid",  "tanh",     "elu",         "silu",
                                             "mish",     "hardtanh", "softsign", "softplus",    "hardsigmoid",
                                             "hardswish", "leaky_relu", "gelu",  "gelu_tanh"};
  for (int i = 0; i < act::kNumKinds; ++i)
    if (kind == names[i]) return i;
  std::string all;
  for (int i = 0; i < act::kNumKinds; ++i) all += (i ? ", " : "") + std::string(names[i]);
  throw py::value_error("kind must be one of " + all + ", got '" + kind + "'");
}

int loss_kind(const std::string& kind) {
  static const char* names[act::kNumLossKinds] = {"binary_cross_entropy_with_logits", "binary_cross_entropy",
                                                 "smooth_l1", "huber", "kl_div", "kl_div_log_target", "mse", "l1"};
  for (int i = 0; i < act::kNumLossKinds; ++i)
    if (kind == names[i]) return i;
  std::string all;
  for (int i = 0; i < act::kNumLossKinds; ++i) all += (i ? ", " : "") + std::string(names[i]);
  throw py::value_error("kind must be one of " + all + ", got '" + kind + "'");
}

int reduction_code(const std::string& r) {
  if (r == "none") return act::kNone;
  if (r == "sum") return act::kSum;
  if (r == "mean") return act::kMean;
  throw py::value_error("reduction must be 'none', 'sum' or 'mean', got '" + r + "'");
}

bool same_shape(const py::array& a, const py::array& b) {
  if (a.ndim() != b.ndim()) return false;
  for (py::ssize_t i = 0; i < a.ndim(); ++i)
    if (a.shape(i) != b.shape(i)) return false;
  return true;
}

// a: C-contiguous T array (any rank)
template <class T>
void require_contiguous(const py::array& a, const char* name) {
  require_dtype<T>(a, name);
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " with shape " + shape_str(a) +
                          " must be C-contiguous (make a copy with numpy.ascontiguousarray)");
}

// a: C-contiguous T array of `like`'s shape (named like_name)
template <class T>
void require_like(const py::array& a, const char* name, const py::array& like, const char* like_name) {
  require_contiguous<T>(a, name);
  if (!same_shape(a, like))
    throw py::value_error(std::string(name) + " has shape " + shape_str(a) + ", " + like_name + " has " +
                          shape_str(like) + "; they must have one shape");
}

template <class T>
void require_out_like(const py::array& a, const char* name, const py::array& like, const char* like_name) {
  require_like<T>(a, name, like, like_name);
  require_writeable(a, name);
}

template <class T>
void act_forward_t(const py::array& x, const py::array& y, int kind, double a, double b) {
  require_contiguous<T>(x, "x");
  require_out_like<T>(y, "y", x, "x");
  require_disjoint({{y, "y"}}, {{x, "x"}});
  const auto& k = fe::kernels<act::Kernels<T>>();
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(const_cast<void*>(y.data()));
  const int64_t n = x.size();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  act::forward<T>(k, kind, px, py_, n, static_cast<T>(a), static_cast<T>(b), nt);
}

template <class T>
void act_backward_t(const py::array& dy, const py::array& x, const py::array& dx, int kind, double a, double b) {
  require_contiguous<T>(x, "x");
  require_like<T>(dy, "dy", x, "x");
  require_out_like<T>(dx, "dx", x, "x");
  require_disjoint({{dx, "dx"}}, {{x, "x"}, {dy, "dy"}});
  const auto& k = fe::kernels<act::Kernels<T>>();
  const T* pdy = static_cast<const T*>(dy.data());
  const T* px = static_cast<const T*>(x.data());
  T* pdx = static_cast<T*>(const_cast<void*>(dx.data()));
  const int64_t n = x.size();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  act::backward<T>(k, kind, pdy, px, pdx, n, static_cast<T>(a), static_cast<T>(b), nt);
}

// PReLU's view of x: (N, C, S) with C = weight.size (one slope: C = 1, S = everything).
template <class T>
void prelu_geometry(const py::array& x, const py::array& weight, int64_t* C, int64_t* S) {
  require_contiguous<T>(x, "x");
  require_contiguous<T>(weight, "weight");
  if (weight.ndim() > 1)
    throw py::value_error("weight must be 0-D or 1-D, got shape " + shape_str(weight));
  const int64_t wn = weight.size();
  if (wn == 1) {
    *C = 1;
    *S = x.size() > 0 ? x.size() : 1;
    return;
  }
  if (x.ndim() < 2 || x.shape(1) != wn)
    throw py::value_error("weight with shape " + shape_str(weight) + " must hold one slope, or one per channel "
                          "(dim 1) of x with shape " + shape_str(x));
  *C = wn;
  int64_t s = 1;
  for (py::ssize_t i = 2; i < x.ndim(); ++i) s *= x.shape(i);
  *S = s > 0 ? s : 1;
}

template <class T>
void prelu_forward_t(const py::array& x, const py::array& weight, const py::array& y) {
  int64_t C, S;
  prelu_geometry<T>(x, weight, &C, &S);
  require_out_like<T>(y, "y", x, "x");
  require_disjoint({{y, "y"}}, {{x, "x"}, {weight, "weight"}});
  const auto& k = fe::kernels<act::Kernels<T>>();
  const T* px = static_cast<const T*>(x.data());
  const T* pw = static_cast<const T*>(weight.data());
  T* py_ = static_cast<T*>(const_cast<void*>(y.data()));
  const int64_t n = x.size();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  act::prelu_forward<T>(k, px, pw, py_, n, C, S, nt);
}

template <class T>
void prelu_backward_t(const py::array& dy, const py::array& x, const py::array& weight, const py::object& dx_obj,
                      const py::object& dw_obj) {
  int64_t C, S;
  prelu_geometry<T>(x, weight, &C, &S);
  require_like<T>(dy, "dy", x, "x");
  py::array dx, dw;
  if (!dx_obj.is_none()) {
    dx = as_array(dx_obj, "dx");
    require_out_like<T>(dx, "dx", x, "x");
  }
  if (!dw_obj.is_none()) {
    dw = as_array(dw_obj, "dweight");
    require_out_like<T>(dw, "dweight", weight, "weight");
  }
  require_disjoint({{dx_obj, "dx"}, {dw_obj, "dweight"}}, {{x, "x"}, {dy, "dy"}, {weight, "weight"}});
  const auto& k = fe::kernels<act::Kernels<T>>();
  const T* pdy = static_cast<const T*>(dy.data());
  const T* px = static_cast<const T*>(x.data());
  const T* pw = static_cast<const T*>(weight.data());
  T* pdx = dx_obj.is_none() ? nullptr : static_cast<T*>(const_cast<void*>(dx.data()));
  T* pdw = dw_obj.is_none() ? nullptr : static_cast<T*>(const_cast<void*>(dw.data()));
  const int64_t n = x.size();
  const int nt = fe::get_num_threads();
  if (!pdx && !pdw) return;
  py::gil_scoped_release nogil;
  act::prelu_backward<T>(k, pdy, px, pw, pdx, pdw, n, C, S, nt);
}

// A loss weight: None, input's shape (full), or 1-D of input's last dim (one per column).
template <class T>
const T* loss_weight(const py::object& obj, const char* name, const py::array& x, int* full, bool* per_col) {
  *full = 0;
  if (obj.is_none()) return nullptr;
  py::array w = as_array(obj, name);
  require_contiguous<T>(w, name);
  if (same_shape(w, x)) {
    *full = 1;
  } else if (w.ndim() == 1 && x.ndim() >= 1 && w.shape(0) == x.shape(x.ndim() - 1)) {
    *per_col = true;
  } else {
    throw py::value_error(std::string(name) + " with shape " + shape_str(w) + " must have input's shape " +
                          shape_str(x) + " or be 1-D of its last dimension");
  }
  return static_cast<const T*>(w.data());
}

template <class T>
act::LossArgs<T> loss_args(const py::array& x, const py::array& y, const py::object& pos_weight,
                           const py::object& weight, double param) {
  require_contiguous<T>(x, "input");
  require_like<T>(y, "target", x, "input");
  act::LossArgs<T> a{};
  a.x = static_cast<const T*>(x.data());
  a.y = static_cast<const T*>(y.data());
  bool per_col = false;
  a.pos_weight = loss_weight<T>(pos_weight, "pos_weight", x, &a.pw_full, &per_col);
  a.weight = loss_weight<T>(weight, "weight", x, &a.w_full, &per_col);
  const int64_t last = x.ndim() ? x.shape(x.ndim() - 1) : 1;
  a.cols = per_col ? (last > 0 ? last : 1) : (x.size() > 0 ? x.size() : 1);
  a.param = static_cast<T>(param);
  return a;
}

void check_loss_options(int kind, double param) {
  if (kind == act::kHuber && !(param > 0)) throw py::value_error("param (huber's delta) must be > 0, got " + std::to_string(param));
  if (kind == act::kSmoothL1 && !(param >= 0)) throw py::value_error("param (smooth_l1's beta) must be >= 0, got " + std::to_string(param));
}

template <class T>
void loss_forward_t(const py::array& x, const py::array& y, const py::array& out, int kind, int reduce, double param,
                    const py::object& pos_weight, const py::object& weight) {
  check_loss_options(kind, param);
  act::LossArgs<T> a = loss_args<T>(x, y, pos_weight, weight, param);
  if (reduce == act::kNone) {
    require_out_like<T>(out, "out", x, "input");
  } else {
    require_contiguous<T>(out, "out");
    require_writeable(out, "out");
    if (out.ndim() != 0) throw py::value_error("out must be 0-D for reduction 'sum' or 'mean', got shape " + shape_str(out));
  }
  require_disjoint({{out, "out"}}, {{x, "input"}, {y, "target"}, {pos_weight, "pos_weight"}, {weight, "weight"}});
  a.out = static_cast<T*>(const_cast<void*>(out.data()));
  const auto& k = fe::kernels<act::Kernels<T>>();
  const int64_t n = x.size();
  const int nt = fe::get_num_threads();
  T* po = a.out;
  py::gil_scoped_release nogil;
  const double s = act::loss_forward<T>(k, kind, a, n, reduce, nt);
  if (reduce == act::kSum) *po = static_cast<T>(s);
  if (reduce == act::kMean) *po = static_cast<T>(n ? s / static_cast<double>(n) : std::nan(""));
}

template <class T>
void loss_backward_t(const py::array& grad, const py::array& x, const py::array& y, const py::object& dx_obj,
                     const py::object& dy_obj, int kind, int reduce, double param, const py::object& pos_weight,
                     const py::object& weight) {
  check_loss_options(kind, param);
  act::LossArgs<T> a = loss_args<T>(x, y, pos_weight, weight, param);
  if (reduce == act::kNone) {
    require_like<T>(grad, "grad", x, "input");
    a.grad_full = 1;
  } else {
    require_contiguous<T>(grad, "grad");
    if (grad.ndim() != 0) throw py::value_error("grad must be 0-D for reduction 'sum' or 'mean', got shape " + shape_str(grad));
  }
  py::array dx, dy;
  if (!dx_obj.is_none()) {
    dx = as_array(dx_obj, "dinput");
    require_out_like<T>(dx, "dinput", x, "input");
    a.dx = static_cast<T*>(const_cast<void*>(dx.data()));
  }
  if (!dy_obj.is_none()) {
    dy = as_array(dy_obj, "dtarget");
    require_out_like<T>(dy, "dtarget", x, "input");
    a.dy = static_cast<T*>(const_cast<void*>(dy.data()));
  }
  require_disjoint({{dx_obj, "dinput"}, {dy_obj, "dtarget"}},
                   {{grad, "grad"}, {x, "input"}, {y, "target"}, {pos_weight, "pos_weight"}, {weight, "weight"}});
  const int64_t n = x.size();
  a.grad = static_cast<const T*>(grad.data());
  a.gscale = reduce == act::kMean ? static_cast<T>(n ? 1.0 / static_cast<double>(n) : 0.0) : T(1);
  if ((!a.dx && !a.dy) || n == 0) return;
  const auto& k = fe::kernels<act::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  act::loss_backward<T>(k, kind, a, n, nt);
}

}  // namespace

void bind_activation(py::module_& m) {
  m.def(
      "activation_forward",
      [](py::array x, py::array y, const std::string& kind, double a, double b) {
        const int k = activation_kind(kind);
        is_float64(x, "x") ? act_forward_t<double>(x, y, k, a, b) : act_forward_t<float>(x, y, k, a, b);
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("kind"), py::arg("a") = 0.0, py::arg("b") = 0.0,
      "y = f(x) for the activation `kind` (relu, sigmoid, tanh, elu (a=alpha, b=scale), silu, mish, hardtanh "
      "(a=min_val, b=max_val), softsign, softplus (a=beta, b=threshold), hardsigmoid, hardswish, leaky_relu "
      "(a=negative_slope), gelu, gelu_tanh); y overwritten.");
  m.def(
      "activation_backward",
      [](py::array dy, py::array x, py::array dx, const std::string& kind, double a, double b) {
        const int k = activation_kind(kind);
        is_float64(x, "x") ? act_backward_t<double>(dy, x, dx, k, a, b) : act_backward_t<float>(dy, x, dx, k, a, b);
      },
      py::arg("dy").noconvert(), py::arg("x").noconvert(), py::arg("dx").noconvert(), py::arg("kind"),
      py::arg("a") = 0.0, py::arg("b") = 0.0, "dx = dy * f'(x) for activation_forward's kind and options.");
  m.def(
      "prelu_forward",
      [](py::array x, py::array weight, py::array y) {
        is_float64(x, "x") ? prelu_forward_t<double>(x, weight, y) : prelu_forward_t<float>(x, weight, y);
      },
      py::arg("x").noconvert(), py::arg("weight").noconvert(), py::arg("y").noconvert(),
      "y = x where x > 0, weight * x elsewhere; weight: one slope, or one per channel (dim 1 of x).");
  m.def(
      "prelu_backward",
      [](py::array dy, py::array x, py::array weight, py::object dx, py::object dweight) {
        is_float64(x, "x") ? prelu_backward_t<double>(dy, x, weight, dx, dweight)
                           : prelu_backward_t<float>(dy, x, weight, dx, dweight);
      },
      py::arg("dy").noconvert(), py::arg("x").noconvert(), py::arg("weight").noconvert(),
      py::arg("dx").noconvert() = py::none(), py::arg("dweight").noconvert() = py::none(),
      "dx (x > 0 ? dy : weight dy) and dweight (per channel, the sum of x dy where x <= 0, in a fixed order); "
      "either may be None.");
  m.def(
      "pointwise_loss_forward",
      [](py::array input, py::array target, py::array out, const std::string& kind, const std::string& reduction,
         double param, py::object pos_weight, py::object weight) {
        const int k = loss_kind(kind), r = reduction_code(reduction);
        is_float64(input, "input") ? loss_forward_t<double>(input, target, out, k, r, param, pos_weight, weight)
                                   : loss_forward_t<float>(input, target, out, k, r, param, pos_weight, weight);
      },
      py::arg("input").noconvert(), py::arg("target").noconvert(), py::arg("out").noconvert(), py::arg("kind"),
      py::arg("reduction") = "mean", py::arg("param") = 0.0, py::arg("pos_weight").noconvert() = py::none(),
      py::arg("weight").noconvert() = py::none(),
      "The pointwise loss `kind` (binary_cross_entropy_with_logits, binary_cross_entropy, smooth_l1 (param=beta), "
      "huber (param=delta), kl_div, kl_div_log_target, mse, l1) of input and target (one shape), reduced: out has "
      "input's shape for 'none', else 0-D (sums in fixed blocks, in block order). pos_weight and weight: None, "
      "input's shape, or 1-D over its last dimension.");
  m.def(
      "pointwise_loss_backward",
      [](py::array grad, py::array input, py::array target, py::object dinput, py::object dtarget,
         const std::string& kind, const std::string& reduction, double param, py::object pos_weight,
         py::object weight) {
        const int k = loss_kind(kind), r = reduction_code(reduction);
        is_float64(input, "input")
            ? loss_backward_t<double>(grad, input, target, dinput, dtarget, k, r, param, pos_weight, weight)
            : loss_backward_t<float>(grad, input, target, dinput, dtarget, k, r, param, pos_weight, weight);
      },
      py::arg("grad").noconvert(), py::arg("input").noconvert(), py::arg("target").noconvert(),
      py::arg("dinput").noconvert() = py::none(), py::arg("dtarget").noconvert() = py::none(), py::arg("kind"),
      py::arg("reduction") = "mean", py::arg("param") = 0.0, py::arg("pos_weight").noconvert() = py::none(),
      py::arg("weight").noconvert() = py::none(),
      "Gradients of pointwise_loss_forward with respect to input and target (either output may be None), given "
      "grad (input's shape for 'none', else 0-D).");
}

// Bindings for batch normalisation over (N, C, L) arrays, layer norm over (M, D) rows and group norm
// over (N, C, L): every array checked (dtype, shape, contiguity, writeable outputs) before the kernels
// run with the GIL released.
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
void check_nclarray(const py::array& a, const char* name, const py::array& ref) {
  require_c_array<T>(a, name, 3);
  if (a.shape(0) != ref.shape(0) || a.shape(1) != ref.shape(1) || a.shape(2) != ref.shape(2))
    throw py::value_error(std::string(name) + " must have the shape of x " + shape_str(ref) + ", got " + shape_str(a));
}

template <class T>
const T* channel_vector(const py::object& o, const char* name, int64_t C, py::array* keep, bool writeable = false) {
  if (o.is_none()) return nullptr;
  *keep = as_array(o, name);
  require_c_array<T>(*keep, name, 1);
  if (keep->shape(0) != C)
    throw py::value_error(std::string(name) + " must have shape (" + std::to_string(C) + ",) (one per channel), got " +
                          shape_str(*keep));
  if (writeable) require_writeable(*keep, name);
  return static_cast<const T*>(keep->data());
}

template <class T>
void forward_t(py::array x, py::object gamma, py::object beta, py::array y, py::array mean, py::array invstd,
               py::object var, double eps) {
  require_c_array<T>(x, "x", 3);
  check_nclarray<T>(y, "y", x);
  require_writeable(y, "y");
  const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
  if (N * L == 0) throw py::value_error("batch_norm: x " + shape_str(x) + " has no values per channel to normalise");
  if (!(eps > 0)) throw py::value_error("batch_norm: eps must be > 0, got " + std::to_string(eps));
  py::array g, b, m, s;
  const T* pg = channel_vector<T>(gamma, "gamma", C, &g);
  const T* pb = channel_vector<T>(beta, "beta", C, &b);
  T* pm = const_cast<T*>(channel_vector<T>(mean, "mean", C, &m, true));
  T* ps = const_cast<T*>(channel_vector<T>(invstd, "invstd", C, &s, true));
  py::array v;
  T* pv = const_cast<T*>(channel_vector<T>(var, "var", C, &v, true));
  require_disjoint({{y, "y"}, {mean, "mean"}, {invstd, "invstd"}, {var, "var"}},
                   {{x, "x"}, {gamma, "gamma"}, {beta, "beta"}});
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  const auto& k = fe::kernels<fe::norm::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::norm::forward_train<T>(k, px, N, C, L, pg, pb, eps, py_, pm, ps, pv, nt);
}

template <class T>
void eval_forward_t(py::array x, py::object gamma, py::object beta, py::array mean, py::array invstd, py::array y) {
  require_c_array<T>(x, "x", 3);
  check_nclarray<T>(y, "y", x);
  require_writeable(y, "y");
  const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
  py::array g, b, m, s;
  const T* pg = channel_vector<T>(gamma, "gamma", C, &g);
  const T* pb = channel_vector<T>(beta, "beta", C, &b);
  const T* pm = channel_vector<T>(mean, "mean", C, &m);
  const T* ps = channel_vector<T>(invstd, "invstd", C, &s);
  require_disjoint({{y, "y"}}, {{x, "x"}, {gamma, "gamma"}, {beta, "beta"}, {mean, "mean"}, {invstd, "invstd"}});
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  const auto& k = fe::kernels<fe::norm::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::norm::forward_eval<T>(k, px, N, C, L, pg, pb, pm, ps, py_, nt);
}

template <class T>
void backward_t(py::array dy, py::array x, py::object gamma, py::array mean, py::array invstd, py::object dx,
                py::object dgamma, py::object dbeta, bool training) {
  require_c_array<T>(x, "x", 3);
  check_nclarray<T>(dy, "dy", x);
  const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
  py::array g, m, s, ga, ba, dxa;
  const T* pg = channel_vector<T>(gamma, "gamma", C, &g);
  const T* pm = channel_vector<T>(mean, "mean", C, &m);
  const T* ps = channel_vector<T>(invstd, "invstd", C, &s);
  T* pdg = const_cast<T*>(channel_vector<T>(dgamma, "dgamma", C, &ga, true));
  T* pdb = const_cast<T*>(channel_vector<T>(dbeta, "dbeta", C, &ba, true));
  T* pdx = nullptr;
  if (!dx.is_none()) {
    dxa = as_array(dx, "dx");
    check_nclarray<T>(dxa, "dx", x);
    require_writeable(dxa, "dx");
    pdx = static_cast<T*>(dxa.mutable_data());
  }
  require_disjoint({{dx, "dx"}, {dgamma, "dgamma"}, {dbeta, "dbeta"}},
                   {{dy, "dy"}, {x, "x"}, {gamma, "gamma"}, {mean, "mean"}, {invstd, "invstd"}});
  const T* pdy = static_cast<const T*>(dy.data());
  const T* px = static_cast<const T*>(x.data());
  const auto& k = fe::kernels<fe::norm::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::norm::backward<T>(k, pdy, px, N, C, L, pg, pm, ps, training, pdx, pdg, pdb, nt);
}

// ---- layer norm and group norm: one row kernel (kernels/norm/norm.h) ----

// gamma/beta/dgamma/dbeta of the row norms: None or a C-contiguous (P,) vector ("one per <what>").
template <class T>
T* param_vector(const py::object& o, const char* name, int64_t P, const char* what, py::array* keep,
                bool writeable = false) {
  if (o.is_none()) return nullptr;
  *keep = as_array(o, name);
  require_c_array<T>(*keep, name, 1);
  if (keep->shape(0) != P)
    throw py::value_error(std::string(name) + " must have shape (" + std::to_string(P) + ",) (one per " + what +
                          "), got " + shape_str(*keep));
  if (writeable) require_writeable(*keep, name);
  return static_cast<T*>(keep->mutable_data());
}

// dy, or an input of shape shape(x), C-contiguous T
template <class T>
void require_like_x(const py::array& a, const char* name, const py::array& x) {
  require_c_array<T>(a, name, x.ndim());
  for (int i = 0; i < x.ndim(); ++i)
    if (a.shape(i) != x.shape(i))
      throw py::value_error(std::string(name) + " must have the shape of x " + shape_str(x) + ", got " + shape_str(a));
}

// x (R rows of K*L values) checked by the caller; y, mean, invstd by shape.
template <class T>
void row_forward_t(const py::array& x, int64_t R, int64_t G, int64_t K, int64_t L, const py::object& gamma,
                   const py::object& beta, const py::array& y, const py::array& mean, const py::array& invstd,
                   double eps, const char* what) {
  py::array g, b;
  const T* pg = param_vector<T>(gamma, "gamma", G * K, what, &g);
  const T* pb = param_vector<T>(beta, "beta", G * K, what, &b);
  require_disjoint({{y, "y"}, {mean, "mean"}, {invstd, "invstd"}}, {{x, "x"}, {gamma, "gamma"}, {beta, "beta"}});
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(const_cast<void*>(y.data()));
  T* pm = static_cast<T*>(const_cast<void*>(mean.data()));
  T* ps = static_cast<T*>(const_cast<void*>(invstd.data()));
  const auto& k = fe::kernels<fe::norm::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::norm::row_forward<T>(k, px, R, G, K, L, pg, pb, eps, py_, pm, ps, nt);
}

template <class T>
void row_backward_t(const py::array& dy, const py::array& x, int64_t R, int64_t G, int64_t K, int64_t L,
                    const py::object& gamma, const py::array& mean, const py::array& invstd, const py::object& dx,
                    const py::object& dgamma, const py::object& dbeta, const char* what) {
  py::array g, ga, ba;
  const T* pg = param_vector<T>(gamma, "gamma", G * K, what, &g);
  T* pdg = param_vector<T>(dgamma, "dgamma", G * K, what, &ga, true);
  T* pdb = param_vector<T>(dbeta, "dbeta", G * K, what, &ba, true);
  T* pdx = nullptr;
  if (!dx.is_none()) {
    py::array dxa = as_array(dx, "dx");
    require_like_x<T>(dxa, "dx", x);
    require_writeable(dxa, "dx");
    pdx = static_cast<T*>(dxa.mutable_data());
  }
  require_disjoint({{dx, "dx"}, {dgamma, "dgamma"}, {dbeta, "dbeta"}},
                   {{dy, "dy"}, {x, "x"}, {gamma, "gamma"}, {mean, "mean"}, {invstd, "invstd"}});
  const T* pdy = static_cast<const T*>(dy.data());
  const T* px = static_cast<const T*>(x.data());
  const T* pm = static_cast<const T*>(mean.data());
  const T* ps = static_cast<const T*>(invstd.data());
  const auto& k = fe::kernels<fe::norm::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::norm::row_backward<T>(k, pdy, px, R, G, K, L, pg, pm, ps, pdx, pdg, pdb, nt);
}

template <class T>
void layer_norm_forward_t(py::array x, py::object gamma, py::object beta, py::array y, py::array mean,
                          py::array invstd, double eps) {
  require_c_array<T>(x, "x", 2);
  const int64_t M = x.shape(0), D = x.shape(1);
  require_output<T>(y, "y", {M, D});
  require_output<T>(mean, "mean", {M});
  require_output<T>(invstd, "invstd", {M});
  row_forward_t<T>(x, M, 1, D, 1, gamma, beta, y, mean, invstd, eps, "normalised value");
}

template <class T>
void layer_norm_backward_t(py::array dy, py::array x, py::object gamma, py::array mean, py::array invstd,
                           py::object dx, py::object dgamma, py::object dbeta) {
  require_c_array<T>(x, "x", 2);
  require_like_x<T>(dy, "dy", x);
  const int64_t M = x.shape(0), D = x.shape(1);
  require_c_array<T>(mean, "mean", 1);
  require_shape(mean, "mean", {M});
  require_c_array<T>(invstd, "invstd", 1);
  require_shape(invstd, "invstd", {M});
  row_backward_t<T>(dy, x, M, 1, D, 1, gamma, mean, invstd, dx, dgamma, dbeta, "normalised value");
}

// (N, C, L) with C divisible by num_groups >= 1: the rows (n, g) of C/G channels
void check_groups(const py::array& x, int64_t G) {
  if (G < 1) throw py::value_error("num_groups must be >= 1, got " + std::to_string(G));
  if (x.shape(1) % G)
    throw py::value_error("group_norm: x " + shape_str(x) + " has " + std::to_string(x.shape(1)) +
                          " channels, not divisible by num_groups=" + std::to_string(G));
}

template <class T>
void group_norm_forward_t(py::array x, int64_t G, py::object gamma, py::object beta, py::array y, py::array mean,
                          py::array invstd, double eps) {
  require_c_array<T>(x, "x", 3);
  check_groups(x, G);
  const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
  require_output<T>(y, "y", {N, C, L});
  require_output<T>(mean, "mean", {N, G});
  require_output<T>(invstd, "invstd", {N, G});
  row_forward_t<T>(x, N * G, G, C / G, L, gamma, beta, y, mean, invstd, eps, "channel");
}

template <class T>
void group_norm_backward_t(py::array dy, py::array x, int64_t G, py::object gamma, py::array mean, py::array invstd,
                           py::object dx, py::object dgamma, py::object dbeta) {
  require_c_array<T>(x, "x", 3);
  check_groups(x, G);
  require_like_x<T>(dy, "dy", x);
  const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
  require_c_array<T>(mean, "mean", 2);
  require_shape(mean, "mean", {N, G});
  require_c_array<T>(invstd, "invstd", 2);
  require_shape(invstd, "invstd", {N, G});
  row_backward_t<T>(dy, x, N * G, G, C / G, L, gamma, mean, invstd, dx, dgamma, dbeta, "channel");
}

}  // namespace

void bind_norm(py::module_& m) {
  m.def("batch_norm_forward", [](py::array x, py::object gamma, py::object beta, py::array y, py::array mean,
                                 py::array invstd, py::object var, double eps) {
          is_float64(x, "x") ? forward_t<double>(x, gamma, beta, y, mean, invstd, var, eps)
                 : forward_t<float>(x, gamma, beta, y, mean, invstd, var, eps);
        }, py::arg("x").noconvert(), py::arg("gamma"), py::arg("beta"),
        py::arg("y").noconvert(), py::arg("mean").noconvert(), py::arg("invstd").noconvert(),
        py::arg("var").noconvert() = py::none(), py::arg("eps") = 1e-5,
        "Training mode: the batch statistics of x (N, C, L), N*L >= 1, into mean/invstd (C,) (and the biased "
        "variance into var, when given), and y = gamma * xhat + beta (gamma, beta: (C,) or None). A channel whose "
        "float32 sums overflow or underflow is redone in double.");
  m.def("batch_norm_eval_forward", [](py::array x, py::object gamma, py::object beta, py::array mean,
                                      py::array invstd, py::array y) {
          is_float64(x, "x") ? eval_forward_t<double>(x, gamma, beta, mean, invstd, y)
                 : eval_forward_t<float>(x, gamma, beta, mean, invstd, y);
        }, py::arg("x").noconvert(), py::arg("gamma"), py::arg("beta"),
        py::arg("mean").noconvert(), py::arg("invstd").noconvert(), py::arg("y").noconvert(),
        "Evaluation mode: y = gamma * (x - mean) * invstd + beta with given (running) statistics.");
  m.def("batch_norm_backward", [](py::array dy, py::array x, py::object gamma, py::array mean, py::array invstd,
                                  py::object dx, py::object dgamma, py::object dbeta, bool training) {
          is_float64(x, "x") ? backward_t<double>(dy, x, gamma, mean, invstd, dx, dgamma, dbeta, training)
                 : backward_t<float>(dy, x, gamma, mean, invstd, dx, dgamma, dbeta, training);
        }, py::arg("dy").noconvert(), py::arg("x").noconvert(), py::arg("gamma"),
        py::arg("mean").noconvert(), py::arg("invstd").noconvert(), py::arg("dx").noconvert() = py::none(),
        py::arg("dgamma").noconvert() = py::none(), py::arg("dbeta").noconvert() = py::none(),
        py::arg("training") = true,
        "dx, dgamma, dbeta (each overwritten when given) of batch norm; training=False treats mean/invstd as "
        "constants (evaluation mode), training=True as the batch statistics of x.");

  m.def("layer_norm_forward", [](py::array x, py::object gamma, py::object beta, py::array y, py::array mean,
                                 py::array invstd, double eps) {
          is_float64(x, "x") ? layer_norm_forward_t<double>(x, gamma, beta, y, mean, invstd, eps)
                             : layer_norm_forward_t<float>(x, gamma, beta, y, mean, invstd, eps);
        }, py::arg("x").noconvert(), py::arg("gamma"), py::arg("beta"), py::arg("y").noconvert(),
        py::arg("mean").noconvert(), py::arg("invstd").noconvert(), py::arg("eps") = 1e-5,
        "Layer norm of the rows of x (M, D): each row's mean and invstd = 1/sqrt(var + eps) into mean/invstd "
        "(M,), y = gamma * xhat + beta (gamma, beta: (D,) or None).");
  m.def("layer_norm_backward", [](py::array dy, py::array x, py::object gamma, py::array mean, py::array invstd,
                                  py::object dx, py::object dgamma, py::object dbeta) {
          is_float64(x, "x") ? layer_norm_backward_t<double>(dy, x, gamma, mean, invstd, dx, dgamma, dbeta)
                             : layer_norm_backward_t<float>(dy, x, gamma, mean, invstd, dx, dgamma, dbeta);
        }, py::arg("dy").noconvert(), py::arg("x").noconvert(), py::arg("gamma"), py::arg("mean").noconvert(),
        py::arg("invstd").noconvert(), py::arg("dx").noconvert() = py::none(),
        py::arg("dgamma").noconvert() = py::none(), py::arg("dbeta").noconvert() = py::none(),
        "dx (M, D), dgamma, dbeta (D,) of layer norm, each overwritten when given; the parameter gradients are "
        "summed in a fixed order (the same bits for any thread count).");
  m.def("group_norm_forward", [](py::array x, int64_t num_groups, py::object gamma, py::object beta, py::array y,
                                 py::array mean, py::array invstd, double eps) {
          is_float64(x, "x") ? group_norm_forward_t<double>(x, num_groups, gamma, beta, y, mean, invstd, eps)
                             : group_norm_forward_t<float>(x, num_groups, gamma, beta, y, mean, invstd, eps);
        }, py::arg("x").noconvert(), py::arg("num_groups"), py::arg("gamma"), py::arg("beta"),
        py::arg("y").noconvert(), py::arg("mean").noconvert(), py::arg("invstd").noconvert(), py::arg("eps") = 1e-5,
        "Group norm of x (N, C, L): the statistics of each (sample, group of C/num_groups channels) into mean/invstd "
        "(N, num_groups), y = gamma * xhat + beta per channel (gamma, beta: (C,) or None).");
  m.def("group_norm_backward", [](py::array dy, py::array x, int64_t num_groups, py::object gamma, py::array mean,
                                  py::array invstd, py::object dx, py::object dgamma, py::object dbeta) {
          is_float64(x, "x")
              ? group_norm_backward_t<double>(dy, x, num_groups, gamma, mean, invstd, dx, dgamma, dbeta)
              : group_norm_backward_t<float>(dy, x, num_groups, gamma, mean, invstd, dx, dgamma, dbeta);
        }, py::arg("dy").noconvert(), py::arg("x").noconvert(), py::arg("num_groups"), py::arg("gamma"),
        py::arg("mean").noconvert(), py::arg("invstd").noconvert(), py::arg("dx").noconvert() = py::none(),
        py::arg("dgamma").noconvert() = py::none(), py::arg("dbeta").noconvert() = py::none(),
        "dx (N, C, L), dgamma, dbeta (C,) of group norm, each overwritten when given (fixed summation order).");
}

// Bindings for the attention family: the tiled scaled dot-product attention forward and backward
// (kernels/attention/attention.h) on 4-D arrays with contiguous rows (any non-negative strides
// otherwise: a transposed view is read and written where it lies), q (G, H, L, E), k (G, Hkv, S, E),
// v (G, Hkv, S, Ev), an optional C-contiguous mask (bool or q's dtype) broadcasting as
// (1|G, 1|H, 1|L, S), and the caller's output buffers (lse C-contiguous). Every argument is checked before any work; the kernels run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>

#include "bindings/common.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

fe::attention::Strides strides(const std::vector<int64_t>& s) { return {s[0], s[1], s[2]}; }

// q, k, v and the mask into a Problem (pointers to inputs only); the mask array is kept alive by
// the caller's reference.
template <class T>
fe::attention::Problem<T> problem(const py::array& q, const py::array& k, const py::array& v, const py::object& mask,
                                  double scale, bool is_causal, py::array* mask_keep) {
  const auto qs = require_rows_array<T>(q, "q", 4);
  const auto ks = require_rows_array<T>(k, "k", 4);
  const auto vs = require_rows_array<T>(v, "v", 4);
  fe::attention::Problem<T> p;
  p.qs = strides(qs), p.ks = strides(ks), p.vs = strides(vs);
  p.G = q.shape(0), p.H = q.shape(1), p.L = q.shape(2), p.E = q.shape(3);
  p.Hkv = k.shape(1), p.S = k.shape(2), p.Ev = v.shape(3);
  const std::string shapes = "q " + shape_str(q) + ", k " + shape_str(k) + ", v " + shape_str(v);
  if (k.shape(0) != p.G || v.shape(0) != p.G || k.shape(3) != p.E || v.shape(1) != p.Hkv || v.shape(2) != p.S)
    throw py::value_error("attention: expected q (G, H, L, E), k (G, Hkv, S, E) and v (G, Hkv, S, Ev), got " + shapes);
  if (!(p.Hkv == p.H || (p.Hkv > 0 && p.H % p.Hkv == 0)))
    throw py::value_error("attention: q's heads (" + std::to_string(p.H) + ") must be a multiple of k's and v's (" +
                          std::to_string(p.Hkv) + "), got " + shapes);
  if (!std::isfinite(scale)) throw py::value_error("attention: scale must be finite, got " + std::to_string(scale));
  p.scale = static_cast<T>(scale);
  p.causal = is_causal;
  p.q = static_cast<const T*>(q.data());
  p.k = static_cast<const T*>(k.data());
  p.v = static_cast<const T*>(v.data());
  if (!mask.is_none()) {
    *mask_keep = as_array(mask, "mask");
    const py::array& m = *mask_keep;
    const bool is_bool = m.dtype().kind() == 'b';
    if (is_bool) {
      if (m.ndim() != 4 || !(m.flags() & py::array::c_style))
        throw py::value_error("mask must be a 4-D C-contiguous array, got shape " + shape_str(m));
    } else {
      if (!py::isinstance<py::array_t<T>>(m))
        throw py::type_error(std::string("mask must have dtype bool or ") + type_name<T>() + " (q's), got " +
                             dtype_str(m) + " with shape " + shape_str(m));
      require_c_array<T>(m, "mask", 4);
    }
    const int64_t G = p.G, H = p.H, L = p.L, S = p.S;
    if ((m.shape(0) != 1 && m.shape(0) != G) || (m.shape(1) != 1 && m.shape(1) != H) ||
        (m.shape(2) != 1 && m.shape(2) != L) || m.shape(3) != S)
      throw py::value_error("mask must have shape (1 or " + std::to_string(G) + ", 1 or " + std::to_string(H) +
                            ", 1 or " + std::to_string(L) + ", " + std::to_string(S) + ") for " + shapes + ", got " +
                            shape_str(m));
    p.mask_sl = m.shape(2) == 1 ? 0 : S;
    p.mask_sh = m.shape(1) == 1 ? 0 : m.shape(2) * S;
    p.mask_sg = m.shape(0) == 1 ? 0 : m.shape(1) * m.shape(2) * S;
    if (is_bool)
      p.mask_bool = static_cast<const uint8_t*>(m.data());
    else
      p.mask = static_cast<const T*>(m.data());
  }
  return p;
}

// dropout_p in [0, 1] and the mask's seed into p (attention.h): kept when the hash is >= p * 2^32.
template <class T>
void set_dropout(fe::attention::Problem<T>* p, double dropout_p, uint64_t seed) {
  if (!(dropout_p >= 0.0 && dropout_p <= 1.0))
    throw py::value_error("attention: dropout_p must be in [0, 1], got " + std::to_string(dropout_p));
  if (dropout_p == 0.0) return;
  p->dropout = true;
  p->drop_seed = seed;
  const double t = std::nearbyint(dropout_p * 4294967296.0);
  p->drop_threshold = t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(t);
  p->drop_scale = dropout_p < 1.0 ? static_cast<T>(1.0 / (1.0 - dropout_p)) : T(0);
}

template <class T>
void forward_t(py::array q, py::array k, py::array v, py::object mask, py::array o, py::array lse, double scale,
               bool is_causal, double dropout_p, uint64_t seed) {
  py::array m;
  auto p = problem<T>(q, k, v, mask, scale, is_causal, &m);
  set_dropout(&p, dropout_p, seed);
  p.os = strides(require_rows_output<T>(o, "o", {p.G, p.H, p.L, p.Ev}));
  require_output<T>(lse, "lse", {p.G, p.H, p.L});
  require_disjoint({{o, "o"}, {lse, "lse"}}, {{q, "q"}, {k, "k"}, {v, "v"}, {mask, "mask"}});
  p.o = static_cast<T*>(o.mutable_data());
  p.lse = static_cast<T*>(lse.mutable_data());
  const auto& kern = fe::kernels<fe::attention::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::attention::forward<T>(kern, p, nt);
}

template <class T>
void backward_t(py::array q, py::array k, py::array v, py::object mask, py::array o, py::array lse, py::array dout,
                py::array dq, py::array dk, py::array dv, double scale, bool is_causal, double dropout_p,
                uint64_t seed) {
  py::array m;
  auto p = problem<T>(q, k, v, mask, scale, is_causal, &m);
  set_dropout(&p, dropout_p, seed);
  p.os = strides(require_rows_array<T>(o, "o", 4));
  require_shape(o, "o", {p.G, p.H, p.L, p.Ev});
  require_c_array<T>(lse, "lse", 3);
  require_shape(lse, "lse", {p.G, p.H, p.L});
  p.dos = strides(require_rows_array<T>(dout, "dout", 4));
  require_shape(dout, "dout", {p.G, p.H, p.L, p.Ev});
  p.dqs = strides(require_rows_output<T>(dq, "dq", {p.G, p.H, p.L, p.E}));
  p.dks = strides(require_rows_output<T>(dk, "dk", {p.G, p.Hkv, p.S, p.E}));
  p.dvs = strides(require_rows_output<T>(dv, "dv", {p.G, p.Hkv, p.S, p.Ev}));
  require_disjoint({{dq, "dq"}, {dk, "dk"}, {dv, "dv"}},
                   {{q, "q"}, {k, "k"}, {v, "v"}, {mask, "mask"}, {o, "o"}, {lse, "lse"}, {dout, "dout"}});
  p.o = static_cast<T*>(const_cast<void*>(o.data()));  // read only in the backward
  p.lse = static_cast<T*>(const_cast<void*>(lse.data()));
  p.dout = static_cast<const T*>(dout.data());
  p.dq = static_cast<T*>(dq.mutable_data());
  p.dk = static_cast<T*>(dk.mutable_data());
  p.dv = static_cast<T*>(dv.mutable_data());
  const auto& kern = fe::kernels<fe::attention::Kernels<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::attention::backward<T>(kern, p, nt);
}

template <class T>
int64_t workspace_t(py::array q, py::array k, py::array v, bool backward) {
  py::array m;
  auto p = problem<T>(q, k, v, py::none(), 1.0, false, &m);
  return fe::attention::workspace_bytes<T>(fe::kernels<fe::attention::Kernels<T>>(), p, backward);
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def(
      "attention_forward",
      [](py::array q, py::array k, py::array v, py::object mask, py::array o, py::array lse, double scale,
         bool is_causal, double dropout_p, uint64_t seed) {
        is_float64(q, "q") ? forward_t<double>(q, k, v, mask, o, lse, scale, is_causal, dropout_p, seed)
                           : forward_t<float>(q, k, v, mask, o, lse, scale, is_causal, dropout_p, seed);
      },
      py::arg("q").noconvert(), py::arg("k").noconvert(), py::arg("v").noconvert(), py::arg("mask").none(true),
      py::arg("o").noconvert(), py::arg("lse").noconvert(), py::kw_only(), py::arg("scale"),
      py::arg("is_causal") = false, py::arg("dropout_p") = 0.0, py::arg("seed") = 0,
      "o (G, H, L, Ev) = softmax(scale * q k^T + mask) v and lse (G, H, L), each row's log-sum-exp, for q "
      "(G, H, L, E), k (G, Hkv, S, E), v (G, Hkv, S, Ev); mask None, bool (True = take part) or q's dtype "
      "(added), shape (1|G, 1|H, 1|L, S); is_causal masks key j > query i. Tiled: no (L, S) matrix is made. "
      "q, k, v and o may be strided views whose rows are contiguous (o must not overlap itself). dropout_p > 0 "
      "drops each probability with that chance (kept ones scaled by 1 / (1 - dropout_p)), the mask a function "
      "of seed and the element's (g, h, i, j) (firstepoch.reference.attention.dropout_keep); lse is undropped.");
  m.def(
      "attention_backward",
      [](py::array q, py::array k, py::array v, py::object mask, py::array o, py::array lse, py::array dout,
         py::array dq, py::array dk, py::array dv, double scale, bool is_causal, double dropout_p, uint64_t seed) {
        is_float64(q, "q")
            ? backward_t<double>(q, k, v, mask, o, lse, dout, dq, dk, dv, scale, is_causal, dropout_p, seed)
            : backward_t<float>(q, k, v, mask, o, lse, dout, dq, dk, dv, scale, is_causal, dropout_p, seed);
      },
      py::arg("q").noconvert(), py::arg("k").noconvert(), py::arg("v").noconvert(), py::arg("mask").none(true),
      py::arg("o").noconvert(), py::arg("lse").noconvert(), py::arg("dout").noconvert(), py::arg("dq").noconvert(),
      py::arg("dk").noconvert(), py::arg("dv").noconvert(), py::kw_only(), py::arg("scale"),
      py::arg("is_causal") = false, py::arg("dropout_p") = 0.0, py::arg("seed") = 0,
      "dq, dk, dv of attention_forward given its o and lse and the output gradient dout (scores recomputed "
      "block by block; with the forward's dropout_p and seed, its dropout mask drawn again).");
  m.def(
      "attention_workspace_size",
      [](py::array q, py::array k, py::array v, bool backward) {
        return is_float64(q, "q") ? workspace_t<double>(q, k, v, backward) : workspace_t<float>(q, k, v, backward);
      },
      py::arg("q").noconvert(), py::arg("k").noconvert(), py::arg("v").noconvert(), py::kw_only(),
      py::arg("backward") = false,
      "Bytes of scratch one thread of attention_forward (or _backward) takes for these shapes.");
}

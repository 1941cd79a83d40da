// Bindings for the softmax family: softmax/log-softmax forward and backward over the last axis of a
// 2-D array, and the fused cross-entropy (log-softmax + NLL). Outputs are given by the caller;
// every argument is checked (dtype, rank, shape, contiguity, aliasing, target range) before any work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

// An output may be exactly an input (same data, shape and strides: the kernel works in place there)
// or share no memory with it; a partial overlap would read values the kernel has already written.
void require_same_or_disjoint(const py::array& out, const py::array& in, const char* out_name, const char* in_name) {
  if (out.data() == in.data() && out.ndim() == in.ndim()) {
    bool same = true;
    for (py::ssize_t i = 0; i < out.ndim(); ++i)
      same = same && out.shape(i) == in.shape(i) && out.strides(i) == in.strides(i);
    if (same) return;
  }
  require_no_overlap(out, in, out_name, in_name);
}

template <class T>
void softmax_forward_t(py::array x, py::array out, bool log) {
  require_c_array<T>(x, "x", 2);
  require_c_array<T>(out, "out", 2);
  require_writeable(out, "out");
  if (out.shape(0) != x.shape(0) || out.shape(1) != x.shape(1))
    throw py::value_error("out must have the shape of x " + shape_str(x) + ", got " + shape_str(out));
  require_same_or_disjoint(out, x, "out", "x");
  const auto& k = fe::kernels<fe::softmax::Kernels<T>>();
  const int nt = fe::get_num_threads();
  const T* px = static_cast<const T*>(x.data());
  T* po = static_cast<T*>(out.mutable_data());
  py::gil_scoped_release nogil;
  fe::softmax::forward<T>(k, px, po, x.shape(0), x.shape(1), log, nt);  // out may be x (in place)
}

template <class T>
void softmax_backward_t(py::array y, py::array dy, py::array dx, bool log) {
  require_c_array<T>(y, "y", 2);
  require_c_array<T>(dy, "dy", 2);
  require_c_array<T>(dx, "dx", 2);
  require_writeable(dx, "dx");
  for (auto* other : {&dy, &dx})
    if (other->shape(0) != y.shape(0) || other->shape(1) != y.shape(1))
      throw py::value_error("y, dy and dx must have one shape, got y " + shape_str(y) + ", dy " + shape_str(dy) +
                            ", dx " + shape_str(dx));
  require_no_overlap(dx, y, "dx", "y");
  require_same_or_disjoint(dx, dy, "dx", "dy");
  const auto& k = fe::kernels<fe::softmax::Kernels<T>>();
  const int nt = fe::get_num_threads();
  const T* py_ = static_cast<const T*>(y.data());
  const T* pdy = static_cast<const T*>(dy.data());
  T* pdx = static_cast<T*>(dx.mutable_data());
  py::gil_scoped_release nogil;
  fe::softmax::backward<T>(k, py_, pdy, pdx, y.shape(0), y.shape(1), log, nt);  // dx may be dy
}

template <class T>
fe::softmax::CrossEntropyArgs<T> ce_args(const py::array& logits, const py::array& target, py::object weight,
                                         int64_t ignore_index, double label_smoothing, py::array* weight_keep) {
  require_c_array<T>(logits, "logits", 2);
  if (!py::isinstance<py::array_t<int64_t>>(target))
    throw py::type_error("target must have dtype int64 (class indices), got " + dtype_str(target) +
                         " with shape " + shape_str(target));
  if (target.ndim() != 1 || target.shape(0) != logits.shape(0))
    throw py::value_error("target must have shape (" + std::to_string(logits.shape(0)) + ",) for logits " +
                          shape_str(logits) + ", got " + shape_str(target));
  if (!(target.flags() & py::array::c_style))
    throw py::value_error("target with shape " + shape_str(target) + " must be contiguous");
  require_aligned(target, "target");
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    throw py::value_error("label_smoothing must be in [0, 1], got " + std::to_string(label_smoothing));
  const int64_t rows = logits.shape(0), cols = logits.shape(1);
  if (cols == 0 && rows > 0)
    throw py::value_error("logits " + shape_str(logits) + " has no classes: cross-entropy needs at least one");
  const int64_t* t = static_cast<const int64_t*>(target.data());
  for (int64_t i = 0; i < rows; ++i)
    if (t[i] != ignore_index && (t[i] < 0 || t[i] >= cols))
      throw py::index_error("target[" + std::to_string(i) + "] = " + std::to_string(t[i]) +
                            " is out of range for " + std::to_string(cols) + " classes");
  fe::softmax::CrossEntropyArgs<T> a{t, nullptr, ignore_index, static_cast<T>(label_smoothing)};
  if (!weight.is_none()) {
    *weight_keep = as_array(weight, "weight");
    require_c_array<T>(*weight_keep, "weight", 1);
    if (weight_keep->shape(0) != cols)
      throw py::value_error("weight must have shape (" + std::to_string(cols) + ",) (one per class), got " +
                            shape_str(*weight_keep));
    a.weight = static_cast<const T*>(weight_keep->data());
  }
  return a;
}

template <class T>
void ce_forward_t(py::array logits, py::array target, py::array loss, py::array stats, py::object weight,
                  int64_t ignore_index, double label_smoothing) {
  py::array w;
  auto a = ce_args<T>(logits, target, weight, ignore_index, label_smoothing, &w);
  const int64_t rows = logits.shape(0);
  require_c_array<T>(loss, "loss", 1);
  require_writeable(loss, "loss");
  if (loss.shape(0) != rows)
    throw py::value_error("loss must have shape (" + std::to_string(rows) + ",), got " + shape_str(loss));
  require_c_array<T>(stats, "stats", 2);
  require_writeable(stats, "stats");
  if (stats.shape(0) != 2 || stats.shape(1) != rows)
    throw py::value_error("stats must have shape (2, " + std::to_string(rows) + "), got " + shape_str(stats));
  require_no_overlap(loss, stats, "loss", "stats");
  for (auto* out : {&loss, &stats}) {
    const char* name = out == &loss ? "loss" : "stats";
    require_no_overlap(*out, logits, name, "logits");
    require_no_overlap(*out, target, name, "target");
    if (a.weight) require_no_overlap(*out, w, name, "weight");
  }
  const auto& k = fe::kernels<fe::softmax::Kernels<T>>();
  const int nt = fe::get_num_threads();
  const T* pz = static_cast<const T*>(logits.data());
  T* pl = static_cast<T*>(loss.mutable_data());
  T* ps = static_cast<T*>(stats.mutable_data());
  py::gil_scoped_release nogil;
  fe::softmax::cross_entropy_forward<T>(k, pz, rows, logits.shape(1), a, pl, ps, ps + rows, nt);
}

template <class T>
void ce_backward_t(py::array logits, py::array stats, py::array target, py::array grad, py::array dlogits,
                   py::object weight, int64_t ignore_index, double label_smoothing) {
  py::array w;
  auto a = ce_args<T>(logits, target, weight, ignore_index, label_smoothing, &w);
  const int64_t rows = logits.shape(0);
  require_c_array<T>(stats, "stats", 2);
  require_c_array<T>(grad, "grad", 1);
  require_c_array<T>(dlogits, "dlogits", 2);
  require_writeable(dlogits, "dlogits");
  if (stats.shape(0) != 2 || stats.shape(1) != rows || grad.shape(0) != rows || dlogits.shape(0) != rows ||
      dlogits.shape(1) != logits.shape(1))
    throw py::value_error("stats must have shape (2, rows), grad (rows,) and dlogits the shape of logits " +
                          shape_str(logits) + "; got stats " + shape_str(stats) + ", grad " + shape_str(grad) +
                          ", dlogits " + shape_str(dlogits));
  require_no_overlap(dlogits, logits, "dlogits", "logits");
  require_no_overlap(dlogits, stats, "dlogits", "stats");
  require_no_overlap(dlogits, grad, "dlogits", "grad");
  require_no_overlap(dlogits, target, "dlogits", "target");
  if (a.weight) require_no_overlap(dlogits, w, "dlogits", "weight");
  const auto& k = fe::kernels<fe::softmax::Kernels<T>>();
  const int nt = fe::get_num_threads();
  const T* pz = static_cast<const T*>(logits.data());
  const T* ps = static_cast<const T*>(stats.data());
  const T* pg = static_cast<const T*>(grad.data());
  T* pd = static_cast<T*>(dlogits.mutable_data());
  py::gil_scoped_release nogil;
  fe::softmax::cross_entropy_backward<T>(k, pz, ps, ps + rows, rows, logits.shape(1), a, pg, pd, nt);
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def(
      "softmax_forward",
      [](py::array x, py::array out, bool log) {
        is_float64(x, "x") ? softmax_forward_t<double>(x, out, log) : softmax_forward_t<float>(x, out, log);
      },
      py::arg("x").noconvert(), py::arg("out").noconvert(), py::kw_only(), py::arg("log") = false,
      "out = softmax(x) (log_softmax with log=True) over the last axis of a 2-D C-contiguous x.");
  m.def(
      "softmax_backward",
      [](py::array y, py::array dy, py::array dx, bool log) {
        is_float64(y, "y") ? softmax_backward_t<double>(y, dy, dx, log) : softmax_backward_t<float>(y, dy, dx, log);
      },
      py::arg("y").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::kw_only(),
      py::arg("log") = false, "dx from the forward output y and the gradient dy (all 2-D).");
  m.def(
      "cross_entropy_forward",
      [](py::array logits, py::array target, py::array loss, py::array stats, py::object weight,
         int64_t ignore_index, double label_smoothing) {
        is_float64(logits, "logits")
            ? ce_forward_t<double>(logits, target, loss, stats, weight, ignore_index, label_smoothing)
            : ce_forward_t<float>(logits, target, loss, stats, weight, ignore_index, label_smoothing);
      },
      py::arg("logits").noconvert(), py::arg("target").noconvert(), py::arg("loss").noconvert(),
      py::arg("stats").noconvert(), py::kw_only(), py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
      py::arg("label_smoothing") = 0.0,
      "Per-row cross-entropy of (N, C) logits against int64 targets (fused log-softmax + NLL) into loss (N,); "
      "stats (2, N) receives each row's max and log(sum(exp(logits - max))) for the backward.");
  m.def(
      "cross_entropy_backward",
      [](py::array logits, py::array stats, py::array target, py::array grad, py::array dlogits,
         py::object weight, int64_t ignore_index, double label_smoothing) {
        is_float64(logits, "logits")
            ? ce_backward_t<double>(logits, stats, target, grad, dlogits, weight, ignore_index, label_smoothing)
            : ce_backward_t<float>(logits, stats, target, grad, dlogits, weight, ignore_index, label_smoothing);
      },
      py::arg("logits").noconvert(), py::arg("stats").noconvert(), py::arg("target").noconvert(),
      py::arg("grad").noconvert(), py::arg("dlogits").noconvert(), py::kw_only(), py::arg("weight") = py::none(),
      py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0,
      "dlogits = grad[i] * d loss_i / d logits (rows with ignore_index get zeros).");
}

// Bindings for the fused optimizer updates: every array checked (dtype, shape, contiguity, no
// aliasing between the parameter and its state) before the update runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>
#include <vector>

#include "bindings/common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

using Named = std::vector<std::pair<const py::array*, const char*>>;

// A state array the update reads and writes (the momentum buffer, AMSGrad's running maximum).
void add_state(const py::object& obj, const char* name, py::array* keep, Named& others, Named& written) {
  *keep = as_array(obj, name);
  others.push_back({keep, name});
  written.push_back({keep, name});
}

// All arrays: dtype T, C-contiguous, the shape of w; the written ones writeable and disjoint from
// every other array (w included).
template <class T>
void check_like(const py::array& w, Named others, const Named& written) {
  require_dtype<T>(w, "w");
  if (!(w.flags() & py::array::c_style)) throw py::value_error("w with shape " + shape_str(w) + " must be C-contiguous");
  for (auto [a, name] : others) {
    require_dtype<T>(*a, name);
    if (!(a->flags() & py::array::c_style))
      throw py::value_error(std::string(name) + " with shape " + shape_str(*a) + " must be C-contiguous");
    bool same = a->ndim() == w.ndim();
    for (py::ssize_t i = 0; same && i < w.ndim(); ++i) same = a->shape(i) == w.shape(i);
    if (!same)
      throw py::value_error(std::string(name) + " has shape " + shape_str(*a) + ", w has " + shape_str(w));
  }
  for (auto [a, name] : written) require_writeable(*a, name);
  others.push_back({&w, "w"});
  for (size_t i = 0; i < written.size(); ++i)
    for (auto [b, bname] : others)
      if (written[i].first != b) require_no_overlap(*written[i].first, *b, written[i].second, bname);
}

template <class T>
void sgd_t(py::array w, py::array grad, py::object buf_obj, double lr, double momentum, double dampening,
           double weight_decay, bool nesterov, bool first) {
  py::array buf;
  Named others{{&grad, "grad"}}, written{{&w, "w"}};
  if (momentum != 0.0) {
    if (buf_obj.is_none()) throw py::value_error("sgd_update: momentum != 0 needs a momentum buffer");
    add_state(buf_obj, "buf", &buf, others, written);
  }
  check_like<T>(w, others, written);
  const auto& k = fe::kernels<fe::optim::Kernels<T>>();
  fe::optim::SgdArgs<T> a{static_cast<T>(lr), static_cast<T>(momentum), static_cast<T>(dampening),
                          static_cast<T>(weight_decay), nesterov ? 1 : 0, first ? 1 : 0};
  T* pw = static_cast<T*>(w.mutable_data());
  const T* pg = static_cast<const T*>(grad.data());
  T* pb = momentum != 0.0 ? static_cast<T*>(buf.mutable_data()) : nullptr;
  const int64_t n = w.size();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::optim::sgd<T>(k, pw, pg, pb, n, a, nt);
}

template <class T>
void adam_t(py::array w, py::array grad, py::array m, py::array v, py::object vmax_obj, double lr, double beta1,
            double beta2, double eps, double weight_decay, int64_t step, bool decoupled) {
  if (step < 1) throw py::value_error("adam_update: step counts from 1, got " + std::to_string(step));
  py::array vmax;
  Named others{{&grad, "grad"}, {&m, "exp_avg"}, {&v, "exp_avg_sq"}};
  Named written{{&w, "w"}, {&m, "exp_avg"}, {&v, "exp_avg_sq"}};
  const bool amsgrad = !vmax_obj.is_none();
  if (amsgrad) add_state(vmax_obj, "max_exp_avg_sq", &vmax, others, written);
  check_like<T>(w, others, written);
  const auto& k = fe::kernels<fe::optim::Kernels<T>>();
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  fe::optim::AdamArgs<T> a{static_cast<T>(lr),  static_cast<T>(beta1), static_cast<T>(beta2),
                           static_cast<T>(eps), static_cast<T>(weight_decay), static_cast<T>(bc1),
                           static_cast<T>(bc2), decoupled ? 1 : 0,   amsgrad ? 1 : 0,
                           static_cast<T>(1.0 - beta1), static_cast<T>(1.0 - beta2)};
  T* pw = static_cast<T*>(w.mutable_data());
  const T* pg = static_cast<const T*>(grad.data());
  T* pm = static_cast<T*>(m.mutable_data());
  T* pv = static_cast<T*>(v.mutable_data());
  T* px = amsgrad ? static_cast<T*>(vmax.mutable_data()) : nullptr;
  const int64_t n = w.size();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::optim::adam<T>(k, pw, pg, pm, pv, px, n, a, nt);
}

// One parameter of sgd_update_many, checked: its arrays (references held until the updates are done)
// and the dtype that picks the kernel.
struct SgdItem {
  py::array w, grad, buf;  // buf: only with momentum (has_buf)
  bool f64;
  bool first;
  bool has_buf;
};

template <class T>
void sgd_run(const SgdItem& it, const fe::optim::SgdArgs<T>& a, int nt) {
  const auto& k = fe::kernels<fe::optim::Kernels<T>>();
  fe::optim::SgdArgs<T> ai = a;
  ai.first = it.first ? 1 : 0;
  T* pb = it.has_buf ? static_cast<T*>(const_cast<void*>(it.buf.data())) : nullptr;
  fe::optim::sgd<T>(k, static_cast<T*>(const_cast<void*>(it.w.data())), static_cast<const T*>(it.grad.data()), pb,
                    it.w.size(), ai, nt);
}

// sgd_update over many parameters in one call, as successive sgd_update calls in list order would do:
// every parameter is checked first (a refused list changes nothing), then all are updated without the GIL.
void sgd_many(const py::list& ws, const py::list& grads, const py::object& bufs_obj, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, const py::list& first) {
  const size_t n = ws.size();
  py::list bufs;
  if (momentum != 0.0) {
    if (bufs_obj.is_none()) throw py::value_error("sgd_update_many: momentum != 0 needs the momentum buffers");
    if (!py::isinstance<py::list>(bufs_obj)) throw py::type_error("sgd_update_many: bufs must be a list or None");
    bufs = py::reinterpret_borrow<py::list>(bufs_obj);
  }
  if (grads.size() != n || first.size() != n || (momentum != 0.0 && bufs.size() != n))
    throw py::value_error("sgd_update_many: ws, grads, bufs and first must have one entry per parameter, got " +
                          std::to_string(n) + ", " + std::to_string(grads.size()) + ", " +
                          (momentum != 0.0 ? std::to_string(bufs.size()) : std::string("None")) + " and " +
                          std::to_string(first.size()));
  std::vector<SgdItem> items;
  items.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto at = [i] { return "sgd_update_many: parameter " + std::to_string(i) + ": "; };
    try {
      SgdItem it;
      it.w = as_array(ws[i], "w");
      it.grad = as_array(grads[i], "grad");
      it.first = first[i].cast<bool>();
      it.f64 = is_float64(it.w, "w");
      it.has_buf = momentum != 0.0;
      Named others{{&it.grad, "grad"}}, written{{&it.w, "w"}};
      if (momentum != 0.0) {
        if (bufs[i].is_none()) throw py::value_error("momentum != 0 needs a momentum buffer");
        add_state(bufs[i], "buf", &it.buf, others, written);
      }
      it.f64 ? check_like<double>(it.w, others, written) : check_like<float>(it.w, others, written);
      items.push_back(std::move(it));
    } catch (const py::type_error& e) {
      throw py::type_error(at() + e.what());
    } catch (const py::value_error& e) {
      throw py::value_error(at() + e.what());
    }
  }
  const fe::optim::SgdArgs<float> af{static_cast<float>(lr), static_cast<float>(momentum),
                                     static_cast<float>(dampening), static_cast<float>(weight_decay),
                                     nesterov ? 1 : 0, 0};
  const fe::optim::SgdArgs<double> ad{lr, momentum, dampening, weight_decay, nesterov ? 1 : 0, 0};
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  for (const auto& it : items) it.f64 ? sgd_run<double>(it, ad, nt) : sgd_run<float>(it, af, nt);
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def(
      "sgd_update",
      [](py::array w, py::array grad, py::object buf, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool first) {
        is_float64(w, "w") ? sgd_t<double>(w, grad, buf, lr, momentum, dampening, weight_decay, nesterov, first)
               : sgd_t<float>(w, grad, buf, lr, momentum, dampening, weight_decay, nesterov, first);
      },
      py::arg("w").noconvert(), py::arg("grad").noconvert(), py::arg("buf").noconvert() = py::none(), py::kw_only(),
      py::arg("lr"), py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
      py::arg("nesterov") = false, py::arg("first") = false,
      "One fused SGD step in place (PyTorch's rule); buf is the momentum buffer (filled when first=True).");
  m.def("sgd_update_many", &sgd_many, py::arg("ws"), py::arg("grads"), py::arg("bufs") = py::none(), py::kw_only(),
        py::arg("lr"), py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("nesterov") = false, py::arg("first"),
        "sgd_update over lists of parameters (w), their gradients and momentum buffers (None without momentum), "
        "one first flag each, in one call: the same as successive sgd_update calls in list order, but every "
        "parameter is checked before any is updated.");
  m.def(
      "adam_update",
      [](py::array w, py::array grad, py::array m_, py::array v, py::object vmax, double lr, double beta1,
         double beta2, double eps, double weight_decay, int64_t step, bool decoupled) {
        is_float64(w, "w") ? adam_t<double>(w, grad, m_, v, vmax, lr, beta1, beta2, eps, weight_decay, step, decoupled)
               : adam_t<float>(w, grad, m_, v, vmax, lr, beta1, beta2, eps, weight_decay, step, decoupled);
      },
      py::arg("w").noconvert(), py::arg("grad").noconvert(), py::arg("exp_avg").noconvert(),
      py::arg("exp_avg_sq").noconvert(), py::arg("max_exp_avg_sq").noconvert() = py::none(), py::kw_only(),
      py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
      py::arg("weight_decay") = 0.0, py::arg("step"), py::arg("decoupled") = false,
      "One fused Adam (decoupled=True: AdamW) step in place; step counts from 1; max_exp_avg_sq for AMSGrad.");
}

// Bindings for the recurrent layers (one layer, one direction per call): every array checked (dtype,
// rank, shape against the others, contiguity) with errors that name it and the shapes; the outputs
// and the arrays saved for backward are allocated here and returned; the kernels run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "bindings/common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

int parse_mode(const std::string& m) {
  if (m == "rnn_tanh") return fe::rnn::kRnnTanh;
  if (m == "rnn_relu") return fe::rnn::kRnnRelu;
  if (m == "lstm") return fe::rnn::kLstm;
  if (m == "gru") return fe::rnn::kGru;
  throw py::value_error("mode must be 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru', got '" + m + "'");
}

std::string dims(std::initializer_list<int64_t> d) {
  std::string s = "(";
  int i = 0;
  for (int64_t v : d) s += (i++ ? ", " : "") + std::to_string(v);
  return s + (d.size() == 1 ? ",)" : ")");
}

template <class T>
void require_shape(const py::array& a, const char* name, std::initializer_list<int64_t> shape, const std::string& why) {
  require_c_array<T>(a, name, static_cast<int>(shape.size()));
  int i = 0;
  for (int64_t v : shape)
    if (a.shape(i++) != v)
      throw py::value_error(std::string(name) + " must have shape " + dims(shape) + " (" + why + "), got " +
                            shape_str(a));
}

// An optional array: null for None, else checked like require_shape.
template <class T>
const T* optional(const py::object& o, const char* name, std::initializer_list<int64_t> shape, const std::string& why,
                  py::array* keep) {
  if (o.is_none()) return nullptr;
  if (!py::isinstance<py::array>(o)) throw py::type_error(std::string(name) + " must be a numpy array or None");
  *keep = o.cast<py::array>();
  require_shape<T>(*keep, name, shape, why);
  return static_cast<const T*>(keep->data());
}

template <class T>
py::array_t<T> empty(std::vector<py::ssize_t> shape) {
  return py::array_t<T>(shape);
}

// The layer's sizes from x (T, N, I) and w_hh (G*H, H), with w_ih checked against both.
template <class T>
fe::rnn::Shape layer_shape(const py::array& x, const py::array& w_ih, const py::array& w_hh, int mode, bool reverse) {
  require_c_array<T>(x, "x", 3);
  require_c_array<T>(w_hh, "w_hh", 2);
  require_c_array<T>(w_ih, "w_ih", 2);
  const int64_t G = fe::rnn::gate_count(mode);
  const int64_t T_ = x.shape(0), N = x.shape(1), I = x.shape(2), H = w_hh.shape(1);
  if (T_ < 1 || N < 0 || I < 1)  // an empty batch is fine (PyTorch's too): empty outputs, zero dW
    throw py::value_error("x " + shape_str(x) + " must be (seq_len, batch, input_size), seq_len and input_size "
                          "at least 1");
  if (H < 1 || w_hh.shape(0) != G * H)
    throw py::value_error("w_hh must have shape (" + std::to_string(G) + " * hidden_size, hidden_size) for " +
                          std::to_string(G) + " gate(s), got " + shape_str(w_hh));
  if (w_ih.shape(0) != G * H || w_ih.shape(1) != I)
    throw py::value_error("w_ih must have shape " + dims({G * H, I}) + " for input x " + shape_str(x) + " and w_hh " +
                          shape_str(w_hh) + ", got " + shape_str(w_ih));
  return {T_, N, I, H, mode, reverse};
}

template <class T>
py::tuple forward_t(const py::array& x, const py::array& w_ih, const py::array& w_hh, const py::object& b_ih,
                    const py::object& b_hh, const py::array& h0, const py::object& c0, int mode, bool reverse) {
  const auto s = layer_shape<T>(x, w_ih, w_hh, mode, reverse);
  const int64_t GH = fe::rnn::gate_count(mode) * s.H;
  const bool lstm = mode == fe::rnn::kLstm, gru = mode == fe::rnn::kGru;
  py::array kb_ih, kb_hh, kc0;
  const T* pb_ih = optional<T>(b_ih, "b_ih", {GH}, "gates * hidden_size", &kb_ih);
  const T* pb_hh = optional<T>(b_hh, "b_hh", {GH}, "gates * hidden_size", &kb_hh);
  require_shape<T>(h0, "h0", {s.N, s.H}, "batch, hidden_size of x " + shape_str(x) + " and w_hh " + shape_str(w_hh));
  const T* pc0 = nullptr;
  if (lstm) {
    if (c0.is_none()) throw py::value_error("c0 is required for an LSTM");
    pc0 = optional<T>(c0, "c0", {s.N, s.H}, "batch, hidden_size", &kc0);
  } else if (!c0.is_none()) {
    throw py::value_error("c0 is only for an LSTM");
  }
  const int64_t TN = s.T * s.N;
  require_scratch_fits(static_cast<uint64_t>(GH) * static_cast<uint64_t>(TN) * (gru ? 2 : 1), sizeof(T),
                       "rnn_forward: the saved gates (gates * hidden_size, seq_len * batch)");
  auto out = empty<T>({s.T + (lstm ? 2 : 1), s.N, s.H});
  // the GRU's input projection is one GEMM over all steps, (GH, T*N); the others' gates go step by
  // step, (T, GH, N)
  auto gates = gru ? empty<T>({GH, TN}) : empty<T>({s.T, GH, s.N});
  py::object gh = py::none(), hs = py::none(), cs = py::none(), tcs = py::none();
  fe::rnn::Saved<T> sv{gates.mutable_data(), nullptr, nullptr, nullptr, nullptr};
  if (gru) {
    auto a = empty<T>({GH, TN}), b = empty<T>({s.T + 1, s.H, s.N});
    sv.gh = a.mutable_data();
    sv.hs = b.mutable_data();
    gh = a;
    hs = b;
  }
  if (lstm) {
    auto a = empty<T>({s.T + 1, s.H, s.N}), b = empty<T>({s.T, s.H, s.N});
    sv.cs = a.mutable_data();
    sv.tcs = b.mutable_data();
    cs = a;
    tcs = b;
  }
  const T *px = static_cast<const T*>(x.data()), *pw_ih = static_cast<const T*>(w_ih.data());
  const T *pw_hh = static_cast<const T*>(w_hh.data()), *ph0 = static_cast<const T*>(h0.data());
  T* pout = out.mutable_data();
  const auto& k = fe::kernels<fe::rnn::Kernels<T>>();
  const auto& uk = fe::kernels<fe::gemm::UKernel<T>>();
  const int nt = fe::get_num_threads();
  {
    py::gil_scoped_release nogil;
    fe::rnn::forward<T>(k, uk, s, px, pw_ih, pw_hh, pb_ih, pb_hh, ph0, pc0, pout, sv, nt);
  }
  return py::make_tuple(out, py::make_tuple(gates, gh, hs, cs, tcs));
}

template <class T>
py::tuple backward_t(const py::array& x, const py::array& w_ih, const py::array& w_hh, const py::array& out,
                     const py::tuple& saved, const py::array& dout, int mode, bool reverse, bool need_dx, bool need_dw,
                     bool need_db) {
  const auto s = layer_shape<T>(x, w_ih, w_hh, mode, reverse);
  const int64_t GH = fe::rnn::gate_count(mode) * s.H, TN = s.T * s.N;
  const bool lstm = mode == fe::rnn::kLstm, gru = mode == fe::rnn::kGru;
  const int64_t S = s.T + (lstm ? 2 : 1);
  const std::string why = "saved by rnn_forward for x " + shape_str(x) + " and w_hh " + shape_str(w_hh);
  require_shape<T>(out, "out", {S, s.N, s.H}, why);
  require_shape<T>(dout, "dout", {S, s.N, s.H}, "the shape of out");
  if (saved.size() != 5) throw py::value_error("saved must be the 5-tuple rnn_forward returned");
  // Each saved array: required for this mode (checked like any input), else it must be None.
  py::array keep[5];
  auto get = [&](int i, const char* name, bool used, std::initializer_list<int64_t> shape) -> const T* {
    const py::object o = saved[i];
    if (!used) {
      if (!o.is_none()) throw py::value_error(std::string("saved ") + name + " must be None for this mode");
      return nullptr;
    }
    if (o.is_none()) throw py::value_error(std::string("saved ") + name + " (from rnn_forward) is required");
    return optional<T>(o, name, shape, why, &keep[i]);
  };
  const T* gates = gru ? get(0, "gates", true, {GH, TN}) : get(0, "gates", true, {s.T, GH, s.N});
  const fe::rnn::Saved<const T> sv{gates, get(1, "gh", gru, {GH, TN}),
                                   get(2, "hs", gru, {s.T + 1, s.H, s.N}), get(3, "cs", lstm, {s.T + 1, s.H, s.N}),
                                   get(4, "tcs", lstm, {s.T, s.H, s.N})};
  require_scratch_fits(static_cast<uint64_t>(GH) * static_cast<uint64_t>(TN) * (gru ? 2 : 1), sizeof(T),
                       "rnn_backward: the gate gradients (gates * hidden_size, seq_len * batch)");
  py::object dx = py::none(), dc0 = py::none(), dw_ih = py::none(), dw_hh = py::none(), db_ih = py::none(),
             db_hh = py::none();
  T *pdx = nullptr, *pdc0 = nullptr, *pdw_ih = nullptr, *pdw_hh = nullptr, *pdb_ih = nullptr, *pdb_hh = nullptr;
  auto dh0 = empty<T>({s.N, s.H});
  auto make = [](std::vector<py::ssize_t> shape, T** ptr, py::object* obj) {
    auto a = empty<T>(shape);
    *ptr = a.mutable_data();
    *obj = a;
  };
  if (need_dx) make({s.T, s.N, s.I}, &pdx, &dx);
  if (lstm) make({s.N, s.H}, &pdc0, &dc0);
  if (need_dw) {
    make({GH, s.I}, &pdw_ih, &dw_ih);
    make({GH, s.H}, &pdw_hh, &dw_hh);
  }
  if (need_db) {
    make({GH}, &pdb_ih, &db_ih);
    make({GH}, &pdb_hh, &db_hh);
  }
  const T *px = static_cast<const T*>(x.data()), *pw_ih = static_cast<const T*>(w_ih.data());
  const T *pw_hh = static_cast<const T*>(w_hh.data()), *pout = static_cast<const T*>(out.data());
  const T* pdout = static_cast<const T*>(dout.data());
  T* pdh0 = dh0.mutable_data();
  const auto& k = fe::kernels<fe::rnn::Kernels<T>>();
  const auto& uk = fe::kernels<fe::gemm::UKernel<T>>();
  const int nt = fe::get_num_threads();
  {
    py::gil_scoped_release nogil;
    fe::rnn::backward<T>(k, uk, s, px, pw_ih, pw_hh, pout, sv, pdout, pdx, pdh0, pdc0, pdw_ih, pdw_hh, pdb_ih, pdb_hh,
                         nt);
  }
  return py::make_tuple(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh);
}

}  // namespace

void bind_rnn(py::module_& m) {
  m.def(
      "rnn_forward",
      [](py::array x, py::array w_ih, py::array w_hh, py::object b_ih, py::object b_hh, py::array h0, py::object c0,
         const std::string& mode, bool reverse) {
        const int md = parse_mode(mode);
        return is_float64(x, "x") ? forward_t<double>(x, w_ih, w_hh, b_ih, b_hh, h0, c0, md, reverse)
                      : forward_t<float>(x, w_ih, w_hh, b_ih, b_hh, h0, c0, md, reverse);
      },
      py::arg("x").noconvert(), py::arg("w_ih").noconvert(), py::arg("w_hh").noconvert(), py::arg("b_ih"),
      py::arg("b_hh"), py::arg("h0").noconvert(), py::arg("c0"), py::arg("mode"), py::arg("reverse") = false,
      R"(One recurrent layer and direction over x (T, N, I): returns (out, saved).

mode: 'rnn_tanh', 'rnn_relu', 'lstm' (gates i,f,g,o) or 'gru' (r,z,n), PyTorch's weights: w_ih (G*H, I),
w_hh (G*H, H), b_ih, b_hh (G*H,) or None; h0 (N, H); c0 (N, H) for an LSTM, else None.
out (S, N, H), S = T+2 for an LSTM else T+1: forward: out[0] = h0, out[1+t] = h_t, out[T+1] = c_T;
reverse (the sequence read from T-1 down to 0): out[t] = h_t, out[T] = h0, out[T+1] = final c.
saved: the arrays rnn_backward needs (gates, gh, hs, cs, tcs; None where the mode has none).)");
  m.def(
      "rnn_backward",
      [](py::array x, py::array w_ih, py::array w_hh, py::array out, py::tuple saved, py::array dout,
         const std::string& mode, bool reverse, bool need_dx, bool need_dw, bool need_db) {
        const int md = parse_mode(mode);
        return is_float64(x, "x") ? backward_t<double>(x, w_ih, w_hh, out, saved, dout, md, reverse, need_dx, need_dw, need_db)
                      : backward_t<float>(x, w_ih, w_hh, out, saved, dout, md, reverse, need_dx, need_dw, need_db);
      },
      py::arg("x").noconvert(), py::arg("w_ih").noconvert(), py::arg("w_hh").noconvert(), py::arg("out").noconvert(),
      py::arg("saved"), py::arg("dout").noconvert(), py::arg("mode"), py::arg("reverse") = false,
      py::arg("need_dx") = true, py::arg("need_dw") = true, py::arg("need_db") = true,
      R"(Backward through time of rnn_forward from its out and saved arrays and dout (the gradient of out).
Returns (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh); dx, the weight and the bias gradients are None
unless asked for, dc0 is None but for an LSTM.)");
}

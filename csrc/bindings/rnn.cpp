// Bindings for the recurrent layers (one layer, one direction per call): every array checked (dtype,
// rank, shape against the others, contiguity; outputs writeable and apart from the inputs) with errors
// that name it and the shapes. The caller allocates every output, and one workspace whose layout
// (the arrays forward saves for backward) only the kernel header knows; the kernels run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "bindings/common.h"
#include "common/cpu.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

// The modes' names, indexed by fe::rnn::Mode.
const char* const kModeNames[] = {"rnn_tanh", "rnn_relu", "lstm", "gru"};

int parse_mode(const std::string& m) {
  for (int mode : {fe::rnn::kRnnTanh, fe::rnn::kRnnRelu, fe::rnn::kLstm, fe::rnn::kGru})
    if (m == kModeNames[mode]) return mode;
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
  *keep = as_array(o, name);
  require_shape<T>(*keep, name, shape, why);
  return static_cast<const T*>(keep->data());
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

// The workspace's length in elements (see fe::rnn::saved_layout), offsets filled; a MemoryError when
// it does not fit in int64.
int64_t workspace_layout(int mode, int64_t T, int64_t N, int64_t H, int64_t offset[5]) {
  const int64_t n = fe::rnn::saved_layout(mode, T, N, H, offset);
  if (n < 0) {
    PyErr_SetString(PyExc_MemoryError, ("rnn_workspace_size: the saved arrays of seq_len " + std::to_string(T) +
                                        ", batch " + std::to_string(N) + ", hidden_size " + std::to_string(H) +
                                        " have more than 2**63 elements").c_str());
    throw py::error_already_set();
  }
  return n;
}

// The workspace of the layer s: a 1-D T array of exactly rnn_workspace_size elements (writeable when
// it is to be written), else a TypeError/ValueError naming it and the size expected.
template <class T>
fe::rnn::Saved<T> workspace_of(const py::array& ws, const fe::rnn::Shape& s, bool write) {
  int64_t offset[5];
  const int64_t n = workspace_layout(s.mode, s.T, s.N, s.H, offset);
  require_c_array<T>(ws, "workspace", 1);
  if (ws.shape(0) != n)
    throw py::value_error("workspace must have rnn_workspace_size('" + std::string(kModeNames[s.mode]) + "', " +
                          std::to_string(s.T) + ", " + std::to_string(s.N) + ", " + std::to_string(s.H) + ") = " +
                          std::to_string(n) + " elements (seq_len, batch, hidden_size), got shape " + shape_str(ws));
  if (write) require_writeable(ws, "workspace");
  return fe::rnn::saved_in<T>(static_cast<T*>(const_cast<void*>(ws.data())), s.mode, offset);
}

// An output buffer (overwritten): a C-contiguous, writeable T array of exactly `shape`.
template <class T>
T* output(const py::array& a, const char* name, std::initializer_list<int64_t> shape, const std::string& why) {
  require_shape<T>(a, name, shape, why);
  require_writeable(a, name);
  return static_cast<T*>(const_cast<void*>(a.data()));
}

// An optional output: null for None, else checked like output().
template <class T>
T* optional_output(const py::object& o, const char* name, std::initializer_list<int64_t> shape, const std::string& why,
                   py::array* keep) {
  if (o.is_none()) return nullptr;
  *keep = as_array(o, name);
  return output<T>(*keep, name, shape, why);
}

template <class T>
void forward_t(const py::array& x, const py::array& w_ih, const py::array& w_hh, const py::object& b_ih,
               const py::object& b_hh, const py::array& h0, const py::object& c0, const py::array& out,
               const py::array& workspace, int mode, bool reverse) {
  const auto s = layer_shape<T>(x, w_ih, w_hh, mode, reverse);
  const int64_t GH = fe::rnn::gate_count(mode) * s.H;
  const bool lstm = mode == fe::rnn::kLstm;
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
  T* pout = output<T>(out, "out", {s.T + (lstm ? 2 : 1), s.N, s.H},
                      std::string(lstm ? "seq_len + 2" : "seq_len + 1") + ", batch, hidden_size for x " + shape_str(x) +
                          " and w_hh " + shape_str(w_hh));
  const auto sv = workspace_of<T>(workspace, s, true);
  require_scratch_fits(static_cast<uint64_t>(workspace.size()), sizeof(T),
                       "rnn_forward: the workspace of " + std::to_string(workspace.size()) + " elements");
  require_disjoint({{out, "out"}, {workspace, "workspace"}},
                   {{x, "x"}, {w_ih, "w_ih"}, {w_hh, "w_hh"}, {b_ih, "b_ih"}, {b_hh, "b_hh"}, {h0, "h0"}, {c0, "c0"}});
  const T *px = static_cast<const T*>(x.data()), *pw_ih = static_cast<const T*>(w_ih.data());
  const T *pw_hh = static_cast<const T*>(w_hh.data()), *ph0 = static_cast<const T*>(h0.data());
  const auto& k = fe::kernels<fe::rnn::Kernels<T>>();
  const auto& uk = fe::kernels<fe::gemm::UKernel<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::rnn::forward<T>(k, uk, s, px, pw_ih, pw_hh, pb_ih, pb_hh, ph0, pc0, pout, sv, nt);
}

template <class T>
void backward_t(const py::array& x, const py::array& w_ih, const py::array& w_hh, const py::array& out,
                const py::array& workspace, const py::array& dout, const py::object& dx, const py::object& dh0,
                const py::object& dc0, const py::object& dw_ih, const py::object& dw_hh, const py::object& db_ih,
                const py::object& db_hh, int mode, bool reverse) {
  const auto s = layer_shape<T>(x, w_ih, w_hh, mode, reverse);
  const int64_t GH = fe::rnn::gate_count(mode) * s.H, TN = s.T * s.N;
  const bool lstm = mode == fe::rnn::kLstm, gru = mode == fe::rnn::kGru;
  const int64_t S = s.T + (lstm ? 2 : 1);
  const std::string why = "from rnn_forward for x " + shape_str(x) + " and w_hh " + shape_str(w_hh);
  require_shape<T>(out, "out", {S, s.N, s.H}, why);
  const auto sv = workspace_of<T>(workspace, s, false);  // read only
  const fe::rnn::Saved<const T> saved{sv.gates, sv.gh, sv.hs, sv.cs, sv.tcs};
  require_shape<T>(dout, "dout", {S, s.N, s.H}, "the shape of out");
  // The outputs: dh0 always, dc0 exactly for an LSTM, the others None when not wanted.
  py::array kdx, kdh0, kdc0, kdw_ih, kdw_hh, kdb_ih, kdb_hh;
  const std::string state = "batch, hidden_size of x " + shape_str(x) + " and w_hh " + shape_str(w_hh);
  T* pdx = optional_output<T>(dx, "dx", {s.T, s.N, s.I}, "the shape of x", &kdx);
  if (dh0.is_none()) throw py::value_error("dh0 is required: the gradient of h0, shape " + dims({s.N, s.H}));
  T* pdh0 = optional_output<T>(dh0, "dh0", {s.N, s.H}, state, &kdh0);
  T* pdc0 = nullptr;
  if (lstm) {
    if (dc0.is_none()) throw py::value_error("dc0 is required for an LSTM: the gradient of c0, shape " +
                                             dims({s.N, s.H}));
    pdc0 = optional_output<T>(dc0, "dc0", {s.N, s.H}, state, &kdc0);
  } else if (!dc0.is_none()) {
    throw py::value_error("dc0 is only for an LSTM (must be None in mode '" + std::string(kModeNames[mode]) + "')");
  }
  T* pdw_ih = optional_output<T>(dw_ih, "dw_ih", {GH, s.I}, "the shape of w_ih", &kdw_ih);
  T* pdw_hh = optional_output<T>(dw_hh, "dw_hh", {GH, s.H}, "the shape of w_hh", &kdw_hh);
  T* pdb_ih = optional_output<T>(db_ih, "db_ih", {GH}, "gates * hidden_size", &kdb_ih);
  T* pdb_hh = optional_output<T>(db_hh, "db_hh", {GH}, "gates * hidden_size", &kdb_hh);
  require_disjoint({{dx, "dx"}, {dh0, "dh0"}, {dc0, "dc0"}, {dw_ih, "dw_ih"}, {dw_hh, "dw_hh"}, {db_ih, "db_ih"},
                    {db_hh, "db_hh"}},
                   {{x, "x"}, {w_ih, "w_ih"}, {w_hh, "w_hh"}, {out, "out"}, {workspace, "workspace"}, {dout, "dout"}});
  require_scratch_fits(static_cast<uint64_t>(GH) * static_cast<uint64_t>(TN) * (gru ? 2 : 1), sizeof(T),
                       "rnn_backward: the gate gradients (gates * hidden_size, seq_len * batch)");
  const T *px = static_cast<const T*>(x.data()), *pw_ih = static_cast<const T*>(w_ih.data());
  const T *pw_hh = static_cast<const T*>(w_hh.data()), *pout = static_cast<const T*>(out.data());
  const T* pdout = static_cast<const T*>(dout.data());
  const auto& k = fe::kernels<fe::rnn::Kernels<T>>();
  const auto& uk = fe::kernels<fe::gemm::UKernel<T>>();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  fe::rnn::backward<T>(k, uk, s, px, pw_ih, pw_hh, pout, saved, pdout, pdx, pdh0, pdc0, pdw_ih, pdw_hh, pdb_ih, pdb_hh,
                       nt);
}

}  // namespace

void bind_rnn(py::module_& m) {
  m.def(
      "rnn_workspace_size",
      [](const std::string& mode, int64_t seq_len, int64_t batch, int64_t hidden_size) {
        const int md = parse_mode(mode);
        for (auto [v, name] : {std::pair<int64_t, const char*>{seq_len, "seq_len"}, {batch, "batch"},
                               {hidden_size, "hidden_size"}})
          if (v < 0) throw py::value_error(std::string(name) + " must be >= 0, got " + std::to_string(v));
        int64_t offset[5];
        return workspace_layout(md, seq_len, batch, hidden_size, offset);
      },
      py::arg("mode"), py::arg("seq_len"), py::arg("batch"), py::arg("hidden_size"),
      R"(The length (elements, 1-D, the dtype of x) of the workspace rnn_forward fills with what
rnn_backward needs, for one layer and direction of `mode` over x (seq_len, batch, input_size).)");
  m.def(
      "rnn_forward",
      [](py::array x, py::array w_ih, py::array w_hh, py::object b_ih, py::object b_hh, py::array h0, py::object c0,
         py::array out, py::array workspace, const std::string& mode, bool reverse) {
        const int md = parse_mode(mode);
        if (is_float64(x, "x"))
          forward_t<double>(x, w_ih, w_hh, b_ih, b_hh, h0, c0, out, workspace, md, reverse);
        else
          forward_t<float>(x, w_ih, w_hh, b_ih, b_hh, h0, c0, out, workspace, md, reverse);
      },
      py::arg("x").noconvert(), py::arg("w_ih").noconvert(), py::arg("w_hh").noconvert(), py::arg("b_ih"),
      py::arg("b_hh"), py::arg("h0").noconvert(), py::arg("c0"), py::arg("out").noconvert(),
      py::arg("workspace").noconvert(), py::arg("mode"), py::arg("reverse") = false,
      R"(One recurrent layer and direction over x (T, N, I), into the caller's out and workspace (both
overwritten).

mode: 'rnn_tanh', 'rnn_relu', 'lstm' (gates i,f,g,o) or 'gru' (r,z,n), PyTorch's weights: w_ih (G*H, I),
w_hh (G*H, H), b_ih, b_hh (G*H,) or None; h0 (N, H); c0 (N, H) for an LSTM, else None.
out (S, N, H), S = T+2 for an LSTM else T+1: forward: out[0] = h0, out[1+t] = h_t, out[T+1] = c_T;
reverse (the sequence read from T-1 down to 0): out[t] = h_t, out[T] = h0, out[T+1] = final c.
workspace: 1-D, rnn_workspace_size(mode, T, N, H) elements; receives what rnn_backward needs.)");
  m.def(
      "rnn_backward",
      [](py::array x, py::array w_ih, py::array w_hh, py::array out, py::array workspace, py::array dout,
         py::object dx, py::object dh0, py::object dc0, py::object dw_ih, py::object dw_hh, py::object db_ih,
         py::object db_hh, const std::string& mode, bool reverse) {
        const int md = parse_mode(mode);
        if (is_float64(x, "x"))
          backward_t<double>(x, w_ih, w_hh, out, workspace, dout, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, md,
                             reverse);
        else
          backward_t<float>(x, w_ih, w_hh, out, workspace, dout, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, md,
                            reverse);
      },
      py::arg("x").noconvert(), py::arg("w_ih").noconvert(), py::arg("w_hh").noconvert(), py::arg("out").noconvert(),
      py::arg("workspace").noconvert(), py::arg("dout").noconvert(), py::arg("dx"), py::arg("dh0"), py::arg("dc0"),
      py::arg("dw_ih"), py::arg("dw_hh"), py::arg("db_ih"), py::arg("db_hh"), py::arg("mode"),
      py::arg("reverse") = false,
      R"(Backward through time of rnn_forward from its out and workspace and dout (the gradient of out),
into the caller's buffers, each overwritten: dx (T, N, I), dh0 (N, H), dc0 (N, H) for an LSTM (else
None), dw_ih, dw_hh (the weights' shapes), db_ih, db_hh (G*H,). dh0 is required; dx and the weight
and bias gradients may each be None (not wanted).)");
}

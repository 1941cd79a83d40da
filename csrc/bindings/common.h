// Argument checks shared by the binding files: every message names the argument, its shape and dtype.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>
#include <utility>

#include "kernels/conv/conv.h"

namespace fe {
namespace pybind {
namespace py = pybind11;

// Messages are built with std::string and std::to_string, not iostreams: where the extension ends up
// with a private static copy of libstdc++ (a toolchain that links it statically, as one of the GCC 13
// builds we were lent does), its stream locale is never set up and the first `os << long` segfaults.
inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

inline std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

template <class T>
const char* type_name();
template <>
inline const char* type_name<float>() { return "float32"; }
template <>
inline const char* type_name<double>() { return "float64"; }

// Kernels dereference T* (and load SIMD vectors from it): an array viewed from a byte buffer at an
// odd offset would be undefined behaviour there (UBSan reports it), so it is refused here.
inline void require_aligned(const py::array& a, const char* name) {
  if (!(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw py::value_error(std::string(name) + " with shape " + shape_str(a) + " is not aligned to its " +
                          std::to_string(a.itemsize()) + "-byte elements (a view into a byte buffer at an "
                          "odd offset?); make an aligned copy with numpy.array(" + name + ")");
}

template <class T>
void require_dtype(const py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T>>(a))
    throw py::type_error(std::string(name) + " must have dtype " + type_name<T>() + ", got " +
                         dtype_str(a) + " with shape " + shape_str(a) + " (no implicit casts)");
  require_aligned(a, name);
}

// Byte range [lo, hi) an array's elements occupy (empty arrays occupy nothing).
inline std::pair<intptr_t, intptr_t> extent(const py::array& a) {
  intptr_t lo = reinterpret_cast<intptr_t>(a.data()), hi = lo;
  if (a.size() == 0) return {lo, lo};
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    const intptr_t span = static_cast<intptr_t>(a.strides(i)) * (a.shape(i) - 1);
    if (span < 0) lo += span; else hi += span;
  }
  return {lo, hi + a.itemsize()};
}

inline void require_no_overlap(const py::array& out, const py::array& other, const char* out_name,
                        const char* other_name) {
  auto [a0, a1] = extent(out);
  auto [b0, b1] = extent(other);
  if (a0 < b1 && b0 < a1)
    throw py::value_error(std::string(out_name) + " shares memory with " + other_name +
                          "; the output must not alias an input");
}

// An optional array argument that is given (not None): a non-array is a TypeError naming it, never
// cast (pybind11 would copy a list into a temporary array the kernel writes and the caller never sees).
inline py::array as_array(const py::object& o, const char* name) {
  if (!py::isinstance<py::array>(o))
    throw py::type_error(std::string(name) + " must be a numpy array or None, got " +
                         py::str(py::type::of(o)).cast<std::string>());
  return py::reinterpret_borrow<py::array>(o);
}

// Every output against every input and against each other; None (an output not wanted, an absent
// input) and empty arrays overlap nothing.
using NamedArray = std::pair<py::handle, const char*>;
inline void require_disjoint(std::initializer_list<NamedArray> outputs, std::initializer_list<NamedArray> inputs) {
  auto arr = [](py::handle h) { return py::reinterpret_borrow<py::array>(h); };
  for (auto o = outputs.begin(); o != outputs.end(); ++o) {
    if (o->first.is_none()) continue;
    for (const auto& i : inputs)
      if (!i.first.is_none()) require_no_overlap(arr(o->first), arr(i.first), o->second, i.second);
    for (auto p = outputs.begin(); p != o; ++p)
      if (!p->first.is_none()) require_no_overlap(arr(o->first), arr(p->first), o->second, p->second);
  }
}

// A C-contiguous array of dtype T and rank `ndim`, or a TypeError/ValueError naming it.
template <class T>
void require_c_array(const py::array& a, const char* name, int ndim) {
  require_dtype<T>(a, name);
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) + "-D, got shape " + shape_str(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " with shape " + shape_str(a) +
                          " must be C-contiguous (make a copy with numpy.ascontiguousarray)");
}

inline void require_writeable(const py::array& a, const char* name) {
  if (!a.writeable()) throw py::value_error(std::string(name) + " is read-only");
}

// The memory this process may use: physical memory, or less under a cgroup (container) limit.
inline uint64_t memory_limit_bytes() {
  static const uint64_t limit = [] {
    uint64_t lim = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
      if (FILE* f = std::fopen(path, "r")) {
        unsigned long long v = 0;  // "max" (no limit) does not parse and leaves lim alone
        if (std::fscanf(f, "%llu", &v) == 1 && v > 0) lim = std::min<uint64_t>(lim, v);
        std::fclose(f);
      }
    }
    return lim > 0 ? lim : UINT64_MAX;
  }();
  return limit;
}

// A scratch buffer of count elements of `item` bytes that a kernel is about to allocate: a
// MemoryError now if it could not fit in memory (an allocation that big may succeed under overcommit
// and get the process killed when touched), before anything is allocated.
inline void require_scratch_fits(uint64_t count, uint64_t item, const std::string& what) {
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(count, item, &bytes) || bytes > memory_limit_bytes()) {
    char sizes[160];
    std::snprintf(sizes, sizeof sizes,
                  " would need %.3g GiB of scratch, more than the %.3g GiB of memory this process may use",
                  static_cast<double>(count) * static_cast<double>(item) / (1u << 30),
                  static_cast<double>(memory_limit_bytes()) / (1u << 30));
    PyErr_SetString(PyExc_MemoryError, (what + sizes).c_str());
    throw py::error_already_set();
  }
}

// The float32/float64 switch of every binding: true for float64, false for float32, else a TypeError
// naming `name` (the argument whose dtype picks the kernel's T; the others are checked against it).
inline bool is_float64(const py::array& a, const char* name) {
  if (py::isinstance<py::array_t<float>>(a)) return false;
  if (py::isinstance<py::array_t<double>>(a)) return true;
  throw py::type_error(std::string(name) + " must have dtype float32 or float64, got " + dtype_str(a) +
                       " with shape " + shape_str(a));
}

inline void require_shape(const py::array& a, const char* name, std::initializer_list<int64_t> shape) {
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

// An output buffer: a C-contiguous, writeable T array of exactly `shape` (the kernel overwrites it).
template <class T>
void require_output(const py::array& a, const char* name, std::initializer_list<int64_t> shape) {
  require_c_array<T>(a, name, static_cast<int>(shape.size()));
  require_writeable(a, name);
  require_shape(a, name, shape);
}

// An array of dtype T and rank `ndim` whose rows (the last axis) are contiguous and whose other strides
// are non-negative whole elements: an operand a kernel walks by (outer..., row) strides, such as a
// transposed view of a (G, L, H, E) buffer. Returns its strides in elements (the last one 1).
template <class T>
std::vector<int64_t> require_rows_array(const py::array& a, const char* name, int ndim) {
  require_dtype<T>(a, name);
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) + "-D, got shape " + shape_str(a));
  std::vector<int64_t> st(ndim);
  const int64_t item = static_cast<int64_t>(sizeof(T));
  if (a.size() == 0) {  // nothing is read or written: the C-contiguous strides, whatever NumPy set
    int64_t n = 1;
    for (int i = ndim - 1; i >= 0; --i) st[i] = n, n *= std::max<int64_t>(a.shape(i), 1);
    return st;
  }
  for (int i = 0; i < ndim; ++i) {
    const int64_t b = a.strides(i);
    const bool last = i == ndim - 1;
    if ((last && b != item && a.shape(i) > 1) || b < 0 || b % item != 0)
      throw py::value_error(std::string(name) + " with shape " + shape_str(a) +
                            " must have contiguous rows and non-negative strides (make a copy with "
                            "numpy.ascontiguousarray)");
    st[i] = last ? 1 : b / item;
  }
  return st;
}

// An output buffer of exactly `shape` with contiguous rows (require_rows_array) that is writeable and
// does not overlap itself (each axis' stride at least the span of the axes with smaller strides).
template <class T>
std::vector<int64_t> require_rows_output(const py::array& a, const char* name, std::initializer_list<int64_t> shape) {
  auto st = require_rows_array<T>(a, name, static_cast<int>(shape.size()));
  require_writeable(a, name);
  require_shape(a, name, shape);
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, length) of the axes longer than 1
  for (size_t i = 0; i < st.size(); ++i)
    if (a.shape(i) > 1) dims.push_back({st[i], a.shape(i)});
  std::sort(dims.begin(), dims.end());
  int64_t span = 1;
  for (const auto& d : dims) {
    if (a.size() > 0 && d.first < span)
      throw py::value_error(std::string(name) + " with shape " + shape_str(a) +
                            " overlaps itself (an output must hold each element once)");
    span = d.first * d.second;
  }
  return st;
}

// Window geometry of convolution and pooling (one (height, width) pair per parameter).
using Pair = std::pair<int64_t, int64_t>;
inline std::string pair_str(const Pair& p) { return "(" + std::to_string(p.first) + ", " + std::to_string(p.second) + ")"; }

inline fe::conv::Geometry window_geometry(int64_t C, int64_t H, int64_t W, Pair k, Pair s, Pair p, Pair d, const char* what) {
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

}  // namespace pybind
}  // namespace fe

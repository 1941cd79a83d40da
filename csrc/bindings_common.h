// Argument checks shared by the binding files: every message names the argument, its shape and dtype.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <utility>

namespace fe {
namespace pybind {
namespace py = pybind11;

inline std::string shape_str(const py::array& a) {
  std::ostringstream os;
  os << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) os << (i ? ", " : "") << a.shape(i);
  if (a.ndim() == 1) os << ",";
  os << ")";
  return os.str();
}

inline std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

template <class T>
const char* type_name();
template <>
inline const char* type_name<float>() { return "float32"; }
template <>
inline const char* type_name<double>() { return "float64"; }

template <class T>
void require_dtype(const py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T>>(a))
    throw py::type_error(std::string(name) + " must have dtype " + type_name<T>() + ", got " +
                         dtype_str(a) + " with shape " + shape_str(a) + " (no implicit casts)");
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

}  // namespace pybind
}  // namespace fe

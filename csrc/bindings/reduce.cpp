// Bindings for the full sum (kernels/reduce/reduce.h): a C-contiguous float32 or float64 array of any
// shape, summed with the GIL released; the result comes back as a Python float (a float32 sum widened
// exactly), which the op layer turns into a 0-d array of the input's dtype.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "bindings/common.h"
#include "common/parallel.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

template <class T>
double sum_t(const py::array& x) {
  require_aligned(x, "x");
  if (!(x.flags() & py::array::c_style))
    throw py::value_error("reduce_sum: x with shape " + shape_str(x) +
                          " must be C-contiguous (make a copy with numpy.ascontiguousarray)");
  const auto& k = fe::kernels<fe::reduce::Kernels<T>>();
  const T* p = static_cast<const T*>(x.data());
  const int64_t n = x.size();
  const int nt = fe::get_num_threads();
  py::gil_scoped_release nogil;
  return static_cast<double>(fe::reduce::sum<T>(k, p, n, nt));
}

double reduce_sum(py::array x) { return is_float64(x, "x") ? sum_t<double>(x) : sum_t<float>(x); }

}  // namespace

void bind_reduce(py::module_& m) {
  m.def("reduce_sum", &reduce_sum, py::arg("x").noconvert(),
        "The sum of every element of a C-contiguous float32 or float64 array, in blocks of 2048 whose order "
        "depends only on the length (kernels/reduce/reduce.h): the same bits for any thread count and ISA "
        "level. Returned as a float (a float32 sum exactly).");
}

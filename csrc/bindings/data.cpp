// Bindings for the data pipeline's row gather: the arrays checked (contiguity, dtypes, shapes, no
// aliasing, every index in range, negative ones counted from the end as NumPy does) before the copy
// runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <string>
#include <vector>

#include "bindings/common.h"
#include "kernels/data/gather.h"

namespace py = pybind11;
using namespace fe::pybind;

namespace {

void take_rows(py::array src, py::array idx, py::array out) {
  if (src.ndim() < 1) throw py::value_error("take_rows: src must have a first dimension, got shape ()");
  if (!(src.flags() & py::array::c_style))
    throw py::value_error("take_rows: src with shape " + shape_str(src) + " must be C-contiguous");
  if (src.dtype().kind() == 'O') throw py::type_error("take_rows: src holds Python objects (dtype object)");
  if (!idx.dtype().is(py::dtype::of<int64_t>()) || idx.ndim() != 1)
    throw py::type_error("take_rows: indices must be a 1-D int64 array, got shape " + shape_str(idx) + " dtype " +
                         dtype_str(idx));
  if (!out.dtype().is(src.dtype()))
    throw py::type_error("take_rows: out has dtype " + dtype_str(out) + ", src has " + dtype_str(src));
  bool same = out.ndim() == src.ndim() && out.shape(0) == idx.shape(0);
  for (py::ssize_t d = 1; same && d < src.ndim(); ++d) same = out.shape(d) == src.shape(d);
  if (!same)
    throw py::value_error("take_rows: out has shape " + shape_str(out) + ", expected " +
                          std::to_string(idx.shape(0)) + " rows of src " + shape_str(src));
  if (!(out.flags() & py::array::c_style))
    throw py::value_error("take_rows: out with shape " + shape_str(out) + " must be C-contiguous");
  require_writeable(out, "out");
  require_disjoint({{out, "out"}}, {{src, "src"}, {idx, "indices"}});
  const int64_t rows = src.shape(0), n = idx.shape(0);
  const int64_t row_bytes = rows ? static_cast<int64_t>(src.nbytes()) / rows : 0;
  // the indices, bounds-checked and wrapped (idx's own strides: a strided view of indices is fine)
  std::vector<int64_t> at(static_cast<size_t>(n));
  const char* ib = static_cast<const char*>(idx.data());
  for (int64_t i = 0; i < n; ++i) {
    int64_t k;
    std::memcpy(&k, ib + i * idx.strides(0), sizeof k);  // the index array may be an unaligned view
    if (k < -rows || k >= rows)
      throw py::index_error("take_rows: index " + std::to_string(k) + " is out of bounds for axis 0 with size " +
                            std::to_string(rows));
    at[static_cast<size_t>(i)] = k < 0 ? k + rows : k;
  }
  if (n == 0 || row_bytes == 0) return;
  const char* s = static_cast<const char*>(src.data());
  char* o = static_cast<char*>(out.mutable_data());
  py::gil_scoped_release nogil;
  fe::data::gather_rows(s, row_bytes, at.data(), n, o);
}

}  // namespace

void bind_data(py::module_& m) {
  m.def("take_rows", &take_rows, py::arg("src").noconvert(), py::arg("indices").noconvert(),
        py::arg("out").noconvert(),
        "out[i] = src[indices[i]] for a C-contiguous src of any dtype but object (numpy's src[indices] along "
        "axis 0, negative indices from the end; IndexError for one out of range), the rows copied with the "
        "GIL released.");
}

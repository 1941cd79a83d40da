// NumPy's array data on 64-byte boundaries (numpy_memory.cpp says why and how).
#pragma once

namespace fe {
namespace pybind {

// Installs firstepoch's 64-byte aligned data allocator as NumPy's for the calling thread's context (the
// import's: new Python threads start with NumPy's own). Returns false, changing nothing, where NumPy
// has no allocator API (older than 1.22) or its C-API table is not as expected.
bool align_numpy_allocations();

}  // namespace pybind
}  // namespace fe

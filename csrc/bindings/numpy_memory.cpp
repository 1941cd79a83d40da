// NumPy's array data on 64-byte boundaries (bindings/numpy_memory.h).
//
// NumPy's own allocator returns what malloc returns: 16-byte aligned, and for a large array (glibc's
// mmap, or its heap under FIRSTEPOCH_MALLOC=keep) 16 bytes past a 64-byte line as often as not. Every
// 64-byte vector load of such an array then spans two cache lines. PyTorch's CPU allocator aligns to 64
// bytes. Measured on one core (AVX-512, N = 32, medians of 30, ms, data 64-byte aligned / 16 bytes
// past): 1x1 64 -> 128 stride-2 convolution forward 1.83-2.09 / 2.42-2.48, data gradient 1.91-2.14 /
// 2.71-2.73, weight gradient 2.20-2.27 / 2.44-2.51; 3x3 64 -> 64 forward 11.6-11.7 / 12.6.
//
// NumPy (>= 1.22, NEP 49) lets a process install its own data allocator: a PyDataMem_Handler in a
// capsule named "mem_handler", set with PyDataMem_SetHandler. This one asks malloc (or calloc, realloc)
// for 64 bytes more than the array needs, returns the first 64-byte boundary past the block's start
// and keeps the distance (1 to 64) in the byte before it, for free and realloc to find the block.
// calloc stays calloc (a large np.zeros still gets the OS's zero pages lazily), and arrays of 4 MiB or
// more are marked for transparent huge pages as NumPy's own allocator marks them.
//
// The functions are reached through NumPy's C-API table (the capsule numpy's _multiarray_umath module
// exports as _ARRAY_API), so building firstepoch needs no NumPy headers: the table's slots are fixed
// by NumPy's ABI (304 PyDataMem_SetHandler, 305 PyDataMem_GetHandler since 1.22), and the handler's
// layout is version 1 of NEP 49's struct, copied below.
#include "bindings/numpy_memory.h"

#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace py = pybind11;

namespace fe {
namespace pybind {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kHugeFrom = std::size_t(1) << 22;  // as NumPy's own allocator

// NEP 49, version 1 (numpy/ndarraytypes.h: PyDataMemAllocator, PyDataMem_Handler)
struct DataMemAllocator {
  void* ctx;
  void* (*malloc)(void* ctx, std::size_t size);
  void* (*calloc)(void* ctx, std::size_t nelem, std::size_t elsize);
  void* (*realloc)(void* ctx, void* ptr, std::size_t new_size);
  void (*free)(void* ctx, void* ptr, std::size_t size);
};
struct DataMemHandler {
  char name[127];
  std::uint8_t version;
  DataMemAllocator allocator;
};

void advise_huge(void* p, std::size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (n < kHugeFrom) return;
  const std::uintptr_t page = 4096, a = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
  const std::uintptr_t b = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(page - 1);
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_HUGEPAGE);  // a hint: a refusal changes nothing
#else
  (void)p;
  (void)n;
#endif
}

// the first 64-byte boundary past block (1 to 64 bytes on), with that distance in the byte before it
void* place(void* block) {
  if (!block) return nullptr;
  const std::size_t off = kAlign - reinterpret_cast<std::uintptr_t>(block) % kAlign;
  unsigned char* p = static_cast<unsigned char*>(block) + off;
  p[-1] = static_cast<unsigned char>(off);
  return p;
}

unsigned char* block_of(void* p) {
  unsigned char* q = static_cast<unsigned char*>(p);
  return q - q[-1];
}

void* aligned_malloc(void*, std::size_t size) {
  if (size > SIZE_MAX - kAlign) return nullptr;
  void* p = place(std::malloc(size + kAlign));
  if (p) advise_huge(p, size);
  return p;
}

void* aligned_calloc(void*, std::size_t nelem, std::size_t elsize) {
  if (elsize != 0 && nelem > (SIZE_MAX - kAlign) / elsize) return nullptr;
  const std::size_t size = nelem * elsize;
  void* p = place(std::calloc(size + kAlign, 1));
  if (p) advise_huge(p, size);
  return p;
}

void* aligned_realloc(void* ctx, void* ptr, std::size_t size) {
  if (!ptr) return aligned_malloc(ctx, size);
  if (size > SIZE_MAX - kAlign) return nullptr;
  const std::size_t old_off = static_cast<unsigned char*>(ptr)[-1];
  unsigned char* block = static_cast<unsigned char*>(std::realloc(block_of(ptr), size + kAlign));
  if (!block) return nullptr;  // the old block is untouched, as realloc's contract
  const std::size_t off = kAlign - reinterpret_cast<std::uintptr_t>(block) % kAlign;
  // realloc kept the bytes at the old distance from the block's start; move them to the new boundary
  // (size bytes from either distance stay inside the size + 64 the block holds)
  if (off != old_off) std::memmove(block + off, block + old_off, size);
  block[off - 1] = static_cast<unsigned char>(off);
  advise_huge(block + off, size);
  return block + off;
}

void aligned_free(void*, void* ptr, std::size_t) {
  if (ptr) std::free(block_of(ptr));
}

DataMemHandler g_handler = {"firstepoch_aligned_64", 1,
                            {nullptr, aligned_malloc, aligned_calloc, aligned_realloc, aligned_free}};

}  // namespace

bool align_numpy_allocations() {
  py::object api;
  for (const char* mod : {"numpy._core._multiarray_umath", "numpy.core._multiarray_umath"}) {
    try {
      api = py::module_::import(mod).attr("_ARRAY_API");
      break;
    } catch (py::error_already_set&) {
    }
  }
  if (!api || !PyCapsule_CheckExact(api.ptr())) return false;
  void** table = static_cast<void**>(PyCapsule_GetPointer(api.ptr(), nullptr));
  if (!table) {
    PyErr_Clear();
    return false;
  }
  // NumPy older than 1.22 has no handler API (its table ends before slot 304)
  try {
    py::module_ np = py::module_::import("numpy");
    if (!np.attr("lib").attr("NumpyVersion")(np.attr("__version__")).attr("__ge__")("1.22.0").cast<bool>())
      return false;
  } catch (py::error_already_set&) {
    return false;
  }
  using SetHandler = PyObject* (*)(PyObject*);
  using GetHandler = PyObject* (*)();
  auto get = reinterpret_cast<GetHandler>(table[305]);
  auto set = reinterpret_cast<SetHandler>(table[304]);
  // the slot holds what it should: the handler in force is a "mem_handler" capsule
  py::object current = py::reinterpret_steal<py::object>(get());
  if (!current || !PyCapsule_IsValid(current.ptr(), "mem_handler")) {
    PyErr_Clear();
    return false;
  }
  // the capsule lives as long as the process (arrays made with this handler keep a reference to it too)
  PyObject* capsule = PyCapsule_New(&g_handler, "mem_handler", nullptr);
  if (!capsule) {
    PyErr_Clear();
    return false;
  }
  PyObject* old = set(capsule);  // (the reference made here is never released)
  if (!old) {
    PyErr_Clear();
    return false;
  }
  Py_DECREF(old);
  return true;
}

}  // namespace pybind
}  // namespace fe

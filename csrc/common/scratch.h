// The one scratch allocator of the kernels: 64-byte-aligned memory that drivers take per call and that
// the calling thread keeps for the next call of the same shape (fresh pages cost a fault and a clearing
// each). Two shapes of use: a Workspace (one call's arrays, carved from one block) and thread_buffer
// (GEMM's per-thread packing buffers). Contents are never initialised: every user writes before reading.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <new>

namespace fe {

// The working memory of one forward or backward call, kept by the calling thread between calls up to
// kKeepBytes: a training loop calls the same shapes again and again, and fresh pages cost a fault
// and a clearing each (measured here: about 4 ms of a 7 ms LSTM forward at the benchmark's shape
// when its 13 MB were all fresh). Larger needs get a buffer of their own, freed on return.
class Workspace {
 public:
  explicit Workspace(int64_t bytes) {
    constexpr int64_t kKeepBytes = int64_t(256) << 20;
    struct Kept {
      void* ptr = nullptr;
      int64_t bytes = 0;
      bool busy = false;
      ~Kept() { std::free(ptr); }
    };
    thread_local Kept kept;
    bytes = (bytes + 4095) / 4096 * 4096 + 4096;
    if (bytes <= kKeepBytes && !kept.busy) {
      if (bytes > kept.bytes) {
        std::free(kept.ptr);
        kept.ptr = std::aligned_alloc(64, static_cast<size_t>(bytes));
        kept.bytes = kept.ptr ? bytes : 0;
        if (!kept.ptr) throw std::bad_alloc();
      }
      kept.busy = true;
      busy_ = &kept.busy;
      base_ = static_cast<char*>(kept.ptr);
    } else {
      own_.reset(static_cast<char*>(std::aligned_alloc(64, static_cast<size_t>(bytes))));
      if (!own_) throw std::bad_alloc();
      base_ = own_.get();
    }
  }
  ~Workspace() {
    if (busy_) *busy_ = false;
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  // The next `count` elements of T, 64-byte aligned (count may be 0).
  template <class T>
  T* take(int64_t count) {
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += (count * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64;
    return p;
  }
  // The bytes `take` will hand out for these element counts.
  template <class T>
  static int64_t bytes_for(std::initializer_list<int64_t> counts) {
    int64_t b = 0;
    for (int64_t c : counts) b += (c * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64;
    return b;
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> own_;
  char* base_ = nullptr;
  bool* busy_ = nullptr;
  int64_t used_ = 0;
};

// Slot `slot` (0, 1 or 2) of the calling thread's growable, 64-byte-aligned buffers, at least `count`
// elements, kept for the thread's lifetime (OpenMP threads persist, so do these): GEMM's packing
// buffers (slots 0 and 1), asked for in every call by every thread, and im2col's phase rows (slot 2).
// Contents are not kept between calls.
template <class T>
T* thread_buffer(int slot, int64_t count) {
  struct Buf {
    void* ptr = nullptr;
    int64_t bytes = 0;
    ~Buf() { std::free(ptr); }
  };
  thread_local Buf bufs[3];
  Buf& b = bufs[slot];
  const int64_t need = count * static_cast<int64_t>(sizeof(T));
  if (need > b.bytes) {
    std::free(b.ptr);
    const int64_t rounded = (need + 4095) / 4096 * 4096;
    b.ptr = std::aligned_alloc(64, static_cast<size_t>(rounded));
    if (!b.ptr) {
      b.bytes = 0;
      throw std::bad_alloc();
    }
    b.bytes = rounded;
  }
  return static_cast<T*>(b.ptr);
}

}  // namespace fe

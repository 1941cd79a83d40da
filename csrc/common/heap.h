// The process's malloc policy for large buffers (every NumPy array and kernel workspace comes from malloc).
//
// glibc serves a request of 128 KiB or more with its own mmap, or (after its dynamic threshold has
// risen) from the heap, whose free top it hands back to the OS as soon as it exceeds twice that
// threshold. A training step allocates its activations, keeps them until the backward pass and then
// frees them all at once: the heap's top is returned to the OS at the end of every step and faulted
// back in, page by page and zero-filled, in the next one. The GPT step of bench/gpt.py (4x128, batch
// 32) took ~15,000 page faults a step that way, 152 ms a step against 125 ms without them.
//
// keep_freed_memory() sets glibc so that requests up to kKeepMmapMax come from the heap and freed heap
// memory stays with the process (for the next step) until the free top exceeds kKeepTrimAbove: as
// PyTorch's caching allocator keeps freed GPU memory, though here malloc itself does the reuse. The
// process's resident size then stays at its peak. Larger requests are still mmapped and unmapped.
#pragma once
#include <cstdint>

namespace fe {

// glibc's largest mmap threshold on a 64-bit target (DEFAULT_MMAP_THRESHOLD_MAX)
constexpr int64_t kKeepMmapMax = int64_t(32) << 20;
// a free heap top larger than this is still trimmed (returned to the OS)
constexpr int64_t kKeepTrimAbove = int64_t(1) << 30;

// Applies the policy above. Returns true where it took effect (glibc); false where malloc is not
// glibc's or refused the settings (the process's malloc is left as it was).
bool keep_freed_memory();

// Hands free heap memory back to the OS now (glibc's malloc_trim(0)); true if any was returned.
bool release_free_memory();

}  // namespace fe

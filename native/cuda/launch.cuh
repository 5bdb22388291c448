// Shared launch arithmetic for the element-wise kernels: 1-D grids of 256
// threads, grid-stride loops over size_t indices.
#pragma once
#include <cstddef>

namespace xarxa {
namespace cuda {

constexpr int kThreads = 256;

// Enough blocks to cover n with one element per thread, capped (the kernels
// loop with a grid stride past the cap).
inline unsigned blocks_for(size_t n) {
  size_t b = (n + kThreads - 1) / kThreads;
  if (b == 0) b = 1;
  if (b > 65536) b = 65536;
  return static_cast<unsigned>(b);
}

// Exactly one thread per item (no grid stride): for kernels that reduce per block.
inline unsigned blocks_exact(size_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

}  // namespace cuda
}  // namespace xarxa

#define XARXA_GRID_STRIDE(i, n)                                                      \
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<size_t>(gridDim.x) * blockDim.x)

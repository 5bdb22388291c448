// Device copies of core/rng.h's counter-based generator, with identical
// arithmetic (64-bit integer mixing, then 24 bits scaled by 2^-24, both exact),
// so CUDA dropout masks are bitwise equal to the CPU's.
#pragma once
#include <cstdint>

namespace xarxa {
namespace cuda {

__device__ __forceinline__ uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

__device__ __forceinline__ float uniform01(uint64_t seed, uint64_t index) {
  return static_cast<float>(mix64(seed ^ mix64(index)) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace cuda
}  // namespace xarxa

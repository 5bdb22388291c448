// Counter-based random numbers: the value for (seed, index) never depends on
// the order in which values are drawn, so CPU threads and CUDA threads draw
// the same numbers (bitwise-equal dropout masks on both backends).
#pragma once
#include <cstdint>

namespace xarxa {

// SplitMix64 finaliser: a good 64-bit mix of a 64-bit counter.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) with 24 random bits (exact in float32).
inline float uniform01(uint64_t seed, uint64_t index) {
  return static_cast<float>(mix64(seed ^ mix64(index)) >> 40) * (1.0f / 16777216.0f);
}

// A small sequential generator for host-side work (weight init, shuffling).
class Rng {
 public:
  explicit Rng(uint64_t seed) : seed_(seed) {}
  uint64_t next() { return mix64(seed_ + 0x9E3779B97F4A7C15ull * (++counter_)); }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
  // Unbiased integer in [0, n).
  uint64_t below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do r = next(); while (r >= limit);
    return r % n;
  }

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

}  // namespace xarxa

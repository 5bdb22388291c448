// GEMM throughput of xarxa's CPU sgemm, against the machine's peak.
//   bash bench/tools/gemm-bench.sh        (builds against build/libxarxa_core.a)
// Prints GFLOP/s for square problems and for the shapes the two reference
// models actually run (batch 128), on 1 thread and on the whole pool, plus
// an estimate of the core clock (a chain of dependent integer adds retires
// one per cycle) and the FP32 peak it implies.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/thread_pool.h"

using namespace xarxa;
using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One dependent add per cycle: the loop's rate is the clock.
static double estimate_ghz() {
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    long x = 0;
    const long iters = 200000000;
    auto t0 = Clock::now();
    for (long i = 0; i < iters; i++) asm volatile("add $1, %0" : "+r"(x));
    double s = seconds_since(t0);
    best = std::max(best, iters / s / 1e9);
  }
  return best;
}

// Register-only FMA loop: 16 independent 16-lane chains (enough to cover the
// FMA latency on two pipes): the FP32 rate this core really delivers.
__attribute__((target("avx512f,fma"))) static double fma_loop(long iters) {
  typedef float v16 __attribute__((vector_size(64)));
  const v16 a = (v16){} + 0.999f, b = (v16){} + 1e-4f;
  v16 c0 = a, c1 = b, c2 = a + b, c3 = a - b, c4 = a * b, c5 = a + a, c6 = b + b, c7 = a * a;
  v16 c8 = c0 + 1, c9 = c1 + 1, c10 = c2 + 1, c11 = c3 + 1, c12 = c4 + 1, c13 = c5 + 1, c14 = c6 + 1, c15 = c7 + 1;
  for (long it = 0; it < iters; it++) {
    c0 = c0 * a + b; c1 = c1 * a + b; c2 = c2 * a + b; c3 = c3 * a + b;
    c4 = c4 * a + b; c5 = c5 * a + b; c6 = c6 * a + b; c7 = c7 * a + b;
    c8 = c8 * a + b; c9 = c9 * a + b; c10 = c10 * a + b; c11 = c11 * a + b;
    c12 = c12 * a + b; c13 = c13 * a + b; c14 = c14 * a + b; c15 = c15 * a + b;
  }
  v16 s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15;
  return s[0];
}

static double measured_peak(int threads) {
  const long iters = 30000000;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 1; t < threads; t++) ts.emplace_back([&] { fma_loop(iters); });
    volatile double sink = fma_loop(iters);
    (void)sink;
    for (auto& t : ts) t.join();
    best = std::max(best, 2.0 * 16 * 16 * iters * threads / seconds_since(t0) / 1e9);
  }
  return best;
}

struct Shape {
  const char* what;
  bool ta, tb;
  int m, n, k;
};

static double bench(ThreadPool* pool, const Shape& s, double min_seconds = 0.3) {
  int lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
  std::vector<float> a((size_t)s.m * s.k), b((size_t)s.k * s.n), c((size_t)s.m * s.n);
  for (auto& v : a) v = (float)(rand() % 100) / 100.0f;
  for (auto& v : b) v = (float)(rand() % 100) / 100.0f;
  auto call = [&] {
    if (pool) sgemm(*pool, s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
    else sgemm_serial(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
  };
  for (int i = 0; i < 3; i++) call();
  long reps = 0;
  auto t0 = Clock::now();
  double t;
  do {
    call();
    reps++;
  } while ((t = seconds_since(t0)) < min_seconds);
  return 2.0 * s.m * s.n * s.k * reps / t / 1e9;
}

int main(int argc, char** argv) {
  int threads = default_thread_count();
  ThreadPool pool(threads);
  double ghz = estimate_ghz();
  double peak1 = ghz * 64.0;  // AVX-512: 2 FMA pipes x 16 lanes x 2 flops per cycle
  std::printf("kernel: %s, threads: %d, clock estimate: %.2f GHz\n", sgemm_kernel_name(), threads, ghz);
  std::printf("FP32 peak (2 x 512-bit FMA/cycle): %.0f GFLOP/s per core, %.0f GFLOP/s on %d cores\n", peak1,
              peak1 * threads, threads);
  const double fma1 = measured_peak(1), fmap = measured_peak(threads);
  std::printf("measured FMA-only loop: %.0f GFLOP/s on 1 core, %.0f GFLOP/s on %d threads\n\n", fma1, fmap, threads);
  const Shape shapes[] = {
      {"square 256", false, false, 256, 256, 256},
      {"square 512", false, false, 512, 512, 512},
      {"square 1024", false, false, 1024, 1024, 1024},
      {"square 2048", false, false, 2048, 2048, 2048},
      {"MNIST dense1 forward x@W", false, false, 128, 32, 784},
      {"MNIST dense1 dW = x^T@dy", true, false, 784, 32, 128},
      {"CNN conv1 forward (im2col)", false, false, 32768, 32, 12},
      {"CNN conv1 dW (im2col^T@dy)", true, false, 12, 32, 32768},
      {"CNN conv2 forward (im2col)", false, false, 8192, 16, 128},
      {"CNN conv2 dW", true, false, 128, 16, 8192},
      {"CNN conv2 dX (dy@W^T)", false, true, 8192, 128, 16},
      {"CNN dense1 forward", false, false, 128, 16, 1024},
  };
  std::printf("%-30s %6s %6s %6s %10s %10s %8s %8s\n", "shape", "m", "n", "k", "1 thread", "pool", "%peak", "%FMA");
  for (const Shape& s : shapes) {
    double g1 = bench(nullptr, s), gp = bench(&pool, s);
    std::printf("%-30s %6d %6d %6d %10.1f %10.1f %7.0f%% %7.0f%%\n", s.what, s.m, s.n, s.k, g1, gp, 100.0 * gp / (peak1 * threads),
                100.0 * gp / fmap);
  }
  return 0;
}

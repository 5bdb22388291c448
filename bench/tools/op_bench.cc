// Per-op times of the CPU backend for one training step of the notebook CNN
// (batch 128) and the MNIST dense net: min over repetitions, so it is robust
// to a busy machine.   bash bench/tools/op-bench.sh [batch]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/gemm.h"
#include "cpu/thread_pool.h"

using namespace xarxa;
using Clock = std::chrono::steady_clock;

static std::vector<float> randv(size_t n, unsigned seed) {
  std::mt19937 r(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = u(r);
  return v;
}

static double total_us = 0;
static void time_op(const char* name, const std::function<void()>& fn, double flops = 0) {
  for (int i = 0; i < 3; i++) fn();
  double best = 1e30;
  for (int rep = 0; rep < 40; rep++) {
    auto t0 = Clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  total_us += best;
  if (flops > 0) std::printf("  %-34s %9.1f us  %6.1f GFLOP/s\n", name, best, flops / best / 1e3);
  else std::printf("  %-34s %9.1f us\n", name, best);
}

static WindowParams same(int batch, int h, int w, int c, int oc, int k, int s) {
  WindowParams p;
  p.batch = batch; p.in_h = h; p.in_w = w; p.in_c = c; p.out_c = oc; p.k_h = p.k_w = k; p.stride_h = p.stride_w = s;
  p.out_h = (h + s - 1) / s; p.out_w = (w + s - 1) / s;
  p.pad_top = std::max(0, (p.out_h - 1) * s + k - h) / 2;
  p.pad_left = std::max(0, (p.out_w - 1) * s + k - w) / 2;
  return p;
}

// The alternative to the backend's implicit im2col: an explicit col buffer
// (as the original backend did), then the same GEMM.
static void im2col(ThreadPool& pool, const WindowParams& p, const float* x, float* col) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  pool.parallel_for((long)p.batch * p.out_h * p.out_w, 64, [&](int, long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      int ox = r % p.out_w, oy = (r / p.out_w) % p.out_h;
      long b = r / ((long)p.out_w * p.out_h);
      float* dst = col + r * kdim;
      for (int ky = 0; ky < p.k_h; ky++)
        for (int kx = 0; kx < p.k_w; kx++) {
          int iy = oy * p.stride_h + ky - p.pad_top, ix = ox * p.stride_w + kx - p.pad_left;
          float* cell = dst + (ky * p.k_w + kx) * p.in_c;
          if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) std::fill(cell, cell + p.in_c, 0.0f);
          else std::copy_n(x + ((b * p.in_h + iy) * p.in_w + ix) * p.in_c, p.in_c, cell);
        }
    }
  });
}

int main(int argc, char** argv) {
  const int B = argc > 1 ? std::atoi(argv[1]) : 128;
  CpuBackend be(default_thread_count());
  std::printf("batch %d, %d threads, %s\n", B, be.info().threads, be.info().gemm.c_str());

  std::printf("CNN (CIFAR-10 shapes):\n");
  WindowParams c1 = same(B, 32, 32, 3, 32, 2, 2), p1 = same(B, 16, 16, 32, 32, 2, 1);
  WindowParams c2 = same(B, 16, 16, 32, 16, 2, 2), p2 = same(B, 8, 8, 16, 16, 2, 1);
  auto x = randv((size_t)B * 32 * 32 * 3, 1), w1 = randv(2 * 2 * 3 * 32, 2), w2 = randv(2 * 2 * 32 * 16, 3);
  std::vector<float> a1((size_t)B * 16 * 16 * 32), q1(a1.size()), a2((size_t)B * 8 * 8 * 16), q2(a2.size());
  auto g1 = randv(a1.size(), 4), g2 = randv(a2.size(), 5);
  std::vector<float> dq1(a1.size()), dw1(w1.size()), dw2(w2.size());
  be.conv2d_forward(c1, x.data(), w1.data(), a1.data());
  be.activation_forward(Activation::Relu, a1.data(), a1.data(), B * 256, 32);
  double f1 = 2.0 * B * 256 * 32 * 12, f2 = 2.0 * B * 64 * 16 * 128;
  time_op("conv1 forward", [&] { be.conv2d_forward(c1, x.data(), w1.data(), a1.data()); }, f1);
  {
    ThreadPool pool(default_thread_count());
    std::vector<float> col((size_t)B * 256 * 128);
    time_op("(conv1 fwd, explicit im2col+GEMM)", [&] {
      im2col(pool, c1, x.data(), col.data());
      sgemm(pool, false, false, B * 256, 32, 12, 1, col.data(), 12, w1.data(), 32, 0, a1.data(), 32);
    }, f1);
    time_op("(conv1 dW, explicit im2col+GEMM)", [&] {
      im2col(pool, c1, x.data(), col.data());
      sgemm(pool, true, false, 12, 32, B * 256, 1, col.data(), 12, g1.data(), 32, 0, dw1.data(), 32);
    }, f1);
    be.pool_forward(PoolKind::Max, p1, a1.data(), q1.data());
    time_op("(conv2 fwd, explicit im2col+GEMM)", [&] {
      im2col(pool, c2, q1.data(), col.data());
      sgemm(pool, false, false, B * 64, 16, 128, 1, col.data(), 128, w2.data(), 16, 0, a2.data(), 16);
    }, f2);
    time_op("(conv2 dW, explicit im2col+GEMM)", [&] {
      im2col(pool, c2, q1.data(), col.data());
      sgemm(pool, true, false, 128, 16, B * 64, 1, col.data(), 128, g2.data(), 16, 0, dw2.data(), 16);
    }, f2);
    total_us = 0;
  }
  time_op("conv1 backward filter", [&] { be.conv2d_backward_filter(c1, x.data(), g1.data(), dw1.data()); }, f1);
  time_op("pool1 forward", [&] { be.pool_forward(PoolKind::Max, p1, a1.data(), q1.data()); });
  time_op("conv2 forward", [&] { be.conv2d_forward(c2, q1.data(), w2.data(), a2.data()); }, f2);
  time_op("pool2 forward", [&] { be.pool_forward(PoolKind::Max, p2, a2.data(), q2.data()); });
  time_op("pool2 backward", [&] { be.pool_backward(PoolKind::Max, p2, a2.data(), q2.data(), g2.data(), dq1.data()); });
  time_op("conv2 backward filter", [&] { be.conv2d_backward_filter(c2, q1.data(), g2.data(), dw2.data()); }, f2);
  time_op("conv2 backward data", [&] { be.conv2d_backward_data(c2, g2.data(), w2.data(), dq1.data()); }, f2);
  time_op("pool1 backward", [&] { be.pool_backward(PoolKind::Max, p1, a1.data(), q1.data(), g1.data(), dq1.data()); });
  time_op("conv1 backward filter", [&] { be.conv2d_backward_filter(c1, x.data(), g1.data(), dw1.data()); }, f1);
  std::vector<float> g1c = g1;
  time_op("(relu1 backward, in place)", [&] { be.activation_backward(Activation::Relu, a1.data(), g1c.data(), g1c.data(), B * 256, 32); });
  time_op("(bias1 add)", [&] { be.bias_add(a1.data(), w1.data(), B * 256, 32); });
  time_op("(bias1 grad)", [&] { be.bias_grad(dw1.data(), g1.data(), B * 256, 32); });
  std::printf("  total %.0f us per step of these ops\n", total_us);

  total_us = 0;
  std::printf("MNIST dense 784-32-16-10:\n");
  auto mx = randv((size_t)B * 784, 6), W1 = randv(784 * 32, 7), W2 = randv(32 * 16, 8), W3 = randv(16 * 10, 9);
  std::vector<float> h1((size_t)B * 32), h2((size_t)B * 16), o((size_t)B * 10), d1(h1.size()), d2(h2.size());
  std::vector<float> dW1(W1.size()), dW2(W2.size()), dW3(W3.size());
  auto go = randv(o.size(), 10);
  time_op("dense1 forward 128x784 @ 784x32", [&] { be.gemm(false, false, B, 32, 784, 1, mx.data(), 784, W1.data(), 32, 0, h1.data(), 32); }, 2.0 * B * 784 * 32);
  time_op("dense2 forward", [&] { be.gemm(false, false, B, 16, 32, 1, h1.data(), 32, W2.data(), 16, 0, h2.data(), 16); }, 2.0 * B * 32 * 16);
  time_op("dense3 forward", [&] { be.gemm(false, false, B, 10, 16, 1, h2.data(), 16, W3.data(), 10, 0, o.data(), 10); }, 2.0 * B * 16 * 10);
  time_op("dense3 dW", [&] { be.gemm(true, false, 16, 10, B, 1, h2.data(), 16, go.data(), 10, 0, dW3.data(), 10); }, 2.0 * B * 16 * 10);
  time_op("dense3 dX", [&] { be.gemm(false, true, B, 16, 10, 1, go.data(), 10, W3.data(), 10, 0, d2.data(), 16); }, 2.0 * B * 16 * 10);
  time_op("dense2 dW", [&] { be.gemm(true, false, 32, 16, B, 1, h1.data(), 32, d2.data(), 16, 0, dW2.data(), 16); }, 2.0 * B * 32 * 16);
  time_op("dense2 dX", [&] { be.gemm(false, true, B, 32, 16, 1, d2.data(), 16, W2.data(), 16, 0, d1.data(), 32); }, 2.0 * B * 32 * 16);
  time_op("dense1 dW 784x128 @ 128x32", [&] { be.gemm(true, false, 784, 32, B, 1, mx.data(), 784, d1.data(), 32, 0, dW1.data(), 32); }, 2.0 * B * 784 * 32);
  std::printf("  total %.0f us per step of these ops\n", total_us);
  return 0;
}

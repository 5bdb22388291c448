// Max and average pooling over NHWC with TensorFlow padding, own kernels:
// one thread per output cell (b, oy, ox, c), channels fastest so a warp reads
// consecutive channels. The window is clipped to the image: padded cells take
// no part (max over real cells, average divides by their count), exactly as
// the CPU reference. Backward scatters into dx (zeroed by the caller) with
// atomicAdd, since windows may overlap.
#include <math_constants.h>

#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace xarxa {
namespace cuda {
namespace {

struct Window {
  int ya, yb, xa, xb;  // real rows [ya, yb) and columns [xa, xb) of the window
  size_t b;            // image in the batch
  int c;               // channel
};

__device__ Window window_of(const WindowParams& p, size_t i) {
  const int C = p.in_c;
  Window w;
  w.c = static_cast<int>(i % C);
  size_t t = i / C;
  const int ox = static_cast<int>(t % p.out_w);
  t /= p.out_w;
  const int oy = static_cast<int>(t % p.out_h);
  w.b = t / p.out_h;
  const int y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
  w.ya = max(y0, 0);
  w.yb = min(y0 + p.k_h, p.in_h);
  w.xa = max(x0, 0);
  w.xb = min(x0 + p.k_w, p.in_w);
  return w;
}

__device__ __forceinline__ size_t input_index(const WindowParams& p, const Window& w, int iy, int ix) {
  return ((w.b * p.in_h + iy) * static_cast<size_t>(p.in_w) + ix) * p.in_c + w.c;
}

__global__ void max_pool_forward_kernel(WindowParams p, const float* x, float* y, size_t n) {
  XARXA_GRID_STRIDE(i, n) {
    const Window w = window_of(p, i);
    float acc = -CUDART_INF_F;
    for (int iy = w.ya; iy < w.yb; iy++)
      for (int ix = w.xa; ix < w.xb; ix++) {
        const float v = x[input_index(p, w, iy, ix)];
        acc = v > acc ? v : acc;
      }
    y[i] = acc;
  }
}

__global__ void avg_pool_forward_kernel(WindowParams p, const float* x, float* y, size_t n) {
  XARXA_GRID_STRIDE(i, n) {
    const Window w = window_of(p, i);
    float acc = 0.0f;
    for (int iy = w.ya; iy < w.yb; iy++)
      for (int ix = w.xa; ix < w.xb; ix++) acc += x[input_index(p, w, iy, ix)];
    const int count = (w.yb - w.ya) * (w.xb - w.xa);
    y[i] = count > 0 ? acc / count : 0.0f;
  }
}

// The gradient goes to the first maximum in row-major window order (recomputed from x).
__global__ void max_pool_backward_kernel(WindowParams p, const float* x, const float* dy, float* dx, size_t n) {
  XARXA_GRID_STRIDE(i, n) {
    const Window w = window_of(p, i);
    long long best = -1;
    float best_v = -CUDART_INF_F;
    for (int iy = w.ya; iy < w.yb; iy++)
      for (int ix = w.xa; ix < w.xb; ix++) {
        const size_t k = input_index(p, w, iy, ix);
        if (best < 0 || x[k] > best_v) {
          best = static_cast<long long>(k);
          best_v = x[k];
        }
      }
    if (best >= 0) atomicAdd(dx + best, dy[i]);
  }
}

__global__ void avg_pool_backward_kernel(WindowParams p, const float* dy, float* dx, size_t n) {
  XARXA_GRID_STRIDE(i, n) {
    const Window w = window_of(p, i);
    const int count = (w.yb - w.ya) * (w.xb - w.xa);
    if (count == 0) continue;
    const float share = dy[i] / count;
    for (int iy = w.ya; iy < w.yb; iy++)
      for (int ix = w.xa; ix < w.xb; ix++) atomicAdd(dx + input_index(p, w, iy, ix), share);
  }
}

size_t output_cells(const WindowParams& p) {
  if (p.batch <= 0 || p.out_h <= 0 || p.out_w <= 0 || p.in_c <= 0) return 0;
  return static_cast<size_t>(p.batch) * p.out_h * p.out_w * p.in_c;
}

}  // namespace

void launch_pool_forward(cudaStream_t s, PoolKind kind, const WindowParams& p, const float* x, float* y) {
  const size_t n = output_cells(p);
  if (n == 0) return;
  if (kind == PoolKind::Max) max_pool_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, x, y, n);
  else avg_pool_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, x, y, n);
}

void launch_pool_backward(cudaStream_t s, PoolKind kind, const WindowParams& p, const float* x, const float* dy,
                          float* dx) {
  const size_t n = output_cells(p);
  if (n == 0) return;
  if (kind == PoolKind::Max) max_pool_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, x, dy, dx, n);
  else avg_pool_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, dy, dx, n);
}

}  // namespace cuda
}  // namespace xarxa

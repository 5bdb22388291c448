// Max and average pooling over NHWC with TensorFlow padding, own kernels,
// channels fastest so a warp reads consecutive channels. The window is clipped
// to the image: padded cells take no part (max over real cells, average
// divides by their count), exactly as the CPU reference. Forward: one thread
// per output cell (b, oy, ox, c). Backward: one thread per input cell, which
// gathers from every window that holds it, in (oy, ox) order: no atomics where
// windows overlap, so dx is the same on every run, and the same float
// additions in the same order as the CPU reference. (Max pooling over windows
// larger than 2x2 finds each window's maximum once first, into scratch.)
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

// The window of output cell (oy, ox) for image b, channel c.
__device__ Window window_at(const WindowParams& p, size_t b, int oy, int ox, int c) {
  Window w;
  w.b = b;
  w.c = c;
  const int y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
  w.ya = max(y0, 0);
  w.yb = min(y0 + p.k_h, p.in_h);
  w.xa = max(x0, 0);
  w.xb = min(x0 + p.k_w, p.in_w);
  return w;
}

// The window of output cell i (b, oy, ox, c in NHWC order).
__device__ Window window_of(const WindowParams& p, size_t i) {
  const int c = static_cast<int>(i % p.in_c);
  size_t t = i / p.in_c;
  const int ox = static_cast<int>(t % p.out_w);
  t /= p.out_w;
  const int oy = static_cast<int>(t % p.out_h);
  return window_at(p, t / p.out_h, oy, ox, c);
}

// The output positions [first, last] along one axis whose windows hold input position `in`.
__device__ void windows_over(int in, int pad, int k, int stride, int out, int& first, int& last) {
  const int t = in + pad;  // the window of output o starts at o * stride - pad
  const int lo = t - k + 1;
  first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  last = min(t / stride, out - 1);
}

// An input cell (b, iy, ix, c) and the output cells whose windows hold it.
struct Gather {
  size_t b;
  int iy, ix, c;
  int oy0, oy1, ox0, ox1;  // [oy0, oy1] x [ox0, ox1]
};

__device__ Gather gather_of(const WindowParams& p, size_t i) {
  Gather g;
  g.c = static_cast<int>(i % p.in_c);
  size_t t = i / p.in_c;
  g.ix = static_cast<int>(t % p.in_w);
  t /= p.in_w;
  g.iy = static_cast<int>(t % p.in_h);
  g.b = t / p.in_h;
  windows_over(g.iy, p.pad_top, p.k_h, p.stride_h, p.out_h, g.oy0, g.oy1);
  windows_over(g.ix, p.pad_left, p.k_w, p.stride_w, p.out_w, g.ox0, g.ox1);
  return g;
}

__device__ __forceinline__ size_t output_index(const WindowParams& p, size_t b, int oy, int ox, int c) {
  return ((b * p.out_h + oy) * static_cast<size_t>(p.out_w) + ox) * p.in_c + c;
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

// The first maximum of a window in row-major order, as iy * in_w + ix (-1 for an empty window).
__device__ int window_argmax(const WindowParams& p, const Window& w, const float* x) {
  int best = -1;
  float best_v = -CUDART_INF_F;
  for (int iy = w.ya; iy < w.yb; iy++)
    for (int ix = w.xa; ix < w.xb; ix++) {
      const float v = x[input_index(p, w, iy, ix)];
      if (best < 0 || v > best_v) {
        best = iy * p.in_w + ix;
        best_v = v;
      }
    }
  return best;
}

// The sum, over the windows that hold input cell g in (oy, ox) order, of what
// each passes back to it (share(oy, ox)): the CPU's additions in the CPU's order.
template <typename Share>
__device__ float gather(const Gather& g, Share share) {
  float acc = 0.0f;
  for (int oy = g.oy0; oy <= g.oy1; oy++)
    for (int ox = g.ox0; ox <= g.ox1; ox++) acc += share(oy, ox);
  return acc;
}

// Each window's gradient goes to its first maximum, recomputed here from x for every
// window that holds the cell: the small windows' way (2x2: 16 reads per cell, one kernel).
__global__ void max_pool_backward_kernel(WindowParams p, const float* x, const float* dy, float* dx, size_t n) {
  XARXA_GRID_STRIDE(i, n) {
    const Gather g = gather_of(p, i);
    const int me = g.iy * p.in_w + g.ix;
    dx[i] = gather(g, [&](int oy, int ox) {
      return window_argmax(p, window_at(p, g.b, oy, ox, g.c), x) == me ? dy[output_index(p, g.b, oy, ox, g.c)] : 0.0f;
    });
  }
}

// Larger windows: each window's first maximum once (one thread per output cell) ...
__global__ void max_pool_argmax_kernel(WindowParams p, const float* x, int* arg, size_t n) {
  XARXA_GRID_STRIDE(i, n) { arg[i] = window_argmax(p, window_of(p, i), x); }
}

// ... then each input cell gathers from the windows whose maximum it is.
__global__ void max_pool_backward_gather_kernel(WindowParams p, const int* arg, const float* dy, float* dx, size_t n) {
  XARXA_GRID_STRIDE(i, n) {
    const Gather g = gather_of(p, i);
    const int me = g.iy * p.in_w + g.ix;
    dx[i] = gather(g, [&](int oy, int ox) {
      const size_t o = output_index(p, g.b, oy, ox, g.c);
      return arg[o] == me ? dy[o] : 0.0f;
    });
  }
}

// Each window passes dy / (its count of real cells) to every real cell.
__global__ void avg_pool_backward_kernel(WindowParams p, const float* dy, float* dx, size_t n) {
  XARXA_GRID_STRIDE(i, n) {
    const Gather g = gather_of(p, i);
    dx[i] = gather(g, [&](int oy, int ox) {
      const Window w = window_at(p, g.b, oy, ox, g.c);
      const int count = (w.yb - w.ya) * (w.xb - w.xa);  // > 0: it holds (iy, ix)
      return dy[output_index(p, g.b, oy, ox, g.c)] / count;
    });
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

size_t pool_backward_scratch_bytes(PoolKind kind, const WindowParams& p) {
  if (kind != PoolKind::Max || p.k_h * p.k_w <= kMaxPoolRecomputeCells) return 0;
  return sizeof(int) * output_cells(p);
}

void launch_pool_backward(cudaStream_t s, PoolKind kind, const WindowParams& p, const float* x, const float* dy,
                          float* dx, int* argmax_scratch) {
  if (p.batch <= 0 || p.in_h <= 0 || p.in_w <= 0 || p.in_c <= 0) return;
  const size_t n = static_cast<size_t>(p.batch) * p.in_h * p.in_w * p.in_c;  // one thread per input cell
  if (kind == PoolKind::Average) {
    avg_pool_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, dy, dx, n);
  } else if (pool_backward_scratch_bytes(kind, p) == 0) {
    max_pool_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, x, dy, dx, n);
  } else {
    const size_t outputs = output_cells(p);
    if (outputs > 0) max_pool_argmax_kernel<<<blocks_for(outputs), kThreads, 0, s>>>(p, x, argmax_scratch, outputs);
    max_pool_backward_gather_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, argmax_scratch, dy, dx, n);
  }
}

}  // namespace cuda
}  // namespace xarxa

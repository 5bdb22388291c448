// Element-wise and data-movement kernels. The arithmetic mirrors the CPU
// reference (native/cpu/cpu_backend.cc) expression by expression; the target
// is compiled with --fmad=false so products and sums round the same way.
#include "cuda/device_rng.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace xarxa {
namespace cuda {
namespace {

__global__ void fill_kernel(float* dst, float value, size_t n) {
  XARXA_GRID_STRIDE(i, n) dst[i] = value;
}

__global__ void scale_matrix_kernel(float* c, int rows, int cols, int ld, float beta) {
  const size_t n = static_cast<size_t>(rows) * cols;
  XARXA_GRID_STRIDE(i, n) {
    float* p = c + (i / cols) * static_cast<size_t>(ld) + i % cols;
    *p = beta == 0.0f ? 0.0f : *p * beta;
  }
}

__global__ void bias_add_kernel(float* y, const float* bias, int rows, int cols) {
  const size_t n = static_cast<size_t>(rows) * cols;
  XARXA_GRID_STRIDE(i, n) y[i] += bias[i % cols];
}

// An element-wise activation (not softmax), the CPU's expressions.
__device__ float activate(Activation act, float v) {
  switch (act) {
    case Activation::Relu: return v < 0.0f ? 0.0f : v;  // NaN stays NaN, as in TF
    case Activation::Sigmoid: return 1.0f / (1.0f + expf(-v));
    case Activation::Tanh: return tanhf(v);
    default: return v;
  }
}

__global__ void activation_forward_kernel(Activation act, const float* x, float* y, size_t n) {
  XARXA_GRID_STRIDE(i, n) y[i] = activate(act, x[i]);
}

// bias_add then activation_forward in one pass: the sum is rounded to float
// before the activation, exactly as the two separate passes do.
__global__ void bias_activation_kernel(Activation act, float* y, const float* bias, int rows, int cols) {
  const size_t n = static_cast<size_t>(rows) * cols;
  XARXA_GRID_STRIDE(i, n) {
    float v = y[i];
    if (bias) v += bias[i % cols];
    y[i] = activate(act, v);
  }
}

// One thread per row, the CPU's loop order: max, exp and sum, scale by 1/sum.
// In place is fine: each thread reads in[j] before it writes out[j]. With a
// bias, softmax(x + bias) in one pass: the sum is rounded to float first, as
// bias_add followed by the softmax is.
__global__ void softmax_rows_kernel(const float* x, float* y, const float* bias, int rows, int cols) {
  XARXA_GRID_STRIDE(r, static_cast<size_t>(rows)) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    auto v = [&](int j) { return bias ? in[j] + bias[j] : in[j]; };
    float mx = v(0);
    for (int j = 1; j < cols; j++) mx = mx < v(j) ? v(j) : mx;  // std::max(mx, v(j))
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
      const float e = expf(v(j) - mx);
      out[j] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < cols; j++) out[j] *= inv;
  }
}

// dy * act'(.) for an element-wise activation (not softmax), from its output v.
__device__ float activation_grad(Activation act, float v, float g) {
  switch (act) {
    case Activation::Relu: return v > 0.0f ? g : 0.0f;
    case Activation::Sigmoid: return g * v * (1.0f - v);
    case Activation::Tanh: return g * (1.0f - v * v);
    default: return g;
  }
}

__global__ void activation_backward_kernel(Activation act, const float* y, const float* dy, float* dx, size_t n) {
  XARXA_GRID_STRIDE(i, n) dx[i] = activation_grad(act, y[i], dy[i]);
}

// activation_backward in place then bias_grad, in one launch, for a few rows
// (rows <= kFusedBiasRows: one block covers all rows of its 32 columns). Thread
// (x, y) takes column 32 * block + x and every kBiasLanes-th row from y; the
// lanes' sums are then added in lane order, so the result never depends on timing.
constexpr int kBiasLanes = 8;
__global__ void activation_bias_backward_kernel(Activation act, const float* y, float* dy, float* db, int rows,
                                                int cols) {
  __shared__ float partial[kBiasLanes][32];
  const int c = blockIdx.x * 32 + threadIdx.x;
  float sum = 0.0f;
  if (c < cols) {
    for (int r = threadIdx.y; r < rows; r += kBiasLanes) {
      const size_t i = static_cast<size_t>(r) * cols + c;
      const float g = activation_grad(act, y[i], dy[i]);
      dy[i] = g;
      sum += g;
    }
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float total = 0.0f;
    for (int lane = 0; lane < kBiasLanes; lane++) total += partial[lane][threadIdx.x];
    db[c] = total;
  }
}

// dx = y * (dy - sum(dy * y)) per row; in place (dx == dy) is fine.
__global__ void softmax_backward_rows_kernel(const float* y, const float* dy, float* dx, int rows, int cols) {
  XARXA_GRID_STRIDE(r, static_cast<size_t>(rows)) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    float dot = 0.0f;
    for (int j = 0; j < cols; j++) dot += dyr[j] * yr[j];
    for (int j = 0; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - dot);
  }
}

__global__ void dropout_kernel(const float* x, float* y, float* mask, size_t n, float rate, float keep_scale,
                               uint64_t seed) {
  XARXA_GRID_STRIDE(i, n) {
    const float m = uniform01(seed, i) >= rate ? keep_scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

__global__ void multiply_kernel(const float* a, const float* b, float* out, size_t n) {
  XARXA_GRID_STRIDE(i, n) out[i] = a[i] * b[i];
}

// Keras SGD on one element (core/backend.h): w -= lr * g, or with momentum
// v = m * v - lr * g; w += v (nesterov: w += m * v - lr * g).
__device__ void sgd_element(float* w, const float* g, float* velocity, size_t i, float lr, float momentum,
                            bool nesterov) {
  if (momentum == 0.0f) {
    w[i] -= lr * g[i];
    return;
  }
  const float v = momentum * velocity[i] - lr * g[i];
  velocity[i] = v;
  w[i] += nesterov ? momentum * v - lr * g[i] : v;
}

__global__ void sgd_kernel(float* w, const float* g, float* velocity, size_t n, float lr, float momentum,
                           bool nesterov) {
  XARXA_GRID_STRIDE(i, n) sgd_element(w, g, velocity, i, lr, momentum, nesterov);
}

// Up to kSgdGroup tensors in one launch, passed by value (about 1 KB of kernel
// parameters); element i belongs to the first tensor whose cumulative end exceeds it.
constexpr int kSgdGroup = 32;
struct SgdGroup {
  float* w[kSgdGroup];
  const float* g[kSgdGroup];
  float* velocity[kSgdGroup];
  size_t end[kSgdGroup];  // cumulative element counts
  int count;
};

__global__ void sgd_group_kernel(SgdGroup t, float lr, float momentum, bool nesterov) {
  XARXA_GRID_STRIDE(i, t.end[t.count - 1]) {
    int k = 0;
    while (i >= t.end[k]) k++;
    sgd_element(t.w[k], t.g[k], t.velocity[k], i - (k ? t.end[k - 1] : 0), lr, momentum, nesterov);
  }
}

__global__ void non_finite_kernel(const float* x, size_t n, int* flag) {
  XARXA_GRID_STRIDE(i, n) {
    if (!isfinite(x[i])) *flag = 1;
  }
}

// Both halves of a training batch: the inputs, then the labels, of the same rows.
__global__ void gather_batch_kernel(float* x_dst, const float* x_src, int x_row, float* y_dst, const float* y_src,
                                    int y_row, const int32_t* index, int begin, int rows) {
  const size_t nx = static_cast<size_t>(rows) * x_row, n = nx + static_cast<size_t>(rows) * y_row;
  XARXA_GRID_STRIDE(i, n) {
    if (i < nx) {
      const size_t r = i / x_row, j = i % x_row;
      x_dst[i] = x_src[static_cast<size_t>(index[begin + r]) * x_row + j];
    } else {
      const size_t k = i - nx, r = k / y_row, j = k % y_row;
      y_dst[k] = y_src[static_cast<size_t>(index[begin + r]) * y_row + j];
    }
  }
}

__global__ void gather_rows_kernel(float* dst, const float* src, const int32_t* index, int begin, int rows,
                                   int row_len) {
  const size_t n = static_cast<size_t>(rows) * row_len;
  XARXA_GRID_STRIDE(i, n) {
    const size_t r = i / row_len, j = i % row_len;
    dst[i] = src[static_cast<size_t>(index[begin + r]) * row_len + j];
  }
}

// dst is NHWC, i walks it in order.
__global__ void nchw_to_nhwc_kernel(float* dst, const float* src, int n, int c, int h, int w) {
  const size_t hw = static_cast<size_t>(h) * w, total = static_cast<size_t>(n) * c * hw;
  XARXA_GRID_STRIDE(i, total) {
    const size_t ch = i % c, t = i / c, pix = t % hw, b = t / hw;
    dst[i] = src[(b * c + ch) * hw + pix];
  }
}

// dst is NCHW, i walks it in order.
__global__ void nhwc_to_nchw_kernel(float* dst, const float* src, int n, int c, int h, int w) {
  const size_t hw = static_cast<size_t>(h) * w, total = static_cast<size_t>(n) * c * hw;
  XARXA_GRID_STRIDE(i, total) {
    const size_t pix = i % hw, t = i / hw, ch = t % c, b = t / c;
    dst[i] = src[(b * hw + pix) * c + ch];
  }
}

// dst [cols, rows], i walks it in order.
__global__ void transpose_kernel(float* dst, const float* src, int rows, int cols) {
  const size_t n = static_cast<size_t>(rows) * cols;
  XARXA_GRID_STRIDE(i, n) {
    const size_t r = i % rows, c = i / rows;
    dst[i] = src[r * cols + c];
  }
}

// dst [n, hp, wp, c], i walks it in order.
__global__ void pad_nhwc_kernel(float* dst, const float* src, int n, int h, int w, int c, int top, int left, int hp,
                                int wp) {
  const size_t total = static_cast<size_t>(n) * hp * wp * c;
  XARXA_GRID_STRIDE(i, total) {
    size_t t = i / c;
    const int ch = static_cast<int>(i % c);
    const int xp = static_cast<int>(t % wp);
    t /= wp;
    const int yp = static_cast<int>(t % hp);
    const size_t b = t / hp;
    const int iy = yp - top, ix = xp - left;
    dst[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? src[((b * h + iy) * w + ix) * c + ch] : 0.0f;
  }
}

// dst [n, h, w, c], i walks it in order; src [n, hp, wp, c].
__global__ void crop_nhwc_kernel(float* dst, const float* src, int n, int h, int w, int c, int top, int left, int hp,
                                 int wp) {
  const size_t total = static_cast<size_t>(n) * h * w * c;
  XARXA_GRID_STRIDE(i, total) {
    size_t t = i / c;
    const size_t ch = i % c;
    const size_t ix = t % w;
    t /= w;
    const size_t iy = t % h;
    const size_t b = t / h;
    dst[i] = src[((b * hp + iy + top) * wp + ix + left) * c + ch];
  }
}

}  // namespace

cudaError_t kernel_image_status() {
  cudaFuncAttributes attributes;
  return cudaFuncGetAttributes(&attributes, fill_kernel);
}

void launch_fill(cudaStream_t s, float* dst, float value, size_t n) {
  if (n == 0) return;
  fill_kernel<<<blocks_for(n), kThreads, 0, s>>>(dst, value, n);
}

void launch_scale_matrix(cudaStream_t s, float* c, int rows, int cols, int ld, float beta) {
  const size_t n = static_cast<size_t>(rows) * cols;
  if (rows <= 0 || cols <= 0) return;
  scale_matrix_kernel<<<blocks_for(n), kThreads, 0, s>>>(c, rows, cols, ld, beta);
}

void launch_bias_add(cudaStream_t s, float* y, const float* bias, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  bias_add_kernel<<<blocks_for(static_cast<size_t>(rows) * cols), kThreads, 0, s>>>(y, bias, rows, cols);
}

void launch_bias_activation(cudaStream_t s, Activation act, float* y, const float* bias, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  if (act == Activation::Softmax) {
    softmax_rows_kernel<<<blocks_for(rows), kThreads, 0, s>>>(y, y, bias, rows, cols);
    return;
  }
  bias_activation_kernel<<<blocks_for(static_cast<size_t>(rows) * cols), kThreads, 0, s>>>(act, y, bias, rows, cols);
}

void launch_activation_forward(cudaStream_t s, Activation act, const float* x, float* y, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  if (act == Activation::Softmax) {
    softmax_rows_kernel<<<blocks_for(rows), kThreads, 0, s>>>(x, y, nullptr, rows, cols);
  } else {
    const size_t n = static_cast<size_t>(rows) * cols;
    activation_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(act, x, y, n);
  }
}

void launch_activation_backward(cudaStream_t s, Activation act, const float* y, const float* dy, float* dx,
                                int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  if (act == Activation::Softmax) {
    softmax_backward_rows_kernel<<<blocks_for(rows), kThreads, 0, s>>>(y, dy, dx, rows, cols);
  } else {
    const size_t n = static_cast<size_t>(rows) * cols;
    activation_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(act, y, dy, dx, n);
  }
}

void launch_activation_bias_backward(cudaStream_t s, Activation act, const float* y, float* dy, float* db, int rows,
                                     int cols) {
  if (rows <= 0 || cols <= 0) return;
  const dim3 block(32, kBiasLanes);
  activation_bias_backward_kernel<<<(cols + 31) / 32, block, 0, s>>>(act, y, dy, db, rows, cols);
}

void launch_dropout(cudaStream_t s, const float* x, float* y, float* mask, size_t n, float rate, float keep_scale,
                    uint64_t seed) {
  if (n == 0) return;
  dropout_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, y, mask, n, rate, keep_scale, seed);
}

void launch_multiply(cudaStream_t s, const float* a, const float* b, float* out, size_t n) {
  if (n == 0) return;
  multiply_kernel<<<blocks_for(n), kThreads, 0, s>>>(a, b, out, n);
}

void launch_sgd(cudaStream_t s, float* w, const float* g, float* velocity, size_t n, float lr, float momentum,
                bool nesterov) {
  if (n == 0) return;
  sgd_kernel<<<blocks_for(n), kThreads, 0, s>>>(w, g, velocity, n, lr, momentum, nesterov);
}

void launch_sgd_all(cudaStream_t s, const SgdTensor* tensors, int count, float lr, float momentum, bool nesterov) {
  SgdGroup group{};
  size_t total = 0;
  auto flush = [&] {
    if (group.count > 0 && total > 0) sgd_group_kernel<<<blocks_for(total), kThreads, 0, s>>>(group, lr, momentum, nesterov);
    group = SgdGroup{};
    total = 0;
  };
  for (int i = 0; i < count; i++) {
    if (tensors[i].n == 0) continue;
    const int k = group.count++;
    group.w[k] = tensors[i].w;
    group.g[k] = tensors[i].g;
    group.velocity[k] = tensors[i].velocity;
    total += tensors[i].n;
    group.end[k] = total;
    if (group.count == kSgdGroup) flush();
  }
  flush();
}

void launch_non_finite(cudaStream_t s, const float* x, size_t n, int* flag) {
  if (n == 0) return;
  non_finite_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, n, flag);
}

void launch_gather_rows(cudaStream_t s, float* dst, const float* src, const int32_t* index, int begin, int rows,
                        int row_len) {
  if (rows <= 0 || row_len <= 0) return;
  gather_rows_kernel<<<blocks_for(static_cast<size_t>(rows) * row_len), kThreads, 0, s>>>(dst, src, index, begin,
                                                                                          rows, row_len);
}

void launch_gather_batch(cudaStream_t s, float* x_dst, const float* x_src, int x_row, float* y_dst, const float* y_src,
                         int y_row, const int32_t* index, int begin, int rows) {
  if (rows <= 0 || x_row <= 0 || y_row <= 0) return;
  const size_t n = static_cast<size_t>(rows) * (static_cast<size_t>(x_row) + y_row);
  gather_batch_kernel<<<blocks_for(n), kThreads, 0, s>>>(x_dst, x_src, x_row, y_dst, y_src, y_row, index, begin, rows);
}

void launch_nchw_to_nhwc(cudaStream_t s, float* dst, const float* src, int n, int c, int h, int w) {
  const size_t total = static_cast<size_t>(n) * c * h * w;
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return;
  nchw_to_nhwc_kernel<<<blocks_for(total), kThreads, 0, s>>>(dst, src, n, c, h, w);
}

void launch_nhwc_to_nchw(cudaStream_t s, float* dst, const float* src, int n, int c, int h, int w) {
  const size_t total = static_cast<size_t>(n) * c * h * w;
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return;
  nhwc_to_nchw_kernel<<<blocks_for(total), kThreads, 0, s>>>(dst, src, n, c, h, w);
}

void launch_transpose(cudaStream_t s, float* dst, const float* src, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  transpose_kernel<<<blocks_for(static_cast<size_t>(rows) * cols), kThreads, 0, s>>>(dst, src, rows, cols);
}

void launch_pad_nhwc(cudaStream_t s, float* dst, const float* src, int n, int h, int w, int c, int top,
                     int bottom, int left, int right) {
  const int hp = h + top + bottom, wp = w + left + right;
  const size_t total = static_cast<size_t>(n) * hp * wp * c;
  if (total == 0) return;
  pad_nhwc_kernel<<<blocks_for(total), kThreads, 0, s>>>(dst, src, n, h, w, c, top, left, hp, wp);
}

void launch_crop_nhwc(cudaStream_t s, float* dst, const float* src, int n, int h, int w, int c, int top,
                      int bottom, int left, int right) {
  const int hp = h + top + bottom, wp = w + left + right;
  const size_t total = static_cast<size_t>(n) * h * w * c;
  if (total == 0) return;
  crop_nhwc_kernel<<<blocks_for(total), kThreads, 0, s>>>(dst, src, n, h, w, c, top, left, hp, wp);
}

}  // namespace cuda
}  // namespace xarxa

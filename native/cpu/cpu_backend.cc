#include "cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <string>

#include "../core/error.h"
#include "../core/rng.h"
#include "gemm.h"

namespace xarxa {
namespace {

// Work below this many elements stays on one thread (thread wake-up costs more).
constexpr long kGrainElements = 1 << 14;

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "CPU";
}

inline int argmax_row(const float* row, int cols) {
  int best = 0;
  for (int j = 1; j < cols; j++)
    if (row[j] > row[best]) best = j;
  return best;
}

}  // namespace

CpuBackend::CpuBackend(int threads) : pool_(threads) {}

DeviceInfo CpuBackend::info() const {
  DeviceInfo d;
  d.backend = "cpu";
  d.name = cpu_model_name();
  d.threads = pool_.size();
  d.gemm = std::string("xarxa packed sgemm (") + sgemm_kernel_name() + ")";
  return d;
}

// ---- memory ---------------------------------------------------------------

void* CpuBackend::alloc(size_t bytes) {
  size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  // The size is stored in front of the block so free() can count it.
  void* raw = std::aligned_alloc(64, rounded + 64);
  if (!raw) throw Error("cpu alloc: out of memory allocating " + std::to_string(bytes) + " bytes");
  *static_cast<size_t*>(raw) = rounded;
  bytes_in_use_ += rounded;
  return static_cast<char*>(raw) + 64;
}

void CpuBackend::free(void* ptr) {
  if (!ptr) return;
  void* raw = static_cast<char*>(ptr) - 64;
  bytes_in_use_ -= *static_cast<size_t*>(raw);
  std::free(raw);
}

void CpuBackend::upload(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::download(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  if (dst != src) std::memmove(dst, src, bytes);
}
void CpuBackend::fill(float* dst, float value, size_t n) { std::fill(dst, dst + n, value); }

float* CpuBackend::scratch(size_t floats) {
  if (scratch_.size() < floats) scratch_.resize(floats);
  return scratch_.data();
}

// ---- data movement --------------------------------------------------------

void CpuBackend::gather_rows(float* dst, const float* src, const int32_t* index, int begin, int rows,
                             int row_len) {
  pool_.parallel_for(rows, std::max(1L, kGrainElements / std::max(1, row_len)), [&](int, long r0, long r1) {
    for (long r = r0; r < r1; r++)
      std::memcpy(dst + r * row_len, src + (long)index[begin + r] * row_len, sizeof(float) * row_len);
  });
}

void CpuBackend::nchw_to_nhwc(float* dst, const float* src, int n, int c, int h, int w) {
  long hw = (long)h * w;
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (long i = 0; i < hw; i++) dst[((long)b * hw + i) * c + ch] = src[((long)b * c + ch) * hw + i];
}

void CpuBackend::nhwc_to_nchw(float* dst, const float* src, int n, int c, int h, int w) {
  long hw = (long)h * w;
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (long i = 0; i < hw; i++) dst[((long)b * c + ch) * hw + i] = src[((long)b * hw + i) * c + ch];
}

// ---- dense algebra --------------------------------------------------------

void CpuBackend::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                      const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm(pool_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void CpuBackend::bias_add(float* y, const float* bias, int rows, int cols) {
  pool_.parallel_for(rows, std::max(1L, kGrainElements / std::max(1, cols)), [&](int, long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* row = y + r * cols;
      for (int j = 0; j < cols; j++) row[j] += bias[j];
    }
  });
}

void CpuBackend::bias_grad(float* db, const float* dy, int rows, int cols) {
  // Column sums, accumulated row by row so the inner loop vectorises.
  std::fill(db, db + cols, 0.0f);
  for (long r = 0; r < rows; r++) {
    const float* row = dy + r * cols;
    for (int j = 0; j < cols; j++) db[j] += row[j];
  }
}

// ---- activations ----------------------------------------------------------

void CpuBackend::activation_forward(Activation act, const float* x, float* y, int rows, int cols) {
  long n = (long)rows * cols;
  switch (act) {
    case Activation::Linear:
      if (x != y) std::memcpy(y, x, sizeof(float) * n);
      return;
    case Activation::Relu:
      for (long i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case Activation::Sigmoid:
      for (long i = 0; i < n; i++) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      return;
    case Activation::Tanh:
      for (long i = 0; i < n; i++) y[i] = std::tanh(x[i]);
      return;
    case Activation::Softmax:
      for (long r = 0; r < rows; r++) {
        const float* in = x + r * cols;
        float* out = y + r * cols;
        float mx = in[0];
        for (int j = 1; j < cols; j++) mx = std::max(mx, in[j]);
        float sum = 0.0f;
        for (int j = 0; j < cols; j++) {
          out[j] = std::exp(in[j] - mx);
          sum += out[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++) out[j] *= inv;
      }
      return;
  }
}

void CpuBackend::activation_backward(Activation act, const float* y, const float* dy, float* dx, int rows,
                                     int cols) {
  long n = (long)rows * cols;
  switch (act) {
    case Activation::Linear:
      if (dx != dy) std::memcpy(dx, dy, sizeof(float) * n);
      return;
    case Activation::Relu:
      for (long i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::Sigmoid:
      for (long i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::Tanh:
      for (long i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::Softmax:
      // dx = y * (dy - sum(dy * y)) per row.
      for (long r = 0; r < rows; r++) {
        const float* yr = y + r * cols;
        const float* dyr = dy + r * cols;
        float* dxr = dx + r * cols;
        float dot = 0.0f;
        for (int j = 0; j < cols; j++) dot += dyr[j] * yr[j];
        for (int j = 0; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - dot);
      }
      return;
  }
}

// ---- losses and metrics ---------------------------------------------------

void CpuBackend::softmax_cross_entropy(const float* probs, const float* labels, int rows, int cols,
                                       float grad_scale, float* dlogits, double* stats) {
  const float eps = 1e-7f, hi = 1.0f - 1e-7f;
  double loss = 0.0;
  for (long r = 0; r < rows; r++) {
    const float* p = probs + r * cols;
    const float* y = labels + r * cols;
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) sum += p[j];
    float row_loss = 0.0f, s = 0.0f;
    for (int j = 0; j < cols; j++) {
      float q = p[j] / sum;
      bool inside = q >= eps && q <= hi;
      float clipped = std::min(std::max(q, eps), hi);
      row_loss -= y[j] * std::log(clipped);
      if (inside) s += y[j];
    }
    loss += row_loss;
    if (dlogits) {
      float* d = dlogits + r * cols;
      for (int j = 0; j < cols; j++) {
        float q = p[j] / sum;
        bool inside = q >= eps && q <= hi;
        d[j] = grad_scale * (p[j] * s - (inside ? y[j] : 0.0f));
      }
    }
  }
  stats[kStatLoss] += loss;
}

void CpuBackend::mean_squared_error(const float* pred, const float* labels, int rows, int cols,
                                    float grad_scale, float* dout, double* stats) {
  double loss = 0.0;
  for (long r = 0; r < rows; r++) {
    float row = 0.0f;
    for (int j = 0; j < cols; j++) {
      float d = pred[r * cols + j] - labels[r * cols + j];
      row += d * d;
      if (dout) dout[r * cols + j] = grad_scale * 2.0f * d / cols;
    }
    loss += row / cols;
  }
  stats[kStatLoss] += loss;
}

void CpuBackend::count_correct(const float* pred, const float* labels, int rows, int cols, double* stats) {
  long correct = 0;
  for (long r = 0; r < rows; r++)
    if (argmax_row(pred + r * cols, cols) == argmax_row(labels + r * cols, cols)) correct++;
  stats[kStatCorrect] += (double)correct;
}

void CpuBackend::read_stats(double* host, const double* stats, int n) {
  std::memcpy(host, stats, sizeof(double) * n);
}

void CpuBackend::zero_stats(double* stats, int n) { std::fill(stats, stats + n, 0.0); }

// ---- convolution: im2col + GEMM ---------------------------------------------
//
// col[(b, oy, ox), (ky, kx, c)] = x[b, oy*sh + ky - pad_top, ox*sw + kx - pad_left, c]
// (zero outside the image). Its column order equals the kernel's [k_h, k_w, in_c]
// flattening, so y = col @ w[k_h*k_w*in_c, out_c] directly.

namespace {

void im2col(ThreadPool& pool, const WindowParams& p, const float* x, float* col) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long rows = (long)p.batch * p.out_h * p.out_w;
  pool.parallel_for(rows, 64, [&](int, long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      int ox = r % p.out_w, oy = (r / p.out_w) % p.out_h, b = r / ((long)p.out_w * p.out_h);
      float* dst = col + r * kdim;
      for (int ky = 0; ky < p.k_h; ky++) {
        int iy = oy * p.stride_h + ky - p.pad_top;
        for (int kx = 0; kx < p.k_w; kx++) {
          int ix = ox * p.stride_w + kx - p.pad_left;
          float* cell = dst + (ky * p.k_w + kx) * p.in_c;
          if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) {
            std::fill(cell, cell + p.in_c, 0.0f);
          } else {
            std::memcpy(cell, x + (((long)b * p.in_h + iy) * p.in_w + ix) * p.in_c, sizeof(float) * p.in_c);
          }
        }
      }
    }
  });
}

// The adjoint of im2col: dx (zeroed here) accumulates every column cell.
void col2im(ThreadPool& pool, const WindowParams& p, const float* col, float* dx) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long image = (long)p.in_h * p.in_w * p.in_c;
  pool.parallel_for(p.batch, 1, [&](int, long b0, long b1) {
    for (long b = b0; b < b1; b++) {
      float* img = dx + b * image;
      std::fill(img, img + image, 0.0f);
      for (int oy = 0; oy < p.out_h; oy++)
        for (int ox = 0; ox < p.out_w; ox++) {
          const float* src = col + ((b * p.out_h + oy) * (long)p.out_w + ox) * kdim;
          for (int ky = 0; ky < p.k_h; ky++) {
            int iy = oy * p.stride_h + ky - p.pad_top;
            if (iy < 0 || iy >= p.in_h) continue;
            for (int kx = 0; kx < p.k_w; kx++) {
              int ix = ox * p.stride_w + kx - p.pad_left;
              if (ix < 0 || ix >= p.in_w) continue;
              const float* cell = src + (ky * p.k_w + kx) * p.in_c;
              float* out = img + ((long)iy * p.in_w + ix) * p.in_c;
              for (int c = 0; c < p.in_c; c++) out[c] += cell[c];
            }
          }
        }
    }
  });
}

}  // namespace

void CpuBackend::conv2d_forward(const WindowParams& p, const float* x, const float* w, float* y) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long rows = (long)p.batch * p.out_h * p.out_w;
  float* col = scratch((size_t)rows * kdim);
  im2col(pool_, p, x, col);
  sgemm(pool_, false, false, (int)rows, p.out_c, kdim, 1.0f, col, kdim, w, p.out_c, 0.0f, y, p.out_c);
}

void CpuBackend::conv2d_backward_data(const WindowParams& p, const float* dy, const float* w, float* dx) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long rows = (long)p.batch * p.out_h * p.out_w;
  float* col = scratch((size_t)rows * kdim);
  // dcol = dy @ w^T
  sgemm(pool_, false, true, (int)rows, kdim, p.out_c, 1.0f, dy, p.out_c, w, p.out_c, 0.0f, col, kdim);
  col2im(pool_, p, col, dx);
}

void CpuBackend::conv2d_backward_filter(const WindowParams& p, const float* x, const float* dy, float* dw) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long rows = (long)p.batch * p.out_h * p.out_w;
  float* col = scratch((size_t)rows * kdim);
  im2col(pool_, p, x, col);
  // dw = col^T @ dy
  sgemm(pool_, true, false, kdim, p.out_c, (int)rows, 1.0f, col, kdim, dy, p.out_c, 0.0f, dw, p.out_c);
}

// ---- pooling ----------------------------------------------------------------

void CpuBackend::pool_forward(PoolKind kind, const WindowParams& p, const float* x, float* y) {
  const int C = p.in_c;
  pool_.parallel_for(p.batch, 1, [&](int, long b0, long b1) {
    for (long b = b0; b < b1; b++)
      for (int oy = 0; oy < p.out_h; oy++)
        for (int ox = 0; ox < p.out_w; ox++) {
          float* out = y + ((b * p.out_h + oy) * (long)p.out_w + ox) * C;
          int y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
          int ya = std::max(y0, 0), yb = std::min(y0 + p.k_h, p.in_h);
          int xa = std::max(x0, 0), xb = std::min(x0 + p.k_w, p.in_w);
          for (int c = 0; c < C; c++) {
            // Padded cells take no part: max over real cells only, average over their count.
            float acc = kind == PoolKind::Max ? -std::numeric_limits<float>::infinity() : 0.0f;
            for (int iy = ya; iy < yb; iy++)
              for (int ix = xa; ix < xb; ix++) {
                float v = x[((b * p.in_h + iy) * (long)p.in_w + ix) * C + c];
                if (kind == PoolKind::Max) acc = v > acc ? v : acc;
                else acc += v;
              }
            int count = (yb - ya) * (xb - xa);
            out[c] = kind == PoolKind::Max ? acc : (count > 0 ? acc / count : 0.0f);
          }
        }
  });
}

void CpuBackend::pool_backward(PoolKind kind, const WindowParams& p, const float* x, const float* y,
                               const float* dy, float* dx) {
  const int C = p.in_c;
  const long image = (long)p.in_h * p.in_w * C;
  pool_.parallel_for(p.batch, 1, [&](int, long b0, long b1) {
    for (long b = b0; b < b1; b++) {
      std::fill(dx + b * image, dx + (b + 1) * image, 0.0f);
      for (int oy = 0; oy < p.out_h; oy++)
        for (int ox = 0; ox < p.out_w; ox++) {
          long o = ((b * p.out_h + oy) * (long)p.out_w + ox) * C;
          int y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
          int ya = std::max(y0, 0), yb = std::min(y0 + p.k_h, p.in_h);
          int xa = std::max(x0, 0), xb = std::min(x0 + p.k_w, p.in_w);
          int count = (yb - ya) * (xb - xa);
          for (int c = 0; c < C; c++) {
            float g = dy[o + c];
            if (kind == PoolKind::Average) {
              if (count == 0) continue;
              float share = g / count;
              for (int iy = ya; iy < yb; iy++)
                for (int ix = xa; ix < xb; ix++) dx[((b * p.in_h + iy) * (long)p.in_w + ix) * C + c] += share;
            } else {
              // The first maximum in row-major window order takes the gradient.
              long best = -1;
              float best_v = -std::numeric_limits<float>::infinity();
              for (int iy = ya; iy < yb; iy++)
                for (int ix = xa; ix < xb; ix++) {
                  long i = ((b * p.in_h + iy) * (long)p.in_w + ix) * C + c;
                  if (best < 0 || x[i] > best_v) {
                    best = i;
                    best_v = x[i];
                  }
                }
              if (best >= 0) dx[best] += g;
            }
          }
        }
    }
  });
}

// ---- dropout, elementwise ---------------------------------------------------

void CpuBackend::dropout_forward(const float* x, float* y, float* mask, size_t n, float rate, uint64_t seed) {
  const float keep_scale = 1.0f / (1.0f - rate);
  for (size_t i = 0; i < n; i++) {
    mask[i] = uniform01(seed, i) >= rate ? keep_scale : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

void CpuBackend::multiply(const float* a, const float* b, float* out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

void CpuBackend::sgd_update(float* w, const float* g, float* velocity, size_t n, float lr, float momentum,
                            bool nesterov) {
  if (momentum == 0.0f) {
    for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
    return;
  }
  for (size_t i = 0; i < n; i++) {
    float v = momentum * velocity[i] - lr * g[i];
    velocity[i] = v;
    w[i] += nesterov ? momentum * v - lr * g[i] : v;
  }
}

bool CpuBackend::has_non_finite(const float* x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!std::isfinite(x[i])) return true;
  return false;
}

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::Linear: return "linear";
    case Activation::Relu: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Softmax: return "softmax";
  }
  return "?";
}

}  // namespace xarxa

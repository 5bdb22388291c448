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

// Keras' accuracy: categorical (argmax) over several columns, binary (threshold 0.5) over one.
inline bool row_correct(const float* pred, const float* label, int cols) {
  if (cols == 1) return (pred[0] > 0.5f ? 1.0f : 0.0f) == label[0];
  return argmax_row(pred, cols) == argmax_row(label, cols);
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

// (memcpy of 0 bytes from a null pointer, e.g. an empty vector's data(), is undefined behaviour.)
void CpuBackend::upload(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}
void CpuBackend::download(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}
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

// relu(y + bias) in one threaded pass over y (the notebook's layers); the same
// float expressions as bias_add then activation_forward. Other activations
// take those two steps.
void CpuBackend::bias_activation_forward(Activation act, float* y, const float* bias, int rows, int cols) {
  if (act != Activation::Relu || !bias) return Backend::bias_activation_forward(act, y, bias, rows, cols);
  pool_.parallel_for(rows, std::max(1L, kGrainElements / std::max(1, cols)), [&](int, long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* row = y + r * cols;
      for (int j = 0; j < cols; j++) {
        const float v = row[j] + bias[j];
        row[j] = v < 0.0f ? 0.0f : v;  // NaN stays NaN
      }
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
      for (long i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];  // NaN stays NaN, as in TF
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
      for (long i = 0; i < n; i++) {
        float g = dy[i];  // loaded unconditionally so the loop vectorises
        dx[i] = y[i] > 0.0f ? g : 0.0f;
      }
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
    if (row_correct(pred + r * cols, labels + r * cols, cols)) correct++;
  stats[kStatCorrect] += (double)correct;
}

void CpuBackend::note_non_finite(double* stats, int batch) {
  if (!std::isfinite(stats[kStatLoss]) && stats[kStatFirstNonFinite] == 0.0) stats[kStatFirstNonFinite] = batch + 1.0;
}

void CpuBackend::read_stats(double* host, const double* stats, int n) {
  std::memcpy(host, stats, sizeof(double) * n);
}

void CpuBackend::zero_stats(double* stats, int n) { std::fill(stats, stats + n, 0.0); }

void CpuBackend::request_stats(const double* stats, int n) {
  snapshot_.assign(stats, stats + n);
  snapshot_ready_ = true;
}

bool CpuBackend::poll_stats(double* host, int n) {
  if (!snapshot_ready_ || n > (int)snapshot_.size()) return false;
  std::memcpy(host, snapshot_.data(), sizeof(double) * n);
  snapshot_ready_ = false;
  return true;
}

// ---- convolution: implicit im2col + GEMM ------------------------------------
//
// col[(b, oy, ox), (ky, kx, c)] = x[b, oy*sh + ky - pad_top, ox*sw + kx - pad_left, c]
// (zero outside the image). Its column order equals the kernel's [k_h, k_w, in_c]
// flattening, so y = col @ w[k_h*k_w*in_c, out_c] directly. col is never
// stored: the GEMM packs its blocks straight from x (GemmASource), which saves
// writing and re-reading a buffer the size of col on every call.

namespace {

// Decodes a col row (output pixel) into its image and window origin.
struct PixelOrigin {
  long image;  // b
  int iy0, ix0;
};

inline PixelOrigin pixel_origin(const WindowParams& p, long r) {
  const int ox = (int)(r % p.out_w);
  const long t = r / p.out_w;
  const int oy = (int)(t % p.out_h);
  return {t / p.out_h, oy * p.stride_h - p.pad_top, ox * p.stride_w - p.pad_left};
}

// op(A) = col: rows are output pixels, columns (ky, kx, c). Each panel's rows
// are assembled row-major in a small per-thread block (contiguous copies of
// window rows) and then interleaved by the GEMM's panel packer.
class Im2colRows : public GemmASource {
 public:
  Im2colRows(const WindowParams& p, const float* x) : p_(p), x_(x) {}
  void pack(int i0, int mc, int k0, int kc, int mr, float* out) const override {
    const int C = p_.in_c, KW = p_.k_w, row_len = KW * C;
    const int end = k0 + kc;
    thread_local std::vector<float> block;
    thread_local std::vector<int> seg_q, seg_off, seg_len;
    block.resize((size_t)mr * kc);
    // Columns [k0, end) of a window inside the image: runs contiguous in x
    // (one per window row, cut at k0/end), as offsets from the window's origin.
    seg_q.clear();
    seg_off.clear();
    seg_len.clear();
    for (int q = k0; q < end;) {
      const int ky = q / row_len, rem = q - ky * row_len;
      const int len = std::min(row_len - rem, end - q);
      seg_q.push_back(q - k0);
      seg_off.push_back(ky * p_.in_w * C + rem);
      seg_len.push_back(len);
      q += len;
    }
    const int segs = (int)seg_q.size();
    for (int ip = 0; ip < mc; ip += mr) {
      const int h = std::min(mr, mc - ip);
      for (int r = 0; r < h; r++) {
        const PixelOrigin o = pixel_origin(p_, i0 + ip + r);
        const float* img = x_ + o.image * p_.in_h * (long)p_.in_w * C;
        if (o.iy0 >= 0 && o.ix0 >= 0 && o.iy0 + p_.k_h <= p_.in_h && o.ix0 + KW <= p_.in_w) {
          const float* base = img + ((long)o.iy0 * p_.in_w + o.ix0) * C;
          float* row = block.data() + (long)r * kc;
          for (int u = 0; u < segs; u++) {
            const float* src = base + seg_off[u];
            float* dst = row + seg_q[u];
            for (int t = 0, n = seg_len[u]; t < n; t++) dst[t] = src[t];
          }
          continue;
        }
        float* d = block.data() + (long)r * kc - k0;  // element (r, q) at d[q]
        int q = k0;
        while (q < end) {
          const int ky = q / row_len, rem = q - ky * row_len, kx = rem / C, c = rem - kx * C;
          const int iy = o.iy0 + ky, ix = o.ix0 + kx;
          int len;
          if (iy < 0 || iy >= p_.in_h) {
            len = std::min(row_len - rem, end - q);  // the whole window row is padding
            std::memset(d + q, 0, sizeof(float) * len);
          } else if (ix < 0 || ix >= p_.in_w) {
            len = std::min(C - c, end - q);
            std::memset(d + q, 0, sizeof(float) * len);
          } else {
            // Window cells kx.. that lie inside the image are contiguous in x.
            const int kx_end = std::min(KW, kx + (p_.in_w - ix));
            len = std::min((kx_end - kx) * C - c, end - q);
            std::memcpy(d + q, img + ((long)iy * p_.in_w + ix) * C + c, sizeof(float) * len);
          }
          q += len;
        }
      }
      pack_rows_interleaved(block.data(), kc, h, kc, mr, out + (long)ip * kc);
    }
  }

 private:
  const WindowParams& p_;
  const float* x_;
};

// op(A) = col^T: rows are (ky, kx, c), columns output pixels (weight gradients).
class Im2colCols : public GemmASource {
 public:
  Im2colCols(const WindowParams& p, const float* x) : p_(p), x_(x) {}
  void pack(int i0, int mc, int k0, int kc, int mr, float* out) const override {
    const int C = p_.in_c, KW = p_.k_w;
    // Per row i: its window cell and its offset from the window's origin; and
    // runs of rows whose offsets are consecutive (a cell's channels, and the
    // next cell's when it is the next pixel): copied as one piece when the
    // window lies inside the image.
    thread_local std::vector<int> cell_y, cell_x, offset, run_row, run_len;
    cell_y.resize(mc);
    cell_x.resize(mc);
    offset.resize(mc);
    run_row.clear();
    run_len.clear();
    for (int t = 0; t < mc; t++) {
      const int i = i0 + t, ky = i / (KW * C), kx = (i / C) % KW, c = i % C;
      cell_y[t] = ky;
      cell_x[t] = kx;
      offset[t] = (ky * p_.in_w + kx) * C + c;
      if (t % mr != 0 && offset[t] == offset[t - 1] + 1) run_len.back()++;
      else {
        run_row.push_back(t);  // runs never cross a panel
        run_len.push_back(1);
      }
    }
    const int runs = (int)run_row.size();
    const bool long_runs = mc >= 8 * runs;  // short runs copy faster element by element
    const long image = (long)p_.in_h * p_.in_w * C;
    for (int q = 0; q < kc; q++) {
      const PixelOrigin o = pixel_origin(p_, k0 + q);
      const bool inside = o.iy0 >= 0 && o.ix0 >= 0 && o.iy0 + p_.k_h <= p_.in_h && o.ix0 + KW <= p_.in_w;
      const float* base = x_ + o.image * image + ((long)o.iy0 * p_.in_w + o.ix0) * C;
      if (inside && long_runs) {
        for (int u = 0; u < runs; u++) {
          const int t = run_row[u], len = run_len[u];
          float* d = out + (long)(t / mr) * mr * kc + (long)q * mr + t % mr;
          const float* s = base + offset[t];
          for (int e = 0; e < len; e++) d[e] = s[e];
        }
        if (mc % mr)
          for (int r = mc % mr; r < mr; r++) out[(long)(mc / mr) * mr * kc + (long)q * mr + r] = 0.0f;
        continue;
      }
      for (int ip = 0; ip < mc; ip += mr) {
        const int h = std::min(mr, mc - ip);
        float* d = out + (long)ip * kc + (long)q * mr;
        const int* off = offset.data() + ip;
        int r = 0;
        if (inside) {
          for (; r < h; r++) d[r] = base[off[r]];
        } else {
          for (; r < h; r++) {
            const int iy = o.iy0 + cell_y[ip + r], ix = o.ix0 + cell_x[ip + r];
            d[r] = iy >= 0 && iy < p_.in_h && ix >= 0 && ix < p_.in_w ? base[off[r]] : 0.0f;
          }
        }
        for (; r < mr; r++) d[r] = 0.0f;
      }
    }
  }

 private:
  const WindowParams& p_;
  const float* x_;
};

// The adjoint of im2col for images [b0, b1): dx (zeroed here) accumulates every
// cell of col, whose rows start at image b0.
void col2im(const WindowParams& p, const float* col, float* dx, long b0, long b1) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long image = (long)p.in_h * p.in_w * p.in_c;
  for (long b = b0; b < b1; b++) {
    float* img = dx + b * image;
    std::fill(img, img + image, 0.0f);
    for (int oy = 0; oy < p.out_h; oy++)
      for (int ox = 0; ox < p.out_w; ox++) {
        const float* src = col + (((b - b0) * p.out_h + oy) * (long)p.out_w + ox) * kdim;
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
}

}  // namespace

void CpuBackend::conv2d_forward(const WindowParams& p, const float* x, const float* w, float* y) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long rows = (long)p.batch * p.out_h * p.out_w;
  Im2colRows col(p, x);
  sgemm_source(pool_, col, false, (int)rows, p.out_c, kdim, 1.0f, w, p.out_c, 0.0f, y, p.out_c);
}

void CpuBackend::conv2d_backward_data(const WindowParams& p, const float* dy, const float* w, float* dx) {
  // Per group of images: dcol = dy @ w^T into a cache-sized per-thread slice of
  // the scratch, then col2im straight away (images never share input cells).
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long pixels = (long)p.out_h * p.out_w;
  const long per_image = pixels * kdim;
  const long group = std::max(1L, std::min<long>(p.batch, (64L * 1024) / std::max(1L, per_image)));
  const int threads = pool_.size();
  float* buf = scratch((size_t)threads * group * per_image);
  pool_.parallel_for(p.batch, 1, [&](int t, long b0, long b1) {
    float* dcol = buf + (long)t * group * per_image;
    for (long g0 = b0; g0 < b1; g0 += group) {
      const long g1 = std::min(b1, g0 + group);
      sgemm_serial(false, true, (int)((g1 - g0) * pixels), kdim, p.out_c, 1.0f, dy + g0 * pixels * p.out_c, p.out_c,
                   w, p.out_c, 0.0f, dcol, kdim);
      col2im(p, dcol, dx, g0, g1);
    }
  });
}

void CpuBackend::conv2d_backward_filter(const WindowParams& p, const float* x, const float* dy, float* dw) {
  const int kdim = p.k_h * p.k_w * p.in_c;
  const long rows = (long)p.batch * p.out_h * p.out_w;
  // dw = col^T @ dy
  Im2colCols colt(p, x);
  sgemm_source(pool_, colt, false, kdim, p.out_c, (int)rows, 1.0f, dy, p.out_c, 0.0f, dw, p.out_c);
}

// ---- pooling ----------------------------------------------------------------
//
// NHWC keeps a pixel's channels contiguous, so the loops below run over
// channels innermost (vectorised) and over window cells outside them. The
// per-row kernels are compiled for AVX-512, AVX2 and the baseline and picked
// at load time (the rest of the library targets baseline x86-64). Windows
// that lie wholly inside the image (all but the border ones) take a register
// path, 16 channels at a time, with the cells' offsets computed once per row.

namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define XARXA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define XARXA_CLONES
#endif

// 16 floats / ints: one AVX-512 register (two AVX2 ones, four SSE ones) in the clones.
typedef float vf16 __attribute__((vector_size(64)));
typedef int vi16 __attribute__((vector_size(64)));
constexpr int kMaxCells = 16;  // windows up to 16 cells (4x4) take the register path

// Offsets of a full window's cells from its top-left cell, row-major; the cell
// count when the register path applies, else 0.
inline int window_offsets(const WindowParams& p, int* off) {
  const int n = p.k_h * p.k_w;
  if (p.in_c % 16 != 0 || n > kMaxCells) return 0;
  for (int ky = 0; ky < p.k_h; ky++)
    for (int kx = 0; kx < p.k_w; kx++) off[ky * p.k_w + kx] = (ky * p.in_w + kx) * p.in_c;
  return n;
}

// One output row of image `img`.
XARXA_CLONES void pool_forward_row(PoolKind kind, const WindowParams& p, const float* img, int oy, float* out_row) {
  const int C = p.in_c;
  const int y0 = oy * p.stride_h - p.pad_top;
  const int ya = std::max(y0, 0), yb = std::min(y0 + p.k_h, p.in_h);
  int off[kMaxCells];
  const int ncell = kind == PoolKind::Max && ya == y0 && yb == y0 + p.k_h ? window_offsets(p, off) : 0;
  for (int ox = 0; ox < p.out_w; ox++) {
    float* __restrict out = out_row + (long)ox * C;
    const int x0 = ox * p.stride_w - p.pad_left;
    const int xa = std::max(x0, 0), xb = std::min(x0 + p.k_w, p.in_w);
    if (ncell && xa == x0 && xb == x0 + p.k_w) {
      // The same max chain as below (from -inf, strict >), in registers.
      const float* base = img + ((long)y0 * p.in_w + x0) * C;
      for (int c = 0; c < C; c += 16) {
        vf16 acc = (vf16){} - std::numeric_limits<float>::infinity(), v;
        for (int k = 0; k < ncell; k++) {
          std::memcpy(&v, base + off[k] + c, sizeof v);
          acc = v > acc ? v : acc;
        }
        std::memcpy(out + c, &acc, sizeof acc);
      }
      continue;
    }
    // Padded cells take no part: max over real cells only, average over their count.
    if (kind == PoolKind::Max) {
      for (int c = 0; c < C; c++) out[c] = -std::numeric_limits<float>::infinity();
      for (int iy = ya; iy < yb; iy++)
        for (int ix = xa; ix < xb; ix++) {
          const float* __restrict v = img + ((long)iy * p.in_w + ix) * C;
          for (int c = 0; c < C; c++) out[c] = v[c] > out[c] ? v[c] : out[c];
        }
    } else {
      for (int c = 0; c < C; c++) out[c] = 0.0f;
      for (int iy = ya; iy < yb; iy++)
        for (int ix = xa; ix < xb; ix++) {
          const float* __restrict v = img + ((long)iy * p.in_w + ix) * C;
          for (int c = 0; c < C; c++) out[c] += v[c];
        }
      const int count = (yb - ya) * (xb - xa);
      if (count > 0)
        for (int c = 0; c < C; c++) out[c] /= count;
    }
  }
}

// Adds one output row's gradient g_row into dimg (the image's dx, zeroed by the caller).
XARXA_CLONES void pool_backward_row(PoolKind kind, const WindowParams& p, const float* img, float* dimg, int oy,
                                    const float* g_row) {
  constexpr int kChunk = 64;  // channels per pass of the general path
  alignas(64) float best[kChunk];
  alignas(64) int arg[kChunk];
  const int C = p.in_c;
  const int y0 = oy * p.stride_h - p.pad_top;
  const int ya = std::max(y0, 0), yb = std::min(y0 + p.k_h, p.in_h);
  int off[kMaxCells];
  const int ncell = kind == PoolKind::Max && ya == y0 && yb == y0 + p.k_h ? window_offsets(p, off) : 0;
  for (int ox = 0; ox < p.out_w; ox++) {
    const float* g = g_row + (long)ox * C;
    const int x0 = ox * p.stride_w - p.pad_left;
    const int xa = std::max(x0, 0), xb = std::min(x0 + p.k_w, p.in_w);
    const int count = (yb - ya) * (xb - xa);
    if (count <= 0) continue;
    // The first maximum in row-major window order takes the gradient: per
    // channel, the cell number of the first strict maximum. Adding 0 to the
    // other cells changes nothing (dx starts at +0 and never becomes -0).
    if (ncell && xa == x0 && xb == x0 + p.k_w) {
      const long o = ((long)y0 * p.in_w + x0) * C;
      const float* base = img + o;
      float* dbase = dimg + o;
      for (int c = 0; c < C; c += 16) {
        vf16 best_v, v, gv, dv;
        vi16 arg_v = (vi16){};
        std::memcpy(&best_v, base + c, sizeof best_v);
        for (int k = 1; k < ncell; k++) {
          std::memcpy(&v, base + off[k] + c, sizeof v);
          const vi16 more = v > best_v;
          best_v = more ? v : best_v;
          arg_v = more ? (vi16){} + k : arg_v;
        }
        std::memcpy(&gv, g + c, sizeof gv);
        for (int k = 0; k < ncell; k++) {
          float* d = dbase + off[k] + c;
          std::memcpy(&dv, d, sizeof dv);
          dv += arg_v == k ? gv : (vf16){};
          std::memcpy(d, &dv, sizeof dv);
        }
      }
      continue;
    }
    if (kind == PoolKind::Average) {
      for (int iy = ya; iy < yb; iy++)
        for (int ix = xa; ix < xb; ix++) {
          float* __restrict d = dimg + ((long)iy * p.in_w + ix) * C;
          for (int c = 0; c < C; c++) d[c] += g[c] / count;
        }
      continue;
    }
    for (int c0 = 0; c0 < C; c0 += kChunk) {
      const int cn = std::min(kChunk, C - c0);
      int cell = 0;
      for (int iy = ya; iy < yb; iy++)
        for (int ix = xa; ix < xb; ix++, cell++) {
          const float* __restrict v = img + ((long)iy * p.in_w + ix) * C + c0;
          if (cell == 0) {
            for (int c = 0; c < cn; c++) {
              best[c] = v[c];
              arg[c] = 0;
            }
          } else {
            for (int c = 0; c < cn; c++) {
              const bool more = v[c] > best[c];
              best[c] = more ? v[c] : best[c];
              arg[c] = more ? cell : arg[c];
            }
          }
        }
      cell = 0;
      const float* __restrict gc = g + c0;
      for (int iy = ya; iy < yb; iy++)
        for (int ix = xa; ix < xb; ix++, cell++) {
          float* __restrict d = dimg + ((long)iy * p.in_w + ix) * C + c0;
          for (int c = 0; c < cn; c++) d[c] += arg[c] == cell ? gc[c] : 0.0f;
        }
    }
  }
}

}  // namespace

void CpuBackend::pool_forward(PoolKind kind, const WindowParams& p, const float* x, float* y) {
  const long image = (long)p.in_h * p.in_w * p.in_c, out_row = (long)p.out_w * p.in_c;
  pool_.parallel_for(p.batch, 1, [&](int, long b0, long b1) {
    for (long b = b0; b < b1; b++)
      for (int oy = 0; oy < p.out_h; oy++)
        pool_forward_row(kind, p, x + b * image, oy, y + (b * p.out_h + oy) * out_row);
  });
}

void CpuBackend::pool_backward(PoolKind kind, const WindowParams& p, const float* x, const float* y,
                               const float* dy, float* dx) {
  const long image = (long)p.in_h * p.in_w * p.in_c, out_row = (long)p.out_w * p.in_c;
  pool_.parallel_for(p.batch, 1, [&](int, long b0, long b1) {
    for (long b = b0; b < b1; b++) {
      std::fill(dx + b * image, dx + (b + 1) * image, 0.0f);
      for (int oy = 0; oy < p.out_h; oy++)
        pool_backward_row(kind, p, x + b * image, dx + b * image, oy, dy + (b * p.out_h + oy) * out_row);
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

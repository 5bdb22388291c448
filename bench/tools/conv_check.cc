// Checks the CPU backend's convolution, pooling and GEMM paths against naive
// loops (random shapes, 'same'/'valid' padding, strides, odd sizes, ties).
//   bash bench/tools/conv-check.sh
#include <array>
#include <cmath>
#include <string>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/gemm.h"

using namespace xarxa;

static std::mt19937 rng(42);
static std::vector<float> randv(size_t n, bool ties = false) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = ties ? (float)(int)(u(rng) * 3) : u(rng);
  return v;
}
static double maxdiff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); i++) m = std::max(m, (double)std::fabs(a[i] - b[i]) / std::max(1.0, (double)std::fabs(b[i])));
  return m;
}
static int failures = 0;
static void report(const char* what, double d, double tol) {
  if (!(d <= tol)) {
    std::printf("FAIL %s: max rel diff %.3g\n", what, d);
    failures++;
  }
}

static WindowParams geometry(int batch, int h, int w, int c, int oc, int kh, int kw, int sh, int sw, bool same) {
  WindowParams p;
  p.batch = batch; p.in_h = h; p.in_w = w; p.in_c = c; p.out_c = oc; p.k_h = kh; p.k_w = kw; p.stride_h = sh; p.stride_w = sw;
  auto axis = [&](int in, int k, int s, int& out, int& before) {
    if (same) { out = (in + s - 1) / s; int t = std::max(0, (out - 1) * s + k - in); before = t / 2; }
    else { out = (in - k) / s + 1; before = 0; }
  };
  axis(h, kh, sh, p.out_h, p.pad_top);
  axis(w, kw, sw, p.out_w, p.pad_left);
  return p;
}

static float xat(const WindowParams& p, const std::vector<float>& x, int b, int iy, int ix, int c) {
  if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) return 0.0f;
  return x[(((size_t)b * p.in_h + iy) * p.in_w + ix) * p.in_c + c];
}

static void check_conv(CpuBackend& be, const WindowParams& p) {
  size_t xs = (size_t)p.batch * p.in_h * p.in_w * p.in_c, ys = (size_t)p.batch * p.out_h * p.out_w * p.out_c;
  size_t ws = (size_t)p.k_h * p.k_w * p.in_c * p.out_c;
  auto x = randv(xs), w = randv(ws), dy = randv(ys);
  std::vector<float> y(ys, NAN), dx(xs, NAN), dw(ws, NAN), ry(ys, 0), rdx(xs, 0), rdw(ws, 0);
  for (int b = 0; b < p.batch; b++)
    for (int oy = 0; oy < p.out_h; oy++)
      for (int ox = 0; ox < p.out_w; ox++)
        for (int ky = 0; ky < p.k_h; ky++)
          for (int kx = 0; kx < p.k_w; kx++)
            for (int c = 0; c < p.in_c; c++) {
              int iy = oy * p.stride_h + ky - p.pad_top, ix = ox * p.stride_w + kx - p.pad_left;
              float xv = xat(p, x, b, iy, ix, c);
              bool inside = !(iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w);
              for (int o = 0; o < p.out_c; o++) {
                size_t yi = (((size_t)b * p.out_h + oy) * p.out_w + ox) * p.out_c + o;
                size_t wi = (((size_t)ky * p.k_w + kx) * p.in_c + c) * p.out_c + o;
                ry[yi] += xv * w[wi];
                rdw[wi] += xv * dy[yi];
                if (inside) rdx[(((size_t)b * p.in_h + iy) * p.in_w + ix) * p.in_c + c] += w[wi] * dy[yi];
              }
            }
  be.conv2d_forward(p, x.data(), w.data(), y.data());
  be.conv2d_backward_data(p, dy.data(), w.data(), dx.data());
  be.conv2d_backward_filter(p, x.data(), dy.data(), dw.data());
  char what[200];
  std::snprintf(what, sizeof what, "conv b%d %dx%dx%d->%d k%dx%d s%dx%d pad%d,%d", p.batch, p.in_h, p.in_w, p.in_c, p.out_c, p.k_h,
                p.k_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left);
  std::string base(what);
  report((base + " forward").c_str(), maxdiff(y, ry), 1e-4);
  report((base + " backward_data").c_str(), maxdiff(dx, rdx), 1e-4);
  report((base + " backward_filter").c_str(), maxdiff(dw, rdw), 1e-3);
}

static void check_pool(CpuBackend& be, const WindowParams& p, PoolKind kind) {
  size_t xs = (size_t)p.batch * p.in_h * p.in_w * p.in_c, ys = (size_t)p.batch * p.out_h * p.out_w * p.in_c;
  auto x = randv(xs, true), dy = randv(ys);
  std::vector<float> y(ys, NAN), dx(xs, NAN), ry(ys), rdx(xs, 0);
  const int C = p.in_c;
  for (int b = 0; b < p.batch; b++)
    for (int oy = 0; oy < p.out_h; oy++)
      for (int ox = 0; ox < p.out_w; ox++)
        for (int c = 0; c < C; c++) {
          int y0 = oy * p.stride_h - p.pad_top, x0 = ox * p.stride_w - p.pad_left;
          float acc = kind == PoolKind::Max ? -std::numeric_limits<float>::infinity() : 0.0f;
          long best = -1;
          int count = 0;
          for (int iy = std::max(y0, 0); iy < std::min(y0 + p.k_h, p.in_h); iy++)
            for (int ix = std::max(x0, 0); ix < std::min(x0 + p.k_w, p.in_w); ix++) {
              long i = (((long)b * p.in_h + iy) * p.in_w + ix) * C + c;
              count++;
              if (kind == PoolKind::Max) {
                if (best < 0 || x[i] > x[best]) best = i;
                acc = x[i] > acc ? x[i] : acc;
              } else acc += x[i];
            }
          size_t o = (((size_t)b * p.out_h + oy) * p.out_w + ox) * C + c;
          ry[o] = kind == PoolKind::Max ? acc : (count ? acc / count : 0.0f);
          if (kind == PoolKind::Max) { if (best >= 0) rdx[best] += dy[o]; }
          else if (count)
            for (int iy = std::max(y0, 0); iy < std::min(y0 + p.k_h, p.in_h); iy++)
              for (int ix = std::max(x0, 0); ix < std::min(x0 + p.k_w, p.in_w); ix++)
                rdx[(((long)b * p.in_h + iy) * p.in_w + ix) * C + c] += dy[o] / count;
        }
  be.pool_forward(kind, p, x.data(), y.data());
  be.pool_backward(kind, p, x.data(), y.data(), dy.data(), dx.data());
  char what[200];
  std::snprintf(what, sizeof what, "%s pool b%d %dx%dx%d k%dx%d s%dx%d", kind == PoolKind::Max ? "max" : "avg", p.batch, p.in_h,
                p.in_w, p.in_c, p.k_h, p.k_w, p.stride_h, p.stride_w);
  std::string base(what);
  report((base + " forward").c_str(), maxdiff(y, ry), 0);  // exact
  report((base + " backward").c_str(), maxdiff(dx, rdx), 0);
}

static void check_gemm(ThreadPool& pool, bool ta, bool tb, int m, int n, int k, float alpha, float beta) {
  int lda = ta ? m + 3 : k + 1, ldb = tb ? k + 2 : n + 5, ldc = n + 7;
  auto a = randv((size_t)(ta ? k : m) * lda), b = randv((size_t)(tb ? n : k) * ldb), c0 = randv((size_t)m * ldc);
  std::vector<float> c = c0, r = c0;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++) s += (double)(ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) * (tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
      r[(size_t)i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0.0 : beta * c0[(size_t)i * ldc + j]));
    }
  if (beta == 0) for (int i = 0; i < m; i++) c[(size_t)i * ldc] = NAN;  // must be ignored
  sgemm(pool, ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  char what[160];
  std::snprintf(what, sizeof what, "gemm ta%d tb%d %dx%dx%d alpha %g beta %g", ta, tb, m, n, k, alpha, beta);
  report(what, maxdiff(c, r), 1e-4);
}

int main() {
  CpuBackend be(2);
  ThreadPool pool(2);
  // GEMM: all transposes, edges, split-depth and split-column paths.
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto s : std::vector<std::array<int, 3>>{{1, 1, 1}, {7, 10, 3}, {13, 33, 17}, {128, 32, 784}, {784, 32, 128},
                                                    {12, 32, 5000}, {128, 16, 1024}, {5, 300, 40}, {200, 17, 9}, {100, 100, 100}})
        for (float beta : {0.0f, 1.0f, 0.5f}) check_gemm(pool, ta, tb, s[0], s[1], s[2], beta == 0.5f ? 0.7f : 1.0f, beta);
  // The two notebook convolutions, and awkward ones.
  check_conv(be, geometry(8, 32, 32, 3, 32, 2, 2, 2, 2, true));
  check_conv(be, geometry(8, 16, 16, 32, 16, 2, 2, 2, 2, true));
  check_conv(be, geometry(3, 7, 9, 5, 6, 3, 3, 1, 1, true));
  check_conv(be, geometry(2, 11, 10, 4, 20, 3, 5, 2, 3, true));
  check_conv(be, geometry(2, 11, 10, 4, 33, 3, 2, 1, 2, false));
  check_conv(be, geometry(5, 6, 6, 1, 1, 5, 5, 1, 1, true));
  check_conv(be, geometry(130, 5, 5, 2, 3, 2, 2, 1, 1, true));
  for (PoolKind kind : {PoolKind::Max, PoolKind::Average}) {
    check_pool(be, geometry(8, 16, 16, 32, 32, 2, 2, 1, 1, true), kind);
    check_pool(be, geometry(8, 8, 8, 16, 16, 2, 2, 1, 1, true), kind);
    check_pool(be, geometry(3, 7, 9, 70, 70, 3, 3, 2, 2, true), kind);
    check_pool(be, geometry(3, 7, 9, 5, 5, 2, 3, 2, 1, false), kind);
    check_pool(be, geometry(2, 5, 5, 3, 3, 5, 5, 1, 1, true), kind);
  }
  std::printf(failures ? "%d checks FAILED\n" : "all conv/pool/gemm checks passed\n", failures);
  return failures ? 1 : 0;
}

#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace xarxa {
namespace {

constexpr int MR = 6;    // rows of C per micro-kernel call
constexpr int NR = 16;   // columns of C per micro-kernel call (one AVX-512 vector)
constexpr int KC = 256;  // depth of a packed block (fits L1/L2 with the panels)
constexpr int MC = 96;   // rows of A per packed block (multiple of MR)

typedef float v16 __attribute__((vector_size(64)));

// Element (i, j) of op(X) where X is row-major with row stride ld.
inline float at(const float* x, int ld, bool trans, int i, int j) {
  return trans ? x[(long)j * ld + i] : x[(long)i * ld + j];
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] into NR-wide column panels, each kc x NR,
// zero-padding the last panel.
void pack_b(const float* b, int ldb, bool trans, int k0, int kc, int j0, int nc, float* out) {
  for (int jp = 0; jp < nc; jp += NR) {
    int w = std::min(NR, nc - jp);
    for (int p = 0; p < kc; p++) {
      float* dst = out + (long)jp * kc + (long)p * NR;
      if (!trans && w == NR) {
        std::memcpy(dst, b + (long)(k0 + p) * ldb + j0 + jp, NR * sizeof(float));
      } else {
        int q = 0;
        for (; q < w; q++) dst[q] = at(b, ldb, trans, k0 + p, j0 + jp + q);
        for (; q < NR; q++) dst[q] = 0.0f;
      }
    }
  }
}

// Packs op(A)[i0:i0+mc, k0:k0+kc] into MR-tall row panels, each kc x MR
// (k-major, so the kernel reads MR values of A per step), zero-padded.
void pack_a(const float* a, int lda, bool trans, int i0, int mc, int k0, int kc, float* out) {
  for (int ip = 0; ip < mc; ip += MR) {
    int h = std::min(MR, mc - ip);
    float* panel = out + (long)ip * kc;
    for (int p = 0; p < kc; p++) {
      int r = 0;
      for (; r < h; r++) panel[p * MR + r] = at(a, lda, trans, i0 + ip + r, k0 + p);
      for (; r < MR; r++) panel[p * MR + r] = 0.0f;
    }
  }
}

// acc[MR][NR] = sum_p A[p][r] * B[p][:] over a packed A panel and B panel.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void micro_kernel(int kc, const float* __restrict ap, const float* __restrict bp, float* __restrict tile) {
  v16 c0 = {}, c1 = {}, c2 = {}, c3 = {}, c4 = {}, c5 = {};
  for (int p = 0; p < kc; p++) {
    v16 bv;
    std::memcpy(&bv, bp + p * NR, sizeof(bv));
    const float* av = ap + p * MR;
    c0 += av[0] * bv;
    c1 += av[1] * bv;
    c2 += av[2] * bv;
    c3 += av[3] * bv;
    c4 += av[4] * bv;
    c5 += av[5] * bv;
  }
  std::memcpy(tile + 0 * NR, &c0, sizeof(v16));
  std::memcpy(tile + 1 * NR, &c1, sizeof(v16));
  std::memcpy(tile + 2 * NR, &c2, sizeof(v16));
  std::memcpy(tile + 3 * NR, &c3, sizeof(v16));
  std::memcpy(tile + 4 * NR, &c4, sizeof(v16));
  std::memcpy(tile + 5 * NR, &c5, sizeof(v16));
}

struct Problem {
  bool ta, tb;
  int m, n, k;
  float alpha;
  const float* a;
  int lda;
  const float* b;
  int ldb;
  float* c;  // already scaled by beta
  int ldc;
};

// Computes C[i0:i1, j0:j1] += alpha * op(A) op(B) over depth [k0, k1).
void gemm_block(const Problem& pr, int i0, int i1, int j0, int j1, int k0, int k1, std::vector<float>& abuf,
                std::vector<float>& bbuf) {
  int ncols = j1 - j0;
  int npad = (ncols + NR - 1) / NR * NR;
  alignas(64) float tile[MR * NR];
  for (int kb = k0; kb < k1; kb += KC) {
    int kc = std::min(KC, k1 - kb);
    bbuf.resize((size_t)kc * npad);
    pack_b(pr.b, pr.ldb, pr.tb, kb, kc, j0, ncols, bbuf.data());
    for (int ib = i0; ib < i1; ib += MC) {
      int mc = std::min(MC, i1 - ib);
      int mpad = (mc + MR - 1) / MR * MR;
      abuf.resize((size_t)kc * mpad);
      pack_a(pr.a, pr.lda, pr.ta, ib, mc, kb, kc, abuf.data());
      for (int jp = 0; jp < ncols; jp += NR) {
        int w = std::min(NR, ncols - jp);
        for (int ip = 0; ip < mc; ip += MR) {
          int h = std::min(MR, mc - ip);
          micro_kernel(kc, abuf.data() + (long)ip * kc, bbuf.data() + (long)jp * kc, tile);
          for (int r = 0; r < h; r++) {
            float* crow = pr.c + (long)(ib + ip + r) * pr.ldc + j0 + jp;
            const float* t = tile + r * NR;
            for (int q = 0; q < w; q++) crow[q] += pr.alpha * t[q];
          }
        }
      }
    }
  }
}

}  // namespace

const char* sgemm_kernel_name() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "generic";
}

void sgemm(ThreadPool& pool, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
           int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  // C = beta * C first (beta == 0 must ignore whatever C held, NaN included).
  for (int i = 0; i < m; i++) {
    float* row = c + (long)i * ldc;
    if (beta == 0.0f) std::fill(row, row + n, 0.0f);
    else if (beta != 1.0f) for (int j = 0; j < n; j++) row[j] *= beta;
  }
  if (k <= 0 || alpha == 0.0f) return;
  Problem pr{trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc};
  const double flops = 2.0 * m * n * k;
  int threads = flops < 2e5 ? 1 : pool.size();
  static thread_local std::vector<float> abuf, bbuf;

  if (threads == 1) {
    gemm_block(pr, 0, m, 0, n, 0, k, abuf, bbuf);
    return;
  }
  if (m >= threads * 2 * MR) {
    // Split rows of C: each thread owns a horizontal band.
    pool.parallel_for(m, 2 * MR, [&](int, long i0, long i1) {
      static thread_local std::vector<float> ta, tb;
      gemm_block(pr, (int)i0, (int)i1, 0, n, 0, k, ta, tb);
    });
  } else if (n >= threads * NR) {
    int panels = (n + NR - 1) / NR;
    pool.parallel_for(panels, 1, [&](int, long p0, long p1) {
      static thread_local std::vector<float> ta, tb;
      gemm_block(pr, 0, m, (int)p0 * NR, std::min(n, (int)p1 * NR), 0, k, ta, tb);
    });
  } else {
    // Small C, long depth (e.g. weight gradients): split k, reduce partial sums.
    int parts = pool.size();
    std::vector<std::vector<float>> partial(parts);
    pool.parallel_for(k, KC, [&](int t, long k0, long k1) {
      static thread_local std::vector<float> ta, tb;
      partial[t].assign((size_t)m * n, 0.0f);
      Problem local = pr;
      local.c = partial[t].data();
      local.ldc = n;
      gemm_block(local, 0, m, 0, n, (int)k0, (int)k1, ta, tb);
    });
    for (auto& part : partial) {
      if (part.empty()) continue;
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[(long)i * ldc + j] += part[(size_t)i * n + j];
    }
  }
}

}  // namespace xarxa

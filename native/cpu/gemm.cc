#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

// ---- the micro-kernels, once per instruction set ------------------------------
#if defined(__x86_64__) && defined(__GNUC__)
#define XARXA_GEMM_X86 1
#define XA_ISA_NS isa_avx512
#define XA_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#include "gemm_kernel.inc"
#undef XA_ISA_NS
#undef XA_TARGET
#define XA_ISA_NS isa_avx2
#define XA_TARGET __attribute__((target("avx2,fma")))
#include "gemm_kernel.inc"
#undef XA_ISA_NS
#undef XA_TARGET
#endif
#define XA_ISA_NS isa_generic
#define XA_TARGET
#include "gemm_kernel.inc"
#undef XA_ISA_NS
#undef XA_TARGET

namespace xarxa {
namespace {

using KernelFn = void (*)(int kc, const float* ap, const float* bp, float* c, long ldc, int rows, int cols, float alpha,
                          float beta, int mode);

struct Kernel {
  KernelFn fn;
  int mr, nr;
};

// Two shapes per instruction set: a wide one for n > 16 and a narrow one for
// n <= 16 (most layers here have 10-32 outputs). AVX-512: 12x32 and 16x16
// (24 and 16 zmm accumulators: enough independent FMAs to cover the latency of
// two FMA pipes). AVX2: 6x16 (12 ymm). Portable: 4x16.
struct KernelSet {
  const char* name;
  Kernel wide, narrow;
};

const KernelSet& kernels() {
  static const KernelSet set = [] {
#ifdef XARXA_GEMM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
      return KernelSet{"avx512", {isa_avx512::micro_kernel<12, 2>, 12, 32}, {isa_avx512::micro_kernel<16, 1>, 16, 16}};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return KernelSet{"avx2", {isa_avx2::micro_kernel<6, 1>, 6, 16}, {isa_avx2::micro_kernel<6, 1>, 6, 16}};
#endif
    return KernelSet{"generic", {isa_generic::micro_kernel<4, 1>, 4, 16}, {isa_generic::micro_kernel<4, 1>, 4, 16}};
  }();
  return set;
}

// Grow-only, 64-byte aligned scratch owned by one thread: packing buffers and
// split-depth partial sums are reused across calls (no per-batch allocation).
struct Scratch {
  float* ptr = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(ptr); }
  float* get(size_t floats) {
    if (floats > cap) {
      std::free(ptr);
      size_t want = std::max<size_t>(floats, cap * 3 / 2);
      size_t bytes = (want * sizeof(float) + 63) / 64 * 64;
      ptr = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!ptr) {
        cap = 0;
        throw std::bad_alloc();
      }
      cap = bytes / sizeof(float);
    }
    return ptr;
  }
};

thread_local Scratch t_apack, t_bpack, t_partial;

// ---- panel packing from row-major rows ----------------------------------------

void pack_rows_scalar(const float* src, long ld, int rows, int kc, int mr, float* out) {
  for (int r = 0; r < rows; r++) {
    const float* s = src + r * ld;
    for (int p = 0; p < kc; p++) out[(long)p * mr + r] = s[p];
  }
  for (int r = rows; r < mr; r++)
    for (int p = 0; p < kc; p++) out[(long)p * mr + r] = 0.0f;
}

#ifdef XARXA_GEMM_X86
// One gather per packed row: lane r reads src[r*ld + p]; a masked store writes mr lanes.
__attribute__((target("avx512f"))) void pack_rows_avx512(const float* src, long ld, int rows, int kc, int mr,
                                                         float* out) {
  const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)ld));
  const __mmask16 load = (__mmask16)((1u << rows) - 1), store = (__mmask16)((1u << mr) - 1);
  const __m512 zero = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++) {
    const __m512 v = _mm512_mask_i32gather_ps(zero, load, index, src + p, 4);
    _mm512_mask_storeu_ps(out + (long)p * mr, store, v);
  }
}
#endif

using PackRowsFn = void (*)(const float*, long, int, int, int, float*);

PackRowsFn pack_rows_fn() {
  static const PackRowsFn fn = [] {
#ifdef XARXA_GEMM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return &pack_rows_avx512;
#endif
    return &pack_rows_scalar;
  }();
  return fn;
}

constexpr int KC_MAX = 384;          // depth of a packed block
constexpr long A_BLOCK = 48 * 1024;  // floats of A packed at a time (~192 KiB, in L2)
constexpr long B_BLOCK = 64 * 1024;  // floats of B packed at a time (~256 KiB, in L2)

struct Problem {
  const GemmASource* src;  // A from a packer, or:
  const float* a;
  int lda;
  bool ta, tb;
  const float* b;
  int ldb;
  int m, n, k;
  float alpha;
};

// op(A)[i0:i0+mc, k0:k0+kc] into mr-row panels (see GemmASource).
void pack_a(const Problem& pr, int i0, int mc, int k0, int kc, int mr, float* out) {
  if (pr.src) {
    pr.src->pack(i0, mc, k0, kc, mr, out);
    return;
  }
  for (int ip = 0; ip < mc; ip += mr) {
    const int h = std::min(mr, mc - ip);
    float* panel = out + (long)ip * kc;
    if (pr.ta) {
      // A stored k x m: op(A)[i][p] = a[p * lda + i]; mr contiguous values per p.
      const float* src = pr.a + (long)k0 * pr.lda + i0 + ip;
      for (int p = 0; p < kc; p++) {
        const float* s = src + (long)p * pr.lda;
        float* d = panel + (long)p * mr;
        int r = 0;
        for (; r < h; r++) d[r] = s[r];
        for (; r < mr; r++) d[r] = 0.0f;
      }
    } else {
      pack_rows_interleaved(pr.a + (long)(i0 + ip) * pr.lda + k0, pr.lda, h, kc, mr, panel);
    }
  }
}

// op(B)[k0:k0+kc, j0:j0+nc] into nr-wide column panels, each kc x nr, zero-padded.
void pack_b(const Problem& pr, int k0, int kc, int j0, int nc, int nr, float* out) {
  for (int jp = 0; jp < nc; jp += nr) {
    const int w = std::min(nr, nc - jp);
    float* panel = out + (long)jp * kc;
    if (!pr.tb) {
      const float* src = pr.b + (long)k0 * pr.ldb + j0 + jp;
      for (int p = 0; p < kc; p++) {
        float* d = panel + (long)p * nr;
        std::memcpy(d, src + (long)p * pr.ldb, sizeof(float) * w);
        if (w < nr) std::memset(d + w, 0, sizeof(float) * (nr - w));
      }
    } else {
      // B stored n x k: op(B)[p][j] = b[j * ldb + p].
      for (int q = 0; q < w; q++) {
        const float* s = pr.b + (long)(j0 + jp + q) * pr.ldb + k0;
        for (int p = 0; p < kc; p++) panel[(long)p * nr + q] = s[p];
      }
      if (w < nr)
        for (int p = 0; p < kc; p++) std::memset(panel + (long)p * nr + w, 0, sizeof(float) * (nr - w));
    }
  }
}

inline int round_up(int x, int to) { return (x + to - 1) / to * to; }

// C[i0:i1, j0:j1] (c points at element (i0, j0)) = alpha * op(A) op(B) over
// depth [k0, k1), merged into C with beta; on the calling thread.
void gemm_range(const Problem& pr, const Kernel& kn, int i0, int i1, int j0, int j1, int k0, int k1, float alpha,
                float beta, float* c, long ldc) {
  const int mr = kn.mr, nr = kn.nr;
  const int depth = k1 - k0;
  const int kblocks = (depth + KC_MAX - 1) / KC_MAX;
  const int kc_max = round_up((depth + kblocks - 1) / kblocks, 4);
  const int mc_max = std::max(mr, (int)(A_BLOCK / kc_max) / mr * mr);
  const int nc_max = std::max(nr, (int)(B_BLOCK / kc_max) / nr * nr);
  float* abuf = t_apack.get((size_t)kc_max * round_up(std::min(mc_max, i1 - i0), mr));
  float* bbuf = t_bpack.get((size_t)kc_max * round_up(std::min(nc_max, j1 - j0), nr));
  for (int kb = k0; kb < k1; kb += kc_max) {
    const int kc = std::min(kc_max, k1 - kb);
    const int mode = kb == k0 ? (beta == 0.0f ? 0 : beta == 1.0f ? 2 : 1) : 2;
    for (int jb = j0; jb < j1; jb += nc_max) {
      const int nc = std::min(nc_max, j1 - jb);
      pack_b(pr, kb, kc, jb, nc, nr, bbuf);
      for (int ib = i0; ib < i1; ib += mc_max) {
        const int mc = std::min(mc_max, i1 - ib);
        pack_a(pr, ib, mc, kb, kc, mr, abuf);
        for (int jp = 0; jp < nc; jp += nr) {
          const int w = std::min(nr, nc - jp);
          const float* bp = bbuf + (long)jp * kc;
          for (int ip = 0; ip < mc; ip += mr) {
            float* cp = c + (long)(ib - i0 + ip) * ldc + (jb - j0 + jp);
            kn.fn(kc, abuf + (long)ip * kc, bp, cp, ldc, std::min(mr, mc - ip), w, alpha, beta, mode);
          }
        }
      }
    }
  }
}

void scale_rows(float* c, int ldc, int m, int n, float beta) {
  for (int i = 0; i < m; i++) {
    float* row = c + (long)i * ldc;
    if (beta == 0.0f) std::fill(row, row + n, 0.0f);
    else if (beta != 1.0f)
      for (int j = 0; j < n; j++) row[j] *= beta;
  }
}

void run(ThreadPool* pool, const Problem& pr, float beta, float* c, int ldc) {
  const int m = pr.m, n = pr.n, k = pr.k;
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || pr.alpha == 0.0f) {
    // C = beta * C (beta == 0 must ignore whatever C held, NaN included).
    scale_rows(c, ldc, m, n, beta);
    return;
  }
  const KernelSet& ks = kernels();
  const Kernel& kn = n > 16 ? ks.wide : ks.narrow;
  const double flops = 2.0 * m * n * k;
  const int threads = pool && flops >= 3e5 ? pool->size() : 1;
  if (threads == 1) {
    gemm_range(pr, kn, 0, m, 0, n, 0, k, pr.alpha, beta, c, ldc);
    return;
  }
  const bool rows_enough = m >= threads * 2 * kn.mr;
  const bool long_depth = k >= 8 * m && k >= threads * 64 && (long)m * n <= (1L << 20);
  if (rows_enough && !long_depth) {
    // Each thread owns a band of rows (a multiple of mr).
    const long panels = (m + kn.mr - 1) / kn.mr;
    pool->parallel_for(panels, 2, [&](int, long p0, long p1) {
      const int i0 = (int)(p0 * kn.mr), i1 = std::min(m, (int)(p1 * kn.mr));
      gemm_range(pr, kn, i0, i1, 0, n, 0, k, pr.alpha, beta, c + (long)i0 * ldc, ldc);
    });
  } else if (!long_depth && n >= threads * 2 * kn.nr) {
    const long panels = (n + kn.nr - 1) / kn.nr;
    pool->parallel_for(panels, 2, [&](int, long p0, long p1) {
      const int j0 = (int)(p0 * kn.nr), j1 = std::min(n, (int)(p1 * kn.nr));
      gemm_range(pr, kn, 0, m, j0, j1, 0, k, pr.alpha, beta, c + j0, ldc);
    });
  } else if (k >= threads * 16) {
    // Small C, long depth (weight gradients): split the depth into parts.
    // Part 0 merges into C with beta; the others write partial sums into the
    // calling thread's kept buffer, added afterwards. Two parts per thread so
    // that a descheduled worker leaves little to wait for.
    const int parts = std::min(threads * 2, std::max(2, k / 64));
    const long mn = (long)m * n;
    float* partial = t_partial.get((size_t)(parts - 1) * mn);
    pool->run_on(parts, [&](int t) {
      const int k0 = t == 0 ? 0 : (int)((long)k * t / parts) / 4 * 4;
      const int k1 = t + 1 == parts ? k : (int)((long)k * (t + 1) / parts) / 4 * 4;
      if (t == 0) gemm_range(pr, kn, 0, m, 0, n, k0, k1, pr.alpha, beta, c, ldc);
      else if (k1 > k0) gemm_range(pr, kn, 0, m, 0, n, k0, k1, pr.alpha, 0.0f, partial + (t - 1) * mn, n);
      else std::fill(partial + (t - 1) * mn, partial + t * mn, 0.0f);
    });
    auto reduce = [&](int, long i0, long i1) {
      for (long i = i0; i < i1; i++) {
        float* row = c + i * ldc;
        for (int t = 1; t < parts; t++) {
          const float* p = partial + (t - 1) * mn + i * n;
          for (int j = 0; j < n; j++) row[j] += p[j];
        }
      }
    };
    if (mn >= 32768) pool->parallel_for(m, 8, reduce);
    else reduce(0, 0, m);
  } else {
    gemm_range(pr, kn, 0, m, 0, n, 0, k, pr.alpha, beta, c, ldc);
  }
}

}  // namespace

const char* sgemm_kernel_name() { return kernels().name; }

void pack_rows_interleaved(const float* src, long ld, int rows, int kc, int mr, float* out) {
  // Gathers need 32-bit element offsets.
  if (mr <= 16 && ld * 16 < (1L << 31)) pack_rows_fn()(src, ld, rows, kc, mr, out);
  else pack_rows_scalar(src, ld, rows, kc, mr, out);
}

void sgemm(ThreadPool& pool, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
           int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  Problem pr{nullptr, a, lda, trans_a, trans_b, b, ldb, m, n, k, alpha};
  run(&pool, pr, beta, c, ldc);
}

void sgemm_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc) {
  Problem pr{nullptr, a, lda, trans_a, trans_b, b, ldb, m, n, k, alpha};
  run(nullptr, pr, beta, c, ldc);
}

void sgemm_source(ThreadPool& pool, const GemmASource& a, bool trans_b, int m, int n, int k, float alpha,
                  const float* b, int ldb, float beta, float* c, int ldc) {
  Problem pr{&a, nullptr, 0, false, trans_b, b, ldb, m, n, k, alpha};
  run(&pool, pr, beta, c, ldc);
}

}  // namespace xarxa

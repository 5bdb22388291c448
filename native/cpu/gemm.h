// Single-precision GEMM for the CPU backend: C = alpha * op(A) * op(B) + beta * C,
// row-major. A packed, register-blocked kernel (GotoBLAS-style: pack a panel
// of B and a block of A, multiply with an MR x NR micro-kernel that keeps the
// whole C tile in registers) compiled for AVX-512, AVX2+FMA and a portable
// baseline; the best one is chosen at run time, so one binary serves every
// x86-64 CPU. Work is split over the pool's threads by rows of C, by columns,
// or (small C, long depth: weight gradients) by depth with a reduction into
// per-thread buffers that are kept between calls (no per-call allocation).
#pragma once

namespace xarxa {

class ThreadPool;

void sgemm(ThreadPool& pool, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
           const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

// The same on the calling thread only (for use inside a parallel region).
void sgemm_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc);

// An A operand that is never stored: it packs op(A)[i0:i0+mc, k0:k0+kc] itself
// (e.g. an implicit im2col of a convolution's input). Layout to write: row
// panels of `mr` rows, panel q at out + q*kc*mr, element (i0+q*mr+r, k0+p) at
// [p*mr + r]; rows past mc in the last panel are zero. Called concurrently
// from several threads (for disjoint blocks).
class GemmASource {
 public:
  virtual ~GemmASource() = default;
  virtual void pack(int i0, int mc, int k0, int kc, int mr, float* out) const = 0;
};

// For packers: writes one panel (layout above, mr <= 16) from `rows` (<= mr)
// row-major rows of kc floats at stride ld: out[p*mr + r] = src[r*ld + p],
// rows past `rows` zero. Uses AVX-512 gathers when the CPU has them.
void pack_rows_interleaved(const float* src, long ld, int rows, int kc, int mr, float* out);

// C = alpha * A * op(B) + beta * C with A given by a packer (m x k).
void sgemm_source(ThreadPool& pool, const GemmASource& a, bool trans_b, int m, int n, int k, float alpha,
                  const float* b, int ldb, float beta, float* c, int ldc);

// Name of the micro-kernel variant picked for this CPU ("avx512", "avx2", "generic").
const char* sgemm_kernel_name();

}  // namespace xarxa

// Single-precision GEMM for the CPU backend: C = alpha * op(A) * op(B) + beta * C,
// row-major. A packed, register-blocked kernel (GotoBLAS-style: pack a panel
// of B and a block of A, multiply with a 6x16 micro-kernel) compiled for
// AVX-512, AVX2+FMA and a portable baseline; the best one is chosen at run
// time, so one binary serves every x86-64 CPU.
#pragma once

namespace xarxa {

class ThreadPool;

void sgemm(ThreadPool& pool, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
           const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

// Name of the micro-kernel variant picked for this CPU ("avx512", "avx2", "generic").
const char* sgemm_kernel_name();

}  // namespace xarxa

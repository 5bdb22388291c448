// The emulated cuBLAS: the calls the backend makes (handles, versions, status
// names, sgemm, sgemv), with cuBLAS's argument checks and column-major
// semantics, host pointer mode only. The math is queued on the handle's stream
// and runs when the host waits, as on a GPU.
#include <cublas_v2.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "cuda/emulator/emulator.h"

// The opaque type cublas_api.h declares.
struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;  // stored only: the emulator always computes plain FP32
  void* workspace = nullptr;                // cublasSetWorkspace: stored only (the emulator needs none)
  size_t workspace_bytes = 0;
};

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

// A call cuBLAS would reject: why, to stderr, then CUBLAS_STATUS_INVALID_VALUE.
cublasStatus_t invalid(const char* call, const std::string& why) {
  std::fprintf(stderr, "cuda emulator: %s: %s\n", call, why.c_str());
  return CUBLAS_STATUS_INVALID_VALUE;
}

// For real data CUBLAS_OP_C is the plain transpose.
bool known_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// The floats a column-major rows x cols matrix with leading dimension ld spans.
size_t matrix_floats(int rows, int cols, int ld) { return static_cast<size_t>(ld) * (cols - 1) + rows; }

// The floats a vector of n elements, inc apart, spans.
size_t vector_floats(int n, int inc) { return static_cast<size_t>(inc) * (n - 1) + 1; }

// Checks that `floats` floats at p lie in one device allocation; otherwise says
// so on stderr (naming the operand) and answers false.
bool on_device(const char* call, const char* name, const float* p, size_t floats) {
  if (p && xarxa_emu::is_device_range(p, floats * sizeof(float))) return true;
  char where[32];
  std::snprintf(where, sizeof where, "%p", static_cast<const void*>(p));
  invalid(call, std::string(name) + " (" + std::to_string(floats) + " floats at " + where +
                    ") is not inside one device allocation");
  return false;
}

// Host pointer mode: alpha and beta are read from host memory at the call.
bool host_scalars(const char* call, const float* alpha, const float* beta) {
  if (!alpha || !beta) {
    invalid(call, "alpha or beta is null");
    return false;
  }
  if (xarxa_emu::is_device_range(alpha, sizeof(float)) || xarxa_emu::is_device_range(beta, sizeof(float))) {
    invalid(call, "alpha and beta point to device memory, but the pointer mode is host");
    return false;
  }
  return true;
}

// Element (i, j) of op(M) for a column-major M with leading dimension ld.
float op_element(const float* m, int ld, bool transposed, int i, int j) {
  return transposed ? m[static_cast<size_t>(i) * ld + j] : m[static_cast<size_t>(j) * ld + i];
}

// out = product + beta * out, where beta == 0 does not read out (NaN there must not propagate).
void store(float* out, float product, float beta) { *out = beta == 0.0f ? product : product + beta * *out; }

struct StatusName {
  cublasStatus_t status;
  const char* name;
  const char* text;
};
const StatusName kStatuses[] = {
    {CUBLAS_STATUS_SUCCESS, "CUBLAS_STATUS_SUCCESS", "success"},
    {CUBLAS_STATUS_NOT_INITIALIZED, "CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"},
    {CUBLAS_STATUS_ALLOC_FAILED, "CUBLAS_STATUS_ALLOC_FAILED", "the resource allocation failed"},
    {CUBLAS_STATUS_INVALID_VALUE, "CUBLAS_STATUS_INVALID_VALUE", "an invalid numeric value was used as an argument"},
    {CUBLAS_STATUS_ARCH_MISMATCH, "CUBLAS_STATUS_ARCH_MISMATCH", "an absent device architectural feature is required"},
    {CUBLAS_STATUS_MAPPING_ERROR, "CUBLAS_STATUS_MAPPING_ERROR", "an access to GPU memory space failed"},
    {CUBLAS_STATUS_EXECUTION_FAILED, "CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"},
    {CUBLAS_STATUS_INTERNAL_ERROR, "CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"},
    {CUBLAS_STATUS_NOT_SUPPORTED, "CUBLAS_STATUS_NOT_SUPPORTED", "the functionality requested is not supported"},
    {CUBLAS_STATUS_LICENSE_ERROR, "CUBLAS_STATUS_LICENSE_ERROR", "error detected trying to check the license"},
};

const StatusName* find_status(cublasStatus_t status) {
  for (const StatusName& s : kStatuses)
    if (s.status == status) return &s;
  return nullptr;
}

}  // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  Lock lock(xarxa_emu::device_mutex());
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasContext();
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  Lock lock(xarxa_emu::device_mutex());
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;  // queued work holds copies of what it needs, not the handle
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
  Lock lock(xarxa_emu::device_mutex());
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = streamId;
  return CUBLAS_STATUS_SUCCESS;
}

// cuBLAS's documented requirements: device memory of the given size, 256-byte aligned.
cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace, size_t workspaceSizeInBytes) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cublasSetWorkspace";
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (workspaceSizeInBytes > 0) {
    if (!workspace || !xarxa_emu::is_device_range(workspace, workspaceSizeInBytes))
      return invalid(call, std::to_string(workspaceSizeInBytes) + " bytes at the workspace are not one device allocation");
    if (reinterpret_cast<uintptr_t>(workspace) % 256 != 0) return invalid(call, "the workspace is not 256-byte aligned");
  }
  handle->workspace = workspace;
  handle->workspace_bytes = workspaceSizeInBytes;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  Lock lock(xarxa_emu::device_mutex());
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  // A mode is one of the base modes, optionally with the reduction flag.
  const int base = mode & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  if (base < CUBLAS_DEFAULT_MATH || base > CUBLAS_FP32_EMULATED_BF16X9_MATH)
    return invalid("cublasSetMathMode", "unknown math mode " + std::to_string(mode));
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version) {
  Lock lock(xarxa_emu::device_mutex());
  if (!version) return CUBLAS_STATUS_INVALID_VALUE;
  *version = CUBLAS_VERSION;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  Lock lock(xarxa_emu::device_mutex());
  if (!value) return CUBLAS_STATUS_INVALID_VALUE;
  switch (type) {
    case MAJOR_VERSION:
      *value = CUBLAS_VER_MAJOR;
      return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION:
      *value = CUBLAS_VER_MINOR;
      return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL:
      *value = CUBLAS_VER_PATCH;
      return CUBLAS_STATUS_SUCCESS;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  Lock lock(xarxa_emu::device_mutex());
  const StatusName* s = find_status(status);
  return s ? s->name : "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  Lock lock(xarxa_emu::device_mutex());
  const StatusName* s = find_status(status);
  return s ? s->text : "unknown cuBLAS status";
}

// C = alpha * op(A) * op(B) + beta * C, where C is m x n, op(A) m x k and op(B) k x n.
cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                              int n, int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                              const float* beta, float* C, int ldc) {
  Lock lock(xarxa_emu::device_mutex());
  if (xarxa_emu::sticky_error() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;  // the context is lost
  const char* call = "cublasSgemm";
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!known_op(transa) || !known_op(transb)) return invalid(call, "unknown transa or transb");
  if (m < 0 || n < 0 || k < 0)
    return invalid(call, "negative size m " + std::to_string(m) + " n " + std::to_string(n) + " k " +
                             std::to_string(k));
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  // A is stored as a_rows x a_cols, B as b_rows x b_cols.
  const int a_rows = ta ? k : m, a_cols = ta ? m : k;
  const int b_rows = tb ? n : k, b_cols = tb ? k : n;
  if (lda < std::max(1, a_rows)) return invalid(call, "lda " + std::to_string(lda) + " is too small");
  if (ldb < std::max(1, b_rows)) return invalid(call, "ldb " + std::to_string(ldb) + " is too small");
  if (ldc < std::max(1, m)) return invalid(call, "ldc " + std::to_string(ldc) + " is too small");
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!host_scalars(call, alpha, beta)) return CUBLAS_STATUS_INVALID_VALUE;
  const float a = *alpha, b = *beta;
  const bool reads_ab = k > 0 && a != 0.0f;  // otherwise C = beta * C, and A and B are not read
  if (reads_ab && !on_device(call, "A", A, matrix_floats(a_rows, a_cols, lda))) return CUBLAS_STATUS_INVALID_VALUE;
  if (reads_ab && !on_device(call, "B", B, matrix_floats(b_rows, b_cols, ldb))) return CUBLAS_STATUS_INVALID_VALUE;
  if (!on_device(call, "C", C, matrix_floats(m, n, ldc))) return CUBLAS_STATUS_INVALID_VALUE;
  const bool ok = xarxa_emu::enqueue(handle->stream, [=] {
    for (int j = 0; j < n; j++)
      for (int i = 0; i < m; i++) {
        float product = 0.0f;
        if (reads_ab) {
          float sum = 0.0f;
          for (int p = 0; p < k; p++) sum += op_element(A, lda, ta, i, p) * op_element(B, ldb, tb, p, j);
          product = a * sum;
        }
        store(C + static_cast<size_t>(j) * ldc + i, product, b);
      }
  });
  return ok ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

// y = alpha * op(A) * x + beta * y for a column-major m x n A.
cublasStatus_t cublasSgemv_v2(cublasHandle_t handle, cublasOperation_t trans, int m, int n, const float* alpha,
                              const float* A, int lda, const float* x, int incx, const float* beta, float* y,
                              int incy) {
  Lock lock(xarxa_emu::device_mutex());
  if (xarxa_emu::sticky_error() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;  // the context is lost
  const char* call = "cublasSgemv";
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!known_op(trans)) return invalid(call, "unknown trans");
  if (m < 0 || n < 0) return invalid(call, "negative size m " + std::to_string(m) + " n " + std::to_string(n));
  if (lda < std::max(1, m)) return invalid(call, "lda " + std::to_string(lda) + " is too small");
  if (incx == 0 || incy == 0) return invalid(call, "incx and incy must not be 0");
  if (incx < 0 || incy < 0) return invalid(call, "the emulator does not support negative incx or incy");
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!host_scalars(call, alpha, beta)) return CUBLAS_STATUS_INVALID_VALUE;
  const bool t = trans != CUBLAS_OP_N;
  const int out_len = t ? n : m, in_len = t ? m : n;  // lengths of y and x
  const float a = *alpha, b = *beta;
  const bool reads_ax = a != 0.0f;  // otherwise y = beta * y, and A and x are not read
  if (reads_ax && !on_device(call, "A", A, matrix_floats(m, n, lda))) return CUBLAS_STATUS_INVALID_VALUE;
  if (reads_ax && !on_device(call, "x", x, vector_floats(in_len, incx))) return CUBLAS_STATUS_INVALID_VALUE;
  if (!on_device(call, "y", y, vector_floats(out_len, incy))) return CUBLAS_STATUS_INVALID_VALUE;
  const bool ok = xarxa_emu::enqueue(handle->stream, [=] {
    for (int i = 0; i < out_len; i++) {
      float product = 0.0f;
      if (reads_ax) {
        float sum = 0.0f;
        for (int p = 0; p < in_len; p++) sum += op_element(A, lda, t, i, p) * x[static_cast<size_t>(p) * incx];
        product = a * sum;
      }
      store(y + static_cast<size_t>(i) * incy, product, b);
    }
  });
  return ok ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // extern "C"

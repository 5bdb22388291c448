// CUDA / cuBLAS / cuDNN status codes -> xarxa::Error, with the op that failed,
// the library call and the library's own message, e.g.
//   "cuda conv2d_forward: cudnnConvolutionForward failed: CUDNN_STATUS_BAD_PARAM (...)".
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "core/error.h"

namespace xarxa {
namespace cuda {

// "35 cudaErrorInsufficientDriver (CUDA driver version is insufficient for CUDA runtime version)"
std::string cuda_error_text(cudaError_t e);

// "3000 CUDNN_STATUS_NOT_SUPPORTED (cuDNN's last error message, when it has one)"
std::string cudnn_error_text(cudnnStatus_t s);

[[noreturn]] void throw_cuda(const char* op, const char* call, cudaError_t e);
[[noreturn]] void throw_cublas(const char* op, const char* call, cublasStatus_t s);
[[noreturn]] void throw_cudnn(const char* op, const char* call, cudnnStatus_t s);

}  // namespace cuda
}  // namespace xarxa

// `op` is the Backend method (or another short label); `call` the library call.
#define XARXA_CUDA_CHECK(op, call)                                                 \
  do {                                                                             \
    cudaError_t xarxa_e_ = (call);                                                 \
    if (xarxa_e_ != cudaSuccess) ::xarxa::cuda::throw_cuda((op), #call, xarxa_e_); \
  } while (0)

#define XARXA_CUBLAS_CHECK(op, call)                                                          \
  do {                                                                                        \
    cublasStatus_t xarxa_s_ = (call);                                                         \
    if (xarxa_s_ != CUBLAS_STATUS_SUCCESS) ::xarxa::cuda::throw_cublas((op), #call, xarxa_s_); \
  } while (0)

#define XARXA_CUDNN_CHECK(op, call)                                                         \
  do {                                                                                      \
    cudnnStatus_t xarxa_s_ = (call);                                                        \
    if (xarxa_s_ != CUDNN_STATUS_SUCCESS) ::xarxa::cuda::throw_cudnn((op), #call, xarxa_s_); \
  } while (0)

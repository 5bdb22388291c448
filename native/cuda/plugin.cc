// The C entry points of libxarxa_cuda.so (see plugin.h). Nothing is thrown
// across this boundary: failures come back as null / -1 plus a message. (The
// Backend's own methods do throw xarxa::Error, which the addon catches.)
#include "cuda/plugin.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/profiled_backend.h"

namespace {

void put(char* error, int error_len, const std::string& message) {
  if (error && error_len > 0) std::snprintf(error, static_cast<size_t>(error_len), "%s", message.c_str());
}

std::string device_count_error(cudaError_t e) {
  const std::string what = "cudaGetDeviceCount failed with " + xarxa::cuda::cuda_error_text(e);
  if (e == cudaErrorInsufficientDriver) {
    int driver = 0;
    cudaDriverGetVersion(&driver);
    cudaGetLastError();
    if (driver == 0) return "no CUDA driver: " + what;
    return "the NVIDIA driver is too old: it supports CUDA " + std::to_string(driver / 1000) + "." +
           std::to_string(driver % 1000 / 10) + ", this library needs CUDA " + std::to_string(CUDART_VERSION / 1000) +
           "." + std::to_string(CUDART_VERSION % 1000 / 10) + " or newer: " + what;
  }
  if (e == cudaErrorNoDevice) return "no CUDA device (cudaErrorNoDevice): " + what;
  return "CUDA is not usable: " + what;
}

}  // namespace

extern "C" {

int xarxa_cuda_abi(void) { return XARXA_CUDA_PLUGIN_ABI; }

int xarxa_cuda_device_count(char* error, int error_len) {
  // Every message goes through a std::string (which may throw bad_alloc): nothing may
  // leave this C entry point as an exception.
  try {
    put(error, error_len, "");
    int count = 0;  // left untouched when the call fails
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      put(error, error_len, device_count_error(e));
      return -1;
    }
    if (count == 0) put(error, error_len, "no CUDA device found");
    return count;
  } catch (...) {
    if (error && error_len > 0) std::snprintf(error, static_cast<size_t>(error_len), "%s", "cudaGetDeviceCount failed");
    return -1;
  }
}

xarxa::Backend* xarxa_cuda_create(int ordinal, char* error, int error_len) {
  try {
    const int count = xarxa_cuda_device_count(error, error_len);
    if (count < 0) return nullptr;
    if (ordinal < 0 || ordinal >= count) {
      put(error, error_len,
          "CUDA device " + std::to_string(ordinal) + " does not exist (" + std::to_string(count) + " device(s))");
      return nullptr;
    }
    auto backend = std::make_unique<xarxa::cuda::CudaBackend>(ordinal);
    const char* profile = std::getenv("XARXA_CUDA_PROFILE");  // op_profiler.h
    if (profile && *profile) return new xarxa::cuda::ProfiledBackend(std::move(backend), profile);
    return backend.release();
  } catch (const std::exception& e) {
    put(error, error_len, e.what());
  } catch (...) {
    put(error, error_len, "unknown error while creating the CUDA backend");
  }
  return nullptr;
}

int xarxa_cuda_versions(int* runtime, int* driver, int* cublas, int* cudnn) {
  int v = 0;
  if (runtime) {
    *runtime = cudaRuntimeGetVersion(&v) == cudaSuccess ? v : 0;
  }
  if (driver) {
    v = 0;
    *driver = cudaDriverGetVersion(&v) == cudaSuccess ? v : 0;
  }
  cudaGetLastError();
  if (cublas) {
    int major = 0, minor = 0, patch = 0;
    if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
      *cublas = major * 10000 + minor * 100 + patch;
    else
      *cublas = 0;
  }
  if (cudnn) *cudnn = static_cast<int>(cudnnGetVersion());
  return 0;
}

size_t xarxa_cuda_release_cache(xarxa::Backend* backend) {
  if (!backend) return 0;
  try {
    if (auto* profiled = dynamic_cast<xarxa::cuda::ProfiledBackend*>(backend)) return profiled->inner().release_cache();
    return static_cast<xarxa::cuda::CudaBackend*>(backend)->release_cache();
  } catch (...) {
    return 0;
  }
}

}  // extern "C"

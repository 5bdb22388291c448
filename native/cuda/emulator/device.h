// What a .cu file of the backend needs to compile as host C++ in the emulator:
// the built-in variables (threadIdx, ...), the device intrinsics it uses, and
// the launch that replaces `kernel<<<grid, block, shmem, stream>>>(args)`
// (cmake/cuda-emulator.cmake rewrites each launch into
// XARXA_EMU_LAUNCH(kernel, grid, block, shmem, stream)(args)).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

// A block's threads take turns on one host thread, one block at a time, so a
// static variable is exactly one copy per block, as __shared__ is.
#undef __shared__
#define __shared__ static

extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

namespace xarxa_emu {

// Waits until every thread of the block got here; returns how many passed a
// non-zero `predicate`. `site` ("file:line") tells barriers apart: threads
// waiting at different ones is divergent __syncthreads, a fault.
int block_barrier(int predicate, const char* site);

// Validates the launch as the driver does and queues the grid on `stream`.
// `pointers` are the kernel's pointer arguments: each must point into device
// or page-locked memory, as on a GPU (else the launch faults when it runs).
void launch_kernel(const void* kernel, const char* name, dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
                   size_t param_bytes, std::vector<std::pair<int, const void*>> pointers,
                   std::function<void()> thread_body);

template <typename T>
void collect_pointer(std::vector<std::pair<int, const void*>>& out, int index, const T& value) {
  if constexpr (std::is_pointer_v<T>) {
    if (value) out.emplace_back(index, static_cast<const void*>(value));
  }
}

template <typename... P>
struct Launch {
  void (*kernel)(P...);
  const char* name;
  dim3 grid, block;
  size_t shmem;
  cudaStream_t stream;

  // Arguments are converted to the kernel's parameter types and copied now, as
  // a launch copies them into its parameter buffer.
  template <typename... A>
  void operator()(A&&... args) const {
    auto params = std::make_shared<std::tuple<std::decay_t<P>...>>(std::forward<A>(args)...);
    std::vector<std::pair<int, const void*>> pointers;
    std::apply(
        [&](const auto&... p) {
          int i = 0;
          (collect_pointer(pointers, i++, p), ...);
        },
        *params);
    auto k = kernel;
    launch_kernel(reinterpret_cast<const void*>(k), name, grid, block, shmem, stream, sizeof(*params),
                  std::move(pointers), [k, params] { std::apply(k, *params); });  // by value: each thread its copy
  }
};

template <typename... P>
Launch<P...> make_launch(void (*kernel)(P...), const char* name, dim3 grid, dim3 block, size_t shmem = 0,
                         cudaStream_t stream = 0) {
  return Launch<P...>{kernel, name, grid, block, shmem, stream};
}

}  // namespace xarxa_emu

#define XARXA_EMU_LAUNCH(kernel, ...) ::xarxa_emu::make_launch(kernel, #kernel, __VA_ARGS__)

// ---- device intrinsics used by the backend's kernels ---------------------------------------
#define XARXA_EMU_STR2(x) #x
#define XARXA_EMU_STR(x) XARXA_EMU_STR2(x)
#define __syncthreads() ::xarxa_emu::block_barrier(0, __FILE__ ":" XARXA_EMU_STR(__LINE__))
#define __syncthreads_count(predicate) ::xarxa_emu::block_barrier((predicate), __FILE__ ":" XARXA_EMU_STR(__LINE__))

// Threads never run at the same time here, so a plain read-modify-write is atomic.
template <typename T>
inline T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}

// cuda_runtime.h's overload for a kernel (given to nvcc only).
template <typename T>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, T* entry) {
  return ::cudaFuncGetAttributes(attr, reinterpret_cast<const void*>(entry));
}

inline float __int_as_float(unsigned int bits) {  // CUDART_INF_F passes an unsigned literal
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

using std::isfinite;
using std::max;
using std::min;

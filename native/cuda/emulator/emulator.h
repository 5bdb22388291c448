// The CUDA emulator: a CPU stand-in for the parts of the CUDA runtime, cuBLAS
// and cuDNN that the CUDA backend calls, so that the backend's own code (its
// host logic and its kernels, compiled as C++) runs end to end on a machine
// without a GPU and can be compared with the CPU backend. It is a test double,
// never a way to train: it is built only on request (cmake/cuda-emulator.cmake)
// as libxarxa_cuda_emu.so, loaded only through XARXA_CUDA_LIBRARY, and its
// device calls itself an emulator.
//
// What it models, from NVIDIA's documented semantics (compiled against the
// real CUDA 13 / cuDNN 9 headers, so every signature and constant is theirs):
//   - device memory: every cudaMalloc block sits between two inaccessible
//     guard pages, so an out-of-bounds read or write by a kernel or a library
//     call faults at once; API calls check that the ranges they are given lie
//     inside one block;
//   - streams run later: work is queued per stream and runs when the host
//     waits for it (synchronize, a blocking copy, cudaFree, an event query
//     that finds the work pending) — so results read before a wait are stale,
//     as on a GPU; event and stream queries answer "not ready" once before they
//     run pending work;
//   - kernels: every block and thread of the grid, with __syncthreads on
//     cooperative fibers; launch configurations are checked as the driver does.
//   - stream capture and graphs: work enqueued on a capturing stream is kept
//     and run, in order, at each cudaGraphLaunch; a call that blocks the host
//     or allocates on the capturing thread (cudaMalloc, cudaFree, a
//     synchronize, a copy with pageable memory) invalidates the capture, as in
//     CUDA's thread-local capture mode. Stricter than a GPU: an event recorded
//     on a capturing stream is refused. XARXA_CUDA_EMULATOR_CAPTURE=unsupported
//     refuses to begin a capture, =unsafe makes the first work captured an
//     unsafe call, =invalidated makes cudaStreamEndCapture find the capture
//     invalidated (to test a backend's fallback).
//   - faults: a kernel that reaches divergent __syncthreads or is given a host
//     pointer faults; XARXA_CUDA_EMULATOR_FAULT_AT=N makes the Nth launch fault
//     (sticky, as on a GPU: later library calls fail too).
// What it cannot tell: timing, races between GPU threads or streams (work runs
// one item at a time, atomics in a fixed order), the exact rounding of NVIDIA's
// math library and of cuBLAS/cuDNN algorithms, and whether the real libraries
// accept a call it accepts (their own allocations, an algorithm that fails its
// workspace query). Devices (XARXA_CUDA_EMULATOR_DEVICES=N): memory, streams and
// kernels belong to the device current when they were made, and using them from
// another device is an error or a fault (cuBLAS/cuDNN calls through their
// stream). Simplified: __shared__ arrays keep the previous
// block's values instead of starting undefined; pointers inside by-value
// kernel arguments (structs) are not checked.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace xarxa_emu {

// One lock for the whole emulated device: every API call holds it, and queued
// work runs under it.
std::recursive_mutex& device_mutex();

// Whether [p, p + bytes) lies inside one live cudaMalloc block of the calling
// thread's current device (another GPU's memory is not addressable without
// peer access, which the backend never enables).
bool is_device_range(const void* p, size_t bytes);
// Whether p points into `device`'s memory or page-locked host memory
// (cudaMallocHost), the memory a kernel on that device may touch.
bool is_kernel_reachable(const void* p, int device);
// The calling thread's current device (cudaSetDevice).
int current_device();

// Queues `work` on `stream` (0 = the legacy default stream); it runs in stream
// order when the host waits. False for a stream that does not exist or
// belongs to a device other than the current one. `counted`: whether it counts
// as device work in XARXA_CUDA_EMULATOR_COUNTERS (bookkeeping steps do not).
// While the stream is being captured (cudaStreamBeginCapture) the work is
// added to the capture instead, and runs each time the graph is launched.
bool enqueue(cudaStream_t stream, std::function<void()> work, bool counted = true);
// Why the calling thread's last enqueue() failed, as the CUDA error a GPU
// returns for it and as words.
cudaError_t enqueue_error();
const std::string& enqueue_failure();

// The calling thread's last error (what cudaGetLastError returns next), for
// calls that fail outside runtime.cc (a kernel launch with a bad configuration).
void record_error(cudaError_t e);
// The device's sticky error (cudaSuccess when none).
cudaError_t sticky_error();

// What the backend asked of the device, for tests of its traffic (for example
// that a training step neither waits for the GPU nor copies its batch). With
// XARXA_CUDA_EMULATOR_COUNTERS=<file> they are written there as JSON at exit.
enum class Counter {
  KernelLaunches,  // our kernels
  DeviceWork,      // everything queued on a stream: kernels, cuBLAS/cuDNN calls, copies, memsets
  HostWaits,       // calls that block the host until the device is done (synchronize, a blocking copy, cudaFree)
  BytesToDevice,
  BytesToHost,
  GraphLaunches,   // cudaGraphLaunch calls (each runs a captured graph's work)
  kCount
};
void count(Counter c, uint64_t n = 1);

// An error found while queued work ran (a kernel given a host pointer, ...):
// printed with `what` and kept as the device's sticky error, as a GPU fault is.
void device_fault(cudaError_t e, const std::string& what);

}  // namespace xarxa_emu

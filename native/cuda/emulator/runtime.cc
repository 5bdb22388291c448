// The emulated CUDA runtime: devices, memory, streams, events and errors (see
// emulator.h for what is modelled and what is not).
//
// Environment (read at each call, so a test can change it):
//   XARXA_CUDA_EMULATOR_DEVICES   number of devices (default 1); 0 answers cudaErrorNoDevice,
//                                 "nodriver" cudaErrorInsufficientDriver with driver version 0
//   XARXA_CUDA_EMULATOR_MEMORY    device memory in MiB (default 16384)
//   XARXA_CUDA_EMULATOR_CC        compute capability "major.minor" (default 9.0)
//   XARXA_CUDA_EMULATOR_NO_KERNEL_IMAGE=1  kernels "were built for other GPUs"
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cuda/emulator/emulator.h"

namespace xarxa_emu {
namespace {

const char kDeviceName[] = "xarxa CUDA emulator (CPU test double, not a GPU)";

// ---- configuration -------------------------------------------------------------------

bool no_driver() {
  const char* v = std::getenv("XARXA_CUDA_EMULATOR_DEVICES");
  return v && std::strcmp(v, "nodriver") == 0;
}

int device_count() {
  const char* v = std::getenv("XARXA_CUDA_EMULATOR_DEVICES");
  if (!v || !*v) return 1;
  if (no_driver()) return 0;
  return std::atoi(v);
}

size_t memory_limit() {
  const char* v = std::getenv("XARXA_CUDA_EMULATOR_MEMORY");
  const long long mib = v && *v ? std::atoll(v) : 16384;
  return static_cast<size_t>(mib > 0 ? mib : 16384) << 20;
}

void compute_capability(int* major, int* minor) {
  *major = 9;
  *minor = 0;
  if (const char* v = std::getenv("XARXA_CUDA_EMULATOR_CC")) std::sscanf(v, "%d.%d", major, minor);
}

// ---- device state (guarded by device_mutex) --------------------------------------------

struct DeviceBlock {
  char* map;       // the whole mapping, guard pages included
  size_t map_len;
  size_t size;     // bytes usable from the block's base
  int device;      // the device it was allocated on
};

struct Stream {
  int device = -1;  // the device current when it was created (-1: the default stream, any device)
  std::deque<std::pair<uint64_t, std::function<void()>>> queue;  // (sequence number, work)
  uint64_t enqueued = 0;  // sequence number of the last work queued
  uint64_t done = 0;      // of the last work run
  bool query_seen = false;
  // Stream capture (cudaStreamBeginCapture): work goes to `captured` instead of
  // the queue. A call that would be unsafe during capture invalidates it.
  bool capturing = false;
  bool capture_invalid = false;
  std::thread::id capture_thread;
  std::vector<std::pair<std::function<void()>, bool>> captured;  // (work, counted)
};

// A captured graph and its executable form: the work in stream order.
struct Graph {
  int device = 0;
  std::vector<std::pair<std::function<void()>, bool>> work;
};

struct Event {
  cudaStream_t stream = nullptr;
  uint64_t seq = 0;  // complete when the stream has run this far
  bool recorded = false;
  bool query_seen = false;
  bool timing = true;  // not created with cudaEventDisableTiming
  int device = 0;      // current when it was created: it may be recorded only on that device's streams
  std::chrono::steady_clock::time_point reached;  // when the stream's work got to it (timing events)
};

std::map<const char*, DeviceBlock> g_device;  // by base address
std::map<const char*, size_t> g_pinned;       // cudaMallocHost blocks by base
std::map<int, size_t> g_device_used;  // bytes allocated, per device
Stream g_default_stream;                      // stream 0 (legacy) and the per-thread handle
std::set<Stream*> g_streams;                  // created streams, in creation order of addresses
std::set<Event*> g_events;
std::set<Graph*> g_graphs, g_graph_execs;
cudaError_t g_sticky = cudaSuccess;
uint64_t g_counters[static_cast<int>(Counter::kCount)] = {};

// XARXA_CUDA_EMULATOR_COUNTERS=<file>: the counters as JSON, written when the process exits.
struct CounterDump {
  ~CounterDump() {
    const char* path = std::getenv("XARXA_CUDA_EMULATOR_COUNTERS");
    if (!path || !*path) return;
    if (FILE* f = std::fopen(path, "w")) {
      auto at = [](Counter c) { return static_cast<unsigned long long>(g_counters[static_cast<int>(c)]); };
      std::fprintf(f,
                   "{\"kernelLaunches\": %llu, \"deviceWork\": %llu, \"hostWaits\": %llu, \"bytesToDevice\": %llu, "
                   "\"bytesToHost\": %llu, \"graphLaunches\": %llu}\n",
                   at(Counter::KernelLaunches), at(Counter::DeviceWork), at(Counter::HostWaits),
                   at(Counter::BytesToDevice), at(Counter::BytesToHost), at(Counter::GraphLaunches));
      std::fclose(f);
    }
  }
} g_counter_dump;

thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;
thread_local Stream* t_capturing = nullptr;  // the stream this thread is capturing (thread-local mode)
thread_local cudaError_t t_enqueue_error = cudaSuccess;
thread_local std::string t_enqueue_failure;

// XARXA_CUDA_EMULATOR_CAPTURE: a capture failure to act out (see emulator.h).
bool capture_fault(const char* what) {
  const char* v = std::getenv("XARXA_CUDA_EMULATOR_CAPTURE");
  return v && std::strcmp(v, what) == 0;
}

cudaError_t fail(cudaError_t e) {
  if (e != cudaSuccess) t_last_error = e;
  return e;
}

// A diagnostic for a call a GPU would reject (or silently mis-run): to stderr, then the error.
cudaError_t reject(const char* call, const std::string& why, cudaError_t e = cudaErrorInvalidValue) {
  std::fprintf(stderr, "cuda emulator: %s: %s\n", call, why.c_str());
  return fail(e);
}

Stream* find_stream(cudaStream_t s) {
  if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return &g_default_stream;
  Stream* p = reinterpret_cast<Stream*>(s);
  return g_streams.count(p) ? p : nullptr;
}

// Runs `s`'s queued work up to sequence number `until`. After a fault nothing
// more runs (a faulted context executes no further work).
void run_until(Stream& s, uint64_t until) {
  while (!s.queue.empty() && s.queue.front().first <= until) {
    auto work = std::move(s.queue.front().second);
    const uint64_t seq = s.queue.front().first;
    s.queue.pop_front();
    s.done = seq;
    if (g_sticky != cudaSuccess) continue;
    try {
      work();
    } catch (const std::exception& e) {
      device_fault(cudaErrorLaunchFailure, e.what());
    }
  }
}

void run_all(Stream& s) { run_until(s, s.enqueued); }

// What cudaDeviceSynchronize does; cudaFree and cudaFreeHost wait like this too.
void run_everything() {
  run_all(g_default_stream);
  for (Stream* s : g_streams) run_all(*s);
}

const DeviceBlock* block_of(const void* p, const char** base_out = nullptr) {
  const char* c = static_cast<const char*>(p);
  auto it = g_device.upper_bound(c);
  if (it == g_device.begin()) return nullptr;
  --it;
  if (c >= it->first + it->second.size) return nullptr;
  if (base_out) *base_out = it->first;
  return &it->second;
}

bool is_pinned(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  auto it = g_pinned.upper_bound(c);
  if (it == g_pinned.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second;
}

bool is_host(const void* p) { return block_of(p) == nullptr; }

// A call a GPU refuses during capture: it invalidates the capture, says why on
// stderr, and fails with cudaErrorStreamCaptureUnsupported.
cudaError_t invalidate_capture(Stream& s, const char* call, const std::string& why) {
  s.capture_invalid = true;
  std::fprintf(stderr, "cuda emulator: %s during stream capture: %s; the capture is invalidated\n", call, why.c_str());
  return fail(cudaErrorStreamCaptureUnsupported);
}

// Calls that block the host or allocate are unsafe on a thread that is capturing
// (cudaStreamCaptureModeThreadLocal): cudaSuccess when this thread captures nothing.
cudaError_t capture_forbids(const char* call, const char* why) {
  return t_capturing ? invalidate_capture(*t_capturing, call, why) : cudaSuccess;
}

cudaError_t check_usable() {
  if (no_driver()) return fail(cudaErrorInsufficientDriver);
  if (device_count() <= 0) return fail(cudaErrorNoDevice);
  if (g_sticky != cudaSuccess) return fail(g_sticky);
  return cudaSuccess;
}

struct ErrorName {
  cudaError_t code;
  const char* name;
  const char* text;
};
const ErrorName kErrors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInitializationError, "cudaErrorInitializationError", "initialization error"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration", "invalid configuration argument"},
    {cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer", "invalid device pointer"},
    {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection", "invalid copy direction for memcpy"},
    {cudaErrorInsufficientDriver, "cudaErrorInsufficientDriver",
     "CUDA driver version is insufficient for CUDA runtime version"},
    {cudaErrorInvalidDeviceFunction, "cudaErrorInvalidDeviceFunction", "invalid device function"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorNoKernelImageForDevice, "cudaErrorNoKernelImageForDevice",
     "no kernel image is available for execution on the device"},
    {cudaErrorUnsupportedPtxVersion, "cudaErrorUnsupportedPtxVersion", "the provided PTX was compiled with an unsupported toolchain."},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorNotReady, "cudaErrorNotReady", "device not ready"},
    {cudaErrorIllegalAddress, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {cudaErrorStreamCaptureUnsupported, "cudaErrorStreamCaptureUnsupported",
   "operation not permitted when stream is capturing"},
  {cudaErrorStreamCaptureInvalidated, "cudaErrorStreamCaptureInvalidated",
   "operation failed due to a previous error during capture"},
  {cudaErrorStreamCaptureWrongThread, "cudaErrorStreamCaptureWrongThread",
   "attempt to terminate a thread-local capture sequence from another thread"},
  {cudaErrorIllegalState, "cudaErrorIllegalState", "the operation is not permitted in the current state"},
  {cudaErrorUnknown, "cudaErrorUnknown", "unknown error"},
};

const ErrorName* find_error(cudaError_t code) {
  for (const ErrorName& e : kErrors)
    if (e.code == code) return &e;
  return nullptr;
}

}  // namespace

// ---- emulator.h ----------------------------------------------------------------------------

std::recursive_mutex& device_mutex() {
  static std::recursive_mutex mu;
  return mu;
}

bool is_device_range(const void* p, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  const char* base = nullptr;
  const DeviceBlock* b = block_of(p, &base);
  return b && b->device == t_device && static_cast<const char*>(p) + bytes <= base + b->size;
}

bool is_kernel_reachable(const void* p, int device) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  const DeviceBlock* b = block_of(p);
  return (b && b->device == device) || is_pinned(p, 1);
}

int current_device() { return t_device; }

void count(Counter c, uint64_t n) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  g_counters[static_cast<int>(c)] += n;
}

bool enqueue(cudaStream_t stream, std::function<void()> work, bool counted) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  Stream* s = find_stream(stream);
  auto refuse = [](cudaError_t e, const std::string& why) {
    t_enqueue_error = e;
    t_enqueue_failure = why;
    return false;
  };
  if (!s) return refuse(cudaErrorInvalidResourceHandle, "the stream does not exist");
  if (s->device >= 0 && s->device != t_device)
    return refuse(cudaErrorInvalidResourceHandle, "the stream belongs to another device");
  if (s->capturing) {
    if (!s->capture_invalid && capture_fault("unsafe") && s->captured.empty()) {
      invalidate_capture(*s, "work", "XARXA_CUDA_EMULATOR_CAPTURE=unsafe");
      return refuse(cudaErrorStreamCaptureUnsupported, "an unsafe call during stream capture");
    }
    if (s->capture_invalid)
      return refuse(cudaErrorStreamCaptureInvalidated, "the stream's capture was invalidated by an earlier call");
    s->captured.emplace_back(std::move(work), counted);  // runs at each cudaGraphLaunch
    return true;
  }
  if (counted) count(Counter::DeviceWork);
  s->queue.emplace_back(++s->enqueued, std::move(work));
  s->query_seen = false;
  return true;
}

cudaError_t enqueue_error() { return t_enqueue_error; }
const std::string& enqueue_failure() { return t_enqueue_failure; }

void record_error(cudaError_t e) { fail(e); }

cudaError_t sticky_error() {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  return g_sticky;
}

void device_fault(cudaError_t e, const std::string& what) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  std::fprintf(stderr, "cuda emulator: device fault: %s\n", what.c_str());
  if (g_sticky == cudaSuccess) g_sticky = e;
}

}  // namespace xarxa_emu

using namespace xarxa_emu;
using Lock = std::lock_guard<std::recursive_mutex>;

// ---- errors ---------------------------------------------------------------------------------

cudaError_t cudaGetLastError(void) {
  Lock lock(device_mutex());
  if (g_sticky != cudaSuccess) return g_sticky;
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError(void) {
  Lock lock(device_mutex());
  return g_sticky != cudaSuccess ? g_sticky : t_last_error;
}

const char* cudaGetErrorName(cudaError_t error) {
  const ErrorName* e = find_error(error);
  return e ? e->name : "unrecognized error code";
}

const char* cudaGetErrorString(cudaError_t error) {
  const ErrorName* e = find_error(error);
  return e ? e->text : "unrecognized error code";
}

// ---- devices and versions ---------------------------------------------------------------------

cudaError_t cudaDriverGetVersion(int* driverVersion) {
  if (!driverVersion) return fail(cudaErrorInvalidValue);
  *driverVersion = no_driver() ? 0 : 13000;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* runtimeVersion) {
  if (!runtimeVersion) return fail(cudaErrorInvalidValue);
  *runtimeVersion = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  Lock lock(device_mutex());
  if (!count) return fail(cudaErrorInvalidValue);
  if (no_driver()) return fail(cudaErrorInsufficientDriver);
  if (device_count() <= 0) return fail(cudaErrorNoDevice);
  *count = device_count();
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (device < 0 || device >= device_count()) return fail(cudaErrorInvalidDevice);
  t_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (!device) return fail(cudaErrorInvalidValue);
  *device = t_device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp* prop, int device) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (!prop) return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= device_count()) return fail(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "%s", kDeviceName);
  compute_capability(&prop->major, &prop->minor);
  prop->totalGlobalMem = memory_limit();
  prop->multiProcessorCount = 1;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->sharedMemPerBlock = 48 << 10;
  prop->unifiedAddressing = 1;
  return cudaSuccess;
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes* attr, const void* func) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (!attr || !func) return fail(cudaErrorInvalidValue);
  const char* no_image = std::getenv("XARXA_CUDA_EMULATOR_NO_KERNEL_IMAGE");
  if (no_image && std::strcmp(no_image, "1") == 0) return fail(cudaErrorNoKernelImageForDevice);
  std::memset(attr, 0, sizeof(*attr));
  attr->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}

// ---- memory --------------------------------------------------------------------------------------

// A block ends exactly at an inaccessible guard page and starts one page after
// another, so overruns fault. Fresh memory is filled with 0xFF bytes (NaN as
// floats): code that reads memory it never wrote sees NaN, not a lucky zero.
cudaError_t cudaMalloc(void** devPtr, size_t size) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (cudaError_t e = capture_forbids("cudaMalloc", "it may synchronise the device")) return e;
  if (!devPtr) return fail(cudaErrorInvalidValue);
  if (size == 0) {
    *devPtr = nullptr;
    return cudaSuccess;
  }
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t rounded = (size + 255) / 256 * 256;
  if (rounded > memory_limit() - g_device_used[t_device] || rounded < size) return fail(cudaErrorMemoryAllocation);
  const size_t pages = (rounded + page - 1) / page * page;
  const size_t map_len = pages + 2 * page;
  void* map = mmap(nullptr, map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) return fail(cudaErrorMemoryAllocation);
  char* usable = static_cast<char*>(map) + page;
  if (mprotect(usable, pages, PROT_READ | PROT_WRITE) != 0) {
    munmap(map, map_len);
    return fail(cudaErrorMemoryAllocation);
  }
  char* base = usable + (pages - rounded);
  std::memset(base, 0xFF, rounded);
  g_device[base] = DeviceBlock{static_cast<char*>(map), map_len, rounded, t_device};
  g_device_used[t_device] += rounded;
  *devPtr = base;
  return cudaSuccess;
}

cudaError_t cudaFree(void* devPtr) {
  Lock lock(device_mutex());
  if (!devPtr) return cudaSuccess;
  if (cudaError_t e = capture_forbids("cudaFree", "it waits for the device")) return e;
  run_everything();  // cudaFree waits for the device
  count(Counter::HostWaits);
  auto it = g_device.find(static_cast<const char*>(devPtr));
  if (it == g_device.end()) return reject("cudaFree", "not the start of a cudaMalloc block");
  munmap(it->second.map, it->second.map_len);
  g_device_used[it->second.device] -= it->second.size;
  g_device.erase(it);
  return g_sticky != cudaSuccess ? fail(g_sticky) : cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t size) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (cudaError_t e = capture_forbids("cudaMallocHost", "it may synchronise the device")) return e;
  if (!ptr) return fail(cudaErrorInvalidValue);
  void* p = std::aligned_alloc(4096, (std::max<size_t>(size, 1) + 4095) / 4096 * 4096);
  if (!p) return fail(cudaErrorMemoryAllocation);
  std::memset(p, 0xFF, size);
  g_pinned[static_cast<const char*>(p)] = std::max<size_t>(size, 1);
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  Lock lock(device_mutex());
  if (!ptr) return cudaSuccess;
  if (cudaError_t e = capture_forbids("cudaFreeHost", "it waits for the device")) return e;
  run_everything();
  count(Counter::HostWaits);
  auto it = g_pinned.find(static_cast<const char*>(ptr));
  if (it == g_pinned.end()) return reject("cudaFreeHost", "not a cudaMallocHost block");
  g_pinned.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (!free || !total) return fail(cudaErrorInvalidValue);
  *total = memory_limit();
  *free = *total - g_device_used[t_device];
  return cudaSuccess;
}

// Host ends, pageable or page-locked: the copy reads or writes host memory when
// it runs, after the host waits. CUDA 13 documents copies with pageable memory
// only as "might be synchronous", so a caller must neither reuse the source nor
// read the destination before it waits; running them late holds it to that.
// Host-to-host copies are synchronous, as documented.
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind, cudaStream_t stream) {
  Lock lock(device_mutex());
  const char* call = "cudaMemcpyAsync";
  if (cudaError_t e = check_usable()) return e;
  Stream* s = find_stream(stream);
  if (!s) return reject(call, "no such stream", cudaErrorInvalidResourceHandle);
  if (count == 0) return cudaSuccess;
  if (!dst || !src) return reject(call, "null pointer");
  if (kind == cudaMemcpyDefault)
    kind = is_host(src) ? (is_host(dst) ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice)
                        : (is_host(dst) ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice);
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  if (kind != cudaMemcpyHostToHost && !src_device && !dst_device) return reject(call, "unknown kind", cudaErrorInvalidMemcpyDirection);
  if (src_device && !is_device_range(src, count))
    return reject(call, "source is not " + std::to_string(count) + " bytes of device memory");
  if (!src_device && !is_host(src)) return reject(call, "source is device memory but the kind says host");
  if (dst_device && !is_device_range(dst, count))
    return reject(call, "destination is not " + std::to_string(count) + " bytes of device memory");
  if (!dst_device && !is_host(dst)) return reject(call, "destination is device memory but the kind says host");
  const char* d = static_cast<const char*>(dst);
  const char* c = static_cast<const char*>(src);
  if (d < c + count && c < d + count) return reject(call, "overlapping source and destination (undefined in CUDA)");

  if (s->capturing && (kind == cudaMemcpyHostToHost || (!src_device && !is_pinned(src, count)) ||
                       (!dst_device && !is_pinned(dst, count))))
    return invalidate_capture(*s, call, "a copy to or from pageable host memory cannot be captured");
  if (kind == cudaMemcpyHostToDevice) xarxa_emu::count(Counter::BytesToDevice, count);
  if (kind == cudaMemcpyDeviceToHost) xarxa_emu::count(Counter::BytesToHost, count);
  if (kind == cudaMemcpyHostToHost) {
    std::memcpy(dst, src, count);
    return cudaSuccess;
  }
  if (!enqueue(stream, [dst, src, count] { std::memcpy(dst, src, count); }))
    return reject(call, enqueue_failure(), enqueue_error());
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* devPtr, int value, size_t count, cudaStream_t stream) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (!find_stream(stream)) return reject("cudaMemsetAsync", "no such stream", cudaErrorInvalidResourceHandle);
  if (count == 0) return cudaSuccess;
  if (!is_device_range(devPtr, count))
    return reject("cudaMemsetAsync", "not " + std::to_string(count) + " bytes of device memory");
  if (!enqueue(stream, [devPtr, value, count] { std::memset(devPtr, value, count); }))
    return reject("cudaMemsetAsync", enqueue_failure(), enqueue_error());
  return cudaSuccess;
}

// ---- streams -----------------------------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (!pStream) return fail(cudaErrorInvalidValue);
  Stream* s = new Stream();
  s->device = t_device;
  g_streams.insert(s);
  *pStream = reinterpret_cast<cudaStream_t>(s);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* pStream) { return cudaStreamCreateWithFlags(pStream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  Lock lock(device_mutex());
  Stream* s = find_stream(stream);
  if (!s || s == &g_default_stream) return fail(cudaErrorInvalidResourceHandle);
  run_all(*s);  // its pending work still completes
  if (t_capturing == s) t_capturing = nullptr;
  g_streams.erase(s);
  delete s;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  Lock lock(device_mutex());
  Stream* s = find_stream(stream);
  if (!s) return fail(cudaErrorInvalidResourceHandle);
  if (s->capturing) return invalidate_capture(*s, "cudaStreamSynchronize", "the stream is capturing");
  run_all(*s);
  count(Counter::HostWaits);
  return g_sticky != cudaSuccess ? fail(g_sticky) : cudaSuccess;
}

// Pending work: "not ready" the first time it is asked, then the work runs.
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  Lock lock(device_mutex());
  Stream* s = find_stream(stream);
  if (!s) return fail(cudaErrorInvalidResourceHandle);
  if (s->capturing) return invalidate_capture(*s, "cudaStreamQuery", "the stream is capturing");
  if (!s->queue.empty()) {
    if (!s->query_seen) {
      s->query_seen = true;
      return fail(cudaErrorNotReady);
    }
    run_all(*s);
  }
  return g_sticky != cudaSuccess ? fail(g_sticky) : cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
  Lock lock(device_mutex());
  if (cudaError_t e = capture_forbids("cudaDeviceSynchronize", "it waits for the device")) return e;
  run_everything();
  count(Counter::HostWaits);
  return g_sticky != cudaSuccess ? fail(g_sticky) : cudaSuccess;
}

// ---- events ---------------------------------------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  if (!event) return fail(cudaErrorInvalidValue);
  Event* ev = new Event();
  ev->timing = !(flags & cudaEventDisableTiming);
  ev->device = t_device;
  g_events.insert(ev);
  *event = reinterpret_cast<cudaEvent_t>(ev);
  return cudaSuccess;
}

namespace {
// Destroys a handle made by new and kept in `live` (events, graphs); `bad` when it is not one.
template <typename T, typename Handle>
cudaError_t destroy(std::set<T*>& live, Handle handle, cudaError_t bad) {
  Lock lock(device_mutex());
  T* p = reinterpret_cast<T*>(handle);
  if (!live.erase(p)) return fail(bad);
  delete p;  // work already queued holds its own copies of what it needs
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaEventDestroy(cudaEvent_t event) { return destroy(g_events, event, cudaErrorInvalidResourceHandle); }

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  Lock lock(device_mutex());
  Event* ev = reinterpret_cast<Event*>(event);
  Stream* s = find_stream(stream);
  if (!g_events.count(ev) || !s) return fail(cudaErrorInvalidResourceHandle);
  if (s->capturing) return invalidate_capture(*s, "cudaEventRecord", "the emulator does not capture events");
  if (s->device >= 0 && s->device != ev->device)
    return reject("cudaEventRecord", "the event belongs to device " + std::to_string(ev->device) + ", the stream to device " +
                                         std::to_string(s->device), cudaErrorInvalidResourceHandle);
  if (ev->timing) {
    // A timing event notes when the stream's work reaches it: a step of its own, not counted as device work.
    // Only if it is still this recording of this event (not destroyed, re-recorded, or another at its address).
    const uint64_t seq = s->enqueued + 1;
    auto stamp = [ev, stream, seq] {
      if (g_events.count(ev) && ev->stream == stream && ev->seq == seq) ev->reached = std::chrono::steady_clock::now();
    };
    if (!enqueue(stream, stamp, false)) return reject("cudaEventRecord", "the stream belongs to another device",
                                                      cudaErrorInvalidResourceHandle);
  }
  ev->stream = stream;
  ev->seq = s->enqueued;
  ev->recorded = true;
  ev->query_seen = false;
  return cudaSuccess;
}

namespace {
// The stream an event waits on, or null when it is complete (never recorded,
// reached, or its stream is gone and so has finished).
Stream* pending_stream(Event* ev) {
  if (!ev->recorded) return nullptr;
  Stream* s = find_stream(ev->stream);
  return s && s->done < ev->seq ? s : nullptr;
}
}  // namespace

cudaError_t cudaEventQuery(cudaEvent_t event) {
  Lock lock(device_mutex());
  Event* ev = reinterpret_cast<Event*>(event);
  if (!g_events.count(ev)) return fail(cudaErrorInvalidResourceHandle);
  if (Stream* s = pending_stream(ev)) {
    if (!ev->query_seen) {
      ev->query_seen = true;
      return fail(cudaErrorNotReady);
    }
    run_until(*s, ev->seq);
  }
  return g_sticky != cudaSuccess ? fail(g_sticky) : cudaSuccess;
}

// Milliseconds between two completed timing events, as on a GPU (there with about 0.5 us resolution).
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  Lock lock(device_mutex());
  Event* a = reinterpret_cast<Event*>(start);
  Event* b = reinterpret_cast<Event*>(end);
  if (!ms) return fail(cudaErrorInvalidValue);
  if (!g_events.count(a) || !g_events.count(b) || !a->timing || !b->timing) return fail(cudaErrorInvalidResourceHandle);
  if (!a->recorded || !b->recorded) return fail(cudaErrorInvalidResourceHandle);
  if (g_sticky != cudaSuccess) return fail(g_sticky);  // a faulted context times nothing
  if (pending_stream(a) || pending_stream(b)) return fail(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(b->reached - a->reached).count();
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  Lock lock(device_mutex());
  Event* ev = reinterpret_cast<Event*>(event);
  if (!g_events.count(ev)) return fail(cudaErrorInvalidResourceHandle);
  if (cudaError_t e = capture_forbids("cudaEventSynchronize", "it waits for the device")) return e;
  if (Stream* s = pending_stream(ev)) run_until(*s, ev->seq);
  count(Counter::HostWaits);
  return g_sticky != cudaSuccess ? fail(g_sticky) : cudaSuccess;
}

// ---- stream capture and graphs ---------------------------------------------------------------------------

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode) {
  Lock lock(device_mutex());
  const char* call = "cudaStreamBeginCapture";
  if (cudaError_t e = check_usable()) return e;
  Stream* s = find_stream(stream);
  if (!s) return fail(cudaErrorInvalidResourceHandle);
  if (s == &g_default_stream) return reject(call, "the legacy default stream cannot be captured", cudaErrorStreamCaptureUnsupported);
  if (s->capturing) return reject(call, "the stream is already capturing", cudaErrorIllegalState);
  if (mode != cudaStreamCaptureModeThreadLocal)
    return reject(call, "the emulator models only cudaStreamCaptureModeThreadLocal");
  if (t_capturing) return reject(call, "this thread is already capturing another stream", cudaErrorIllegalState);
  if (capture_fault("unsupported"))
    return reject(call, "XARXA_CUDA_EMULATOR_CAPTURE=unsupported", cudaErrorStreamCaptureUnsupported);
  s->capturing = true;
  s->capture_invalid = false;
  s->capture_thread = std::this_thread::get_id();
  s->captured.clear();
  t_capturing = s;
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* pGraph) {
  Lock lock(device_mutex());
  Stream* s = find_stream(stream);
  if (!s || !pGraph) return fail(cudaErrorInvalidValue);
  if (!s->capturing) return reject("cudaStreamEndCapture", "the stream is not capturing", cudaErrorIllegalState);
  if (s->capture_thread != std::this_thread::get_id()) return fail(cudaErrorStreamCaptureWrongThread);
  s->capturing = false;
  t_capturing = nullptr;
  *pGraph = nullptr;
  auto work = std::move(s->captured);
  s->captured.clear();
  if (s->capture_invalid || capture_fault("invalidated")) return fail(cudaErrorStreamCaptureInvalidated);
  Graph* g = new Graph();
  g->device = s->device;
  g->work = std::move(work);
  g_graphs.insert(g);
  *pGraph = reinterpret_cast<cudaGraph_t>(g);
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus* pCaptureStatus) {
  Lock lock(device_mutex());
  Stream* s = find_stream(stream);
  if (!s || !pCaptureStatus) return fail(cudaErrorInvalidValue);
  *pCaptureStatus = !s->capturing       ? cudaStreamCaptureStatusNone
                    : s->capture_invalid ? cudaStreamCaptureStatusInvalidated
                                         : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* pGraphExec, cudaGraph_t graph, unsigned long long flags) {
  Lock lock(device_mutex());
  if (cudaError_t e = check_usable()) return e;
  Graph* g = reinterpret_cast<Graph*>(graph);
  if (!pGraphExec || !g_graphs.count(g)) return fail(cudaErrorInvalidValue);
  if (flags != 0) return reject("cudaGraphInstantiate", "the emulator models only flags 0");
  Graph* exec = new Graph(*g);  // a copy: the graph may be destroyed while the executable lives
  g_graph_execs.insert(exec);
  *pGraphExec = reinterpret_cast<cudaGraphExec_t>(exec);
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t graphExec, cudaStream_t stream) {
  Lock lock(device_mutex());
  const char* call = "cudaGraphLaunch";
  if (cudaError_t e = check_usable()) return e;
  Graph* exec = reinterpret_cast<Graph*>(graphExec);
  Stream* s = find_stream(stream);
  if (!g_graph_execs.count(exec) || !s) return fail(cudaErrorInvalidResourceHandle);
  if (s->capturing) return reject(call, "the emulator does not capture graph launches", cudaErrorStreamCaptureUnsupported);
  const int device = s->device >= 0 ? s->device : t_device;
  if (exec->device >= 0 && exec->device != device)
    return reject(call, "the graph was captured on device " + std::to_string(exec->device) + ", the stream is on device " +
                            std::to_string(device), cudaErrorInvalidValue);
  for (const auto& w : exec->work)
    if (!enqueue(stream, w.first, w.second)) return reject(call, enqueue_failure(), enqueue_error());
  count(Counter::GraphLaunches);
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t graphExec) { return destroy(g_graph_execs, graphExec, cudaErrorInvalidValue); }

cudaError_t cudaGraphDestroy(cudaGraph_t graph) { return destroy(g_graphs, graph, cudaErrorInvalidValue); }

// Runs a kernel's grid on the host: every block in turn, every thread of a
// block in turn. A kernel that uses __syncthreads needs its threads to stop
// and wait for each other, so its blocks run on cooperative fibers (ucontext);
// one that never does runs its threads as plain calls. Which is which is
// learnt: a kernel's first launch runs on fibers and notes whether it reached
// a barrier.
#include <sys/mman.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "cuda/emulator/device.h"
#include "cuda/emulator/emulator.h"

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace xarxa_emu {
namespace {

constexpr size_t kFiberStack = 128 << 10;

struct Fiber {
  ucontext_t context;
  char* stack = nullptr;  // kFiberStack bytes above an inaccessible guard page
  uint3 index;
  bool done = false;
  bool at_barrier = false;
  int predicate = 0;
  const char* site = "";  // the barrier it waits at
  int result = 0;         // what the barrier returns to this thread
};

// The block being run on this host thread.
struct BlockRun {
  const std::function<void()>* body = nullptr;
  const char* name = "";
  bool fibers = false;
  bool saw_barrier = false;
  ucontext_t scheduler;
  std::vector<Fiber>* pool = nullptr;
  int current = -1;
};

thread_local BlockRun* t_run = nullptr;
thread_local std::vector<Fiber> t_fibers;  // stacks are kept for later launches

std::unordered_map<const void*, bool>& uses_barrier() {  // by kernel address; guarded by device_mutex
  static std::unordered_map<const void*, bool> known;
  return known;
}

void fiber_main() {
  BlockRun& run = *t_run;
  (*run.body)();
  (*run.pool)[run.current].done = true;  // returning resumes the scheduler (uc_link)
}

void ensure_fibers(size_t n) {
  while (t_fibers.size() < n) {
    Fiber f;
    const size_t page = 4096;
    void* map = mmap(nullptr, kFiberStack + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (map == MAP_FAILED) throw std::runtime_error("no memory for the emulator's fiber stacks");
    mprotect(map, page, PROT_NONE);  // a stack overflow faults instead of corrupting memory
    f.stack = static_cast<char*>(map) + page;
    t_fibers.push_back(f);
  }
}

uint3 thread_index(unsigned t, dim3 block) { return uint3{t % block.x, t / block.x % block.y, t / (block.x * block.y)}; }

void run_block_plain(BlockRun& run, unsigned threads, dim3 block) {
  for (unsigned t = 0; t < threads; t++) {
    threadIdx = thread_index(t, block);
    (*run.body)();
  }
}

// Round robin: each live thread runs until it reaches the barrier or ends;
// when all live threads wait at the barrier, it opens.
void run_block_on_fibers(BlockRun& run, unsigned threads, dim3 block) {
  ensure_fibers(threads);
  run.pool = &t_fibers;
  for (unsigned t = 0; t < threads; t++) {
    Fiber& f = t_fibers[t];
    f.index = thread_index(t, block);
    f.done = f.at_barrier = false;
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack;
    f.context.uc_stack.ss_size = kFiberStack;
    f.context.uc_link = &run.scheduler;
    makecontext(&f.context, fiber_main, 0);
  }
  for (;;) {
    bool live = false;
    for (unsigned t = 0; t < threads; t++) {
      Fiber& f = t_fibers[t];
      if (f.done) continue;
      threadIdx = f.index;
      run.current = static_cast<int>(t);
      swapcontext(&run.scheduler, &f.context);
      if (!f.done) live = true;
    }
    if (!live) break;
    const char* site = nullptr;
    for (unsigned t = 0; t < threads; t++) {
      const Fiber& f = t_fibers[t];
      if (!f.at_barrier) continue;
      if (site && std::strcmp(site, f.site) != 0)
        throw std::runtime_error(std::string("kernel ") + run.name + ": threads of one block wait at different " +
                                 "__syncthreads (" + site + " and " + f.site + "), undefined on a GPU");
      site = f.site;
    }
    int count = 0;
    for (unsigned t = 0; t < threads; t++)
      if (t_fibers[t].at_barrier && t_fibers[t].predicate) count++;
    for (unsigned t = 0; t < threads; t++) {
      Fiber& f = t_fibers[t];
      if (f.at_barrier) {
        f.at_barrier = false;
        f.result = count;
      }
    }
  }
}

void run_grid(const void* kernel, const char* name, dim3 grid, dim3 block, const std::function<void()>& body) {
  auto known = uses_barrier().find(kernel);
  BlockRun run;
  run.body = &body;
  run.name = name;
  run.fibers = known == uses_barrier().end() || known->second;
  BlockRun* outer = t_run;
  t_run = &run;
  gridDim = grid;
  blockDim = block;
  const unsigned threads = block.x * block.y * block.z;
  try {
    for (unsigned z = 0; z < grid.z; z++)
      for (unsigned y = 0; y < grid.y; y++)
        for (unsigned x = 0; x < grid.x; x++) {
          blockIdx = uint3{x, y, z};
          if (run.fibers) run_block_on_fibers(run, threads, block);
          else run_block_plain(run, threads, block);
        }
  } catch (...) {
    t_run = outer;
    throw;
  }
  t_run = outer;
  if (run.fibers) uses_barrier()[kernel] = run.saw_barrier;
}

}  // namespace

int block_barrier(int predicate, const char* site) {
  BlockRun* run = t_run;
  if (!run) throw std::runtime_error("__syncthreads outside a kernel");
  if (!run->fibers)
    throw std::runtime_error(std::string("kernel ") + run->name +
                             " reached __syncthreads in a launch run without fibers (its first launch never did)");
  run->saw_barrier = true;
  Fiber& f = (*run->pool)[run->current];
  f.at_barrier = true;
  f.predicate = predicate;
  f.site = site;
  swapcontext(&f.context, &run->scheduler);
  return f.result;
}

void launch_kernel(const void* kernel, const char* name, dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
                   size_t param_bytes, std::vector<std::pair<int, const void*>> pointers,
                   std::function<void()> thread_body) {
  std::lock_guard<std::recursive_mutex> lock(device_mutex());
  if (cudaError_t e = sticky_error()) return record_error(e);
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (grid.x == 0 || grid.x > 0x7fffffffu || grid.y == 0 || grid.y > 65535 || grid.z == 0 || grid.z > 65535 ||
      threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || shmem > (48u << 10)) {
    std::fprintf(stderr, "cuda emulator: kernel %s: invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u)\n",
                 name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
    return record_error(cudaErrorInvalidConfiguration);
  }
  if (param_bytes > 32764) return record_error(cudaErrorInvalidValue);  // the parameter buffer's limit
  // XARXA_CUDA_EMULATOR_FAULT_AT=N: the process's Nth launch faults when it runs, as a kernel
  // touching a bad address does on a GPU (the error is sticky: the context is lost).
  static unsigned long long launches = 0;
  const char* fault_at = std::getenv("XARXA_CUDA_EMULATOR_FAULT_AT");
  const bool inject = fault_at && std::strtoull(fault_at, nullptr, 10) == ++launches;
  const int device = current_device();
  auto run = [kernel, name, grid, block, inject, device, pointers = std::move(pointers), body = std::move(thread_body)] {
    if (inject)
      return device_fault(cudaErrorIllegalAddress, std::string("kernel ") + name + ": the fault asked for by " +
                                                       "XARXA_CUDA_EMULATOR_FAULT_AT");
    for (const auto& p : pointers)
      if (!is_kernel_reachable(p.second, device))
        return device_fault(cudaErrorIllegalAddress, std::string("kernel ") + name + ": argument " +
                                                         std::to_string(p.first) + " is not memory of device " +
                                                         std::to_string(device));
    run_grid(kernel, name, grid, block, body);
  };
  if (!enqueue(stream, std::move(run))) return record_error(enqueue_error());
  count(Counter::KernelLaunches);
}

}  // namespace xarxa_emu

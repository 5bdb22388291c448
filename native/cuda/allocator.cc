#include "cuda/allocator.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cuda/check.h"

namespace xarxa {
namespace cuda {

size_t CachingAllocator::size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t small = 64 << 10;
  if (bytes <= small) return (bytes + 511) / 512 * 512;
  size_t top = small;
  while (top * 2 < bytes) top *= 2;  // top < bytes <= 2 * top
  size_t step = top / 8;
  return (bytes + step - 1) / step * step;
}

namespace {

// Every live allocator, for release_other_caches. Never destroyed: allocators
// may outlive static destruction at process exit.
struct Registry {
  std::mutex mu;
  std::vector<CachingAllocator*> all;
};
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

}  // namespace

CachingAllocator::CachingAllocator(int device, cudaStream_t stream) : device_(device), stream_(stream) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.all.push_back(this);
}

CachingAllocator::~CachingAllocator() {
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.all.erase(std::remove(r.all.begin(), r.all.end(), this), r.all.end());
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Errors are ignored here: at process exit the driver may already be shutting down.
  if (stream_) cudaStreamSynchronize(stream_);  // nothing enqueued may still use a block
  for (auto& kv : live_) cudaFree(kv.first);
  live_.clear();
  holds_ = 0;  // the end: everything goes
  release_cache_locked();
  cudaGetLastError();
}

void* CachingAllocator::allocate(size_t bytes, bool user, const char* op) {
  const size_t size = size_class(bytes);
  cudaError_t e = cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      cached_ -= size;
      return record(ptr, size, bytes, user);
    }
    if (void* ptr = new_block_locked(size, bytes, user, e)) return ptr;
    if (e == cudaErrorMemoryAllocation) {
      release_cache_locked();  // retry with our own cache given back
      if (void* ptr = new_block_locked(size, bytes, user, e)) return ptr;
    }
  }
  if (e == cudaErrorMemoryAllocation) {
    // Other models' idle caches may hold what we need (not under our lock: see release_other_caches).
    release_other_caches();
    std::lock_guard<std::mutex> lock(mu_);
    if (void* ptr = new_block_locked(size, bytes, user, e)) return ptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  cudaGetLastError();
  const std::string message = std::string("cuda ") + (op ? op : "alloc") + ": cudaMalloc of " + std::to_string(size) +
                              " bytes failed: " + cuda_error_text(e) + "; this backend holds " +
                              std::to_string(reserved_) + " bytes (" + std::to_string(user_bytes_) +
                              " in use), device free " + std::to_string(free_b) + " of " + std::to_string(total_b) +
                              " bytes";
  if (e == cudaErrorMemoryAllocation) throw OutOfDeviceMemory(message);
  throw Error(message);
}

void* CachingAllocator::new_block_locked(size_t size, size_t bytes, bool user, cudaError_t& e) {
  void* ptr = nullptr;
  e = cudaMalloc(&ptr, size);
  if (e != cudaSuccess) {
    cudaGetLastError();  // out of memory is not sticky: clear it so later checks do not report it again
    return nullptr;
  }
  reserved_ += size;
  return record(ptr, size, bytes, user);
}

void* CachingAllocator::record(void* ptr, size_t size, size_t bytes, bool user) {
  // Counted like the CPU backend counts its blocks (rounded up to 64 bytes), so
  // bytes_in_use() reads the same on both backends.
  const size_t counted = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  try {
    live_.emplace(ptr, Block{size, counted, user});
  } catch (...) {  // no host memory for the bookkeeping: give the block back rather than lose it
    cudaFree(ptr);
    reserved_ -= size;
    throw;
  }
  if (user) user_bytes_ += counted;
  return ptr;
}

// Lock order: the registry, then one allocator at a time. An allocator never
// holds its own lock while it waits for the registry, so this cannot deadlock;
// holding the other's lock while its stream drains means no block of its cache
// can be handed out (and used by new work) before it is freed.
size_t CachingAllocator::release_other_caches() const {
  Registry& r = registry();
  std::lock_guard<std::mutex> registry_lock(r.mu);
  size_t released = 0;
  for (CachingAllocator* other : r.all) {
    if (other == this || other->device_ != device_) continue;
    std::lock_guard<std::mutex> lock(other->mu_);
    released += other->release_cache_locked();
  }
  return released;
}

void CachingAllocator::deallocate(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(ptr);
  if (it == live_.end()) throw Error("cuda free: pointer was not allocated by this CUDA backend (or freed twice)");
  const Block b = it->second;
  live_.erase(it);
  if (b.user) user_bytes_ -= b.requested;
  free_[b.size].push_back(ptr);
  cached_ += b.size;
}

size_t CachingAllocator::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return user_bytes_;
}

size_t CachingAllocator::bytes_reserved() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_;
}

size_t CachingAllocator::bytes_cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_;
}

size_t CachingAllocator::release_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  return release_cache_locked();
}

void CachingAllocator::hold() {
  std::lock_guard<std::mutex> lock(mu_);
  holds_++;
}

void CachingAllocator::unhold() {
  std::lock_guard<std::mutex> lock(mu_);
  holds_--;
}

size_t CachingAllocator::release_cache_locked() {
  if (cached_ == 0 || holds_ > 0) return 0;
  // Work enqueued before a block was cached may still use it.
  if (stream_) cudaStreamSynchronize(stream_);
  size_t released = 0;
  for (auto& kv : free_) {
    for (void* p : kv.second) {
      cudaFree(p);
      released += kv.first;
    }
  }
  free_.clear();
  cudaGetLastError();
  reserved_ -= released;
  cached_ = 0;
  return released;
}

}  // namespace cuda
}  // namespace xarxa

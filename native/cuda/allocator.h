// A caching device allocator: freed blocks go to free lists keyed by size
// class and are handed out again, so the per-batch alloc/free pattern of
// training never reaches cudaMalloc/cudaFree (which synchronise the device).
//
// Blocks are reused in stream order: all work of a backend runs on its one
// stream, so a block freed after some kernels were enqueued and handed out
// again is only touched by kernels enqueued later on the same stream.
//
// Each backend (each model) has its own allocator. When the device runs out of
// memory, an allocator gives back its own cached blocks and then those of the
// other allocators on the same device, each after its stream has finished.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace xarxa {
namespace cuda {

// What allocate() throws when the device has no memory left for a request (an
// Error like any other; conv.cc catches it to try an algorithm with a smaller workspace).
class OutOfDeviceMemory : public Error {
 public:
  using Error::Error;
};

class CachingAllocator {
 public:
  // `stream` is the one all work using these blocks runs on (synchronised before cached blocks are freed).
  CachingAllocator(int device, cudaStream_t stream);
  ~CachingAllocator();  // cudaFree of every block, live or cached (the device must be current)
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Never returns null; throws OutOfDeviceMemory when the device is out of memory
  // even after the cache was released (xarxa::Error for other failures). `user` blocks count in bytes_in_use(); internal
  // scratch (workspaces, transposed filters) does not.
  void* allocate(size_t bytes, bool user, const char* op);
  // Null is fine; a pointer this allocator did not hand out throws.
  void deallocate(void* ptr);

  size_t bytes_in_use() const;    // live user blocks, each counted as its request rounded up to 64 bytes
  size_t bytes_reserved() const;  // everything obtained from cudaMalloc (live + cached)
  size_t bytes_cached() const;    // free blocks kept for reuse
  // cudaFree of all cached (free) blocks; returns the bytes given back. cudaFree
  // waits for the device, so only call it outside hot paths.
  size_t release_cache();

  // While held, cached blocks are never given back to the driver (release_cache
  // and out-of-memory retries, ours or another allocator's, free nothing). A
  // recorded CUDA graph (graph.cc) holds the cache for its lifetime: it names
  // the scratch blocks its ops used, which sit in the cache between replays.
  void hold();
  void unhold();

  // The size class of a request: multiples of 512 bytes up to 64 KiB, then 8
  // steps per power of two (at most 12.5% slack).
  static size_t size_class(size_t bytes);

 private:
  struct Block {
    size_t size;       // size class (what cudaMalloc got)
    size_t requested;  // what the caller asked for, rounded up to 64 (what bytes_in_use counts)
    bool user;
  };
  size_t release_cache_locked();  // waits for stream_, then cudaFree of the cached blocks
  void* record(void* ptr, size_t size, size_t bytes, bool user);  // bookkeeping of a block handed out
  // cudaMalloc of a `size` block, counted and recorded; null with the error in `e` when it fails.
  void* new_block_locked(size_t size, size_t bytes, bool user, cudaError_t& e);
  // The cached blocks of every other allocator on this device, given back.
  size_t release_other_caches() const;

  const int device_;
  const cudaStream_t stream_;
  mutable std::mutex mu_;
  std::unordered_map<void*, Block> live_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t user_bytes_ = 0, reserved_ = 0, cached_ = 0;
  int holds_ = 0;
};

}  // namespace cuda
}  // namespace xarxa

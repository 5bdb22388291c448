// A fixed pool of worker threads for the CPU backend.
//
// parallel_for cuts a range into a few chunks per thread that the calling
// thread and the workers claim one at a time, so a worker that the OS has
// descheduled (a busy machine, Node's own threads) delays nothing: the caller
// runs the chunks itself and returns as soon as all are done. Chunks are
// claimed with a compare-and-swap on a (generation, count, next chunk) ticket, so a
// worker that wakes up late can never touch a finished region's job.
//
// A training step issues a few dozen short parallel regions (tens of
// microseconds each), so waking a sleeping thread through the kernel for each
// one would cost as much as the work: idle workers spin (yielding the CPU to
// anything else runnable) for a short while and only then sleep. A region
// started from inside a region (or from a pool worker) runs inline.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace xarxa {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }

  // Calls fn(thread_index, begin, end) on disjoint chunks covering [0, n),
  // each at least `grain` long (but the last). thread_index (0 = the calling
  // thread, < size()) names the thread running the chunk, for per-thread
  // scratch; one thread may run several chunks. Returns when all are done.
  void parallel_for(long n, long grain, const std::function<void(int, long, long)>& fn);

  // Calls fn(part) once for each part in [0, parts), spread over the threads
  // (a thread may run several parts). Returns when all are done.
  void run_on(int parts, const std::function<void(int)>& fn);

 private:
  // Runs fn(thread_index, chunk) for chunks [0, chunks).
  void run_chunks(long chunks, const std::function<void(int, long)>& fn);
  bool claim_and_run(uint32_t gen, int index);
  void worker(int index);

  int threads_;
  std::vector<std::thread> workers_;
  // (generation << 32) | (chunk count << 16) | next chunk to claim.
  std::atomic<uint64_t> ticket_{0};
  uint32_t generation_ = 0;  // caller side only
  const std::function<void(int, long)>* job_ = nullptr;
  std::atomic<long> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;  // guards sleeping only
  std::condition_variable wake_;
  std::mutex run_mutex_;  // one parallel region at a time per pool
};

// Threads to use: XARXA_NUM_THREADS if set, else the hardware's count.
int default_thread_count();

}  // namespace xarxa

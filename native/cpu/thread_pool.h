// A fixed pool of worker threads for the CPU backend: parallel_for splits a
// range into one contiguous chunk per thread. The calling thread takes the
// first chunk, so a pool of size 1 runs everything inline.
#pragma once
#include <condition_variable>
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

  // Calls fn(thread_index, begin, end) on disjoint chunks covering [0, n);
  // chunks are at least `grain` long. Returns when all chunks are done.
  void parallel_for(long n, long grain, const std::function<void(int, long, long)>& fn);

  // Runs fn(thread_index) once on each of `count` threads (count <= size()).
  void run_on(int count, const std::function<void(int)>& fn);

 private:
  void worker(int index);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int job_count_ = 0;
  long generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::mutex run_mutex_;  // one parallel region at a time per pool
};

// Threads to use: XARXA_NUM_THREADS if set, else the hardware's count.
int default_thread_count();

}  // namespace xarxa

#include "thread_pool.h"

#include <algorithm>
#include <cstdlib>

namespace xarxa {

int default_thread_count() {
  if (const char* env = std::getenv("XARXA_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return std::min(n, 256);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 256u));
}

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; i++) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker(int index) {
  long seen = 0;
  for (;;) {
    const std::function<void(int)>* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= job_count_) continue;
      job = job_;
    }
    (*job)(index);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run_on(int count, const std::function<void(int)>& fn) {
  count = std::max(1, std::min(count, threads_));
  if (count == 1) {
    fn(0);
    return;
  }
  std::lock_guard<std::mutex> region(run_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_count_ = count;
    pending_ = count - 1;
    generation_++;
  }
  wake_.notify_all();
  fn(0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::parallel_for(long n, long grain, const std::function<void(int, long, long)>& fn) {
  if (n <= 0) return;
  grain = std::max(1L, grain);
  long chunks = std::min<long>(threads_, (n + grain - 1) / grain);
  if (chunks <= 1) {
    fn(0, 0, n);
    return;
  }
  run_on(static_cast<int>(chunks), [&](int t) {
    long begin = n * t / chunks, end = n * (t + 1) / chunks;
    if (begin < end) fn(t, begin, end);
  });
}

}  // namespace xarxa

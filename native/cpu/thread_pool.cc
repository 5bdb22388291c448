#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define XARXA_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define XARXA_PAUSE() asm volatile("yield")
#else
#define XARXA_PAUSE() ((void)0)
#endif

namespace xarxa {
namespace {

// How long an idle worker keeps spinning before it sleeps: long enough to
// bridge the serial ops between two parallel regions of a training step,
// short enough that an idle process uses no CPU.
constexpr auto kSpin = std::chrono::microseconds(300);
// For how long a waiting thread spins without giving its CPU away. Yielding
// at once would hand the CPU to another process for a whole timeslice (ms)
// at every region's end whenever the machine is busy.
constexpr auto kGreedy = std::chrono::microseconds(150);

// Chunks per thread: enough that a slow or descheduled thread leaves little
// for the others to wait on, few enough that claiming costs nothing.
constexpr long kChunksPerThread = 4;

// True on a pool's worker threads and while a thread runs a parallel region:
// nested regions then run inline instead of deadlocking on run_mutex_.
thread_local bool t_in_region = false;

// The ticket: generation (32 bits) | chunk count (16) | next chunk (16). The
// count travels with the generation so that a claim is checked against its
// own region only (a worker still holding an old ticket can never take a
// chunk of the next region before that region is published).
inline uint32_t gen_of(uint64_t t) { return uint32_t(t >> 32); }
inline long limit_of(uint64_t t) { return long((t >> 16) & 0xffffu); }
inline long next_of(uint64_t t) { return long(t & 0xffffu); }
constexpr long kMaxChunks = 0xffff;

}  // namespace

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
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

// Claims chunks of generation `gen` until none is left. The job pointer is
// read only after a successful claim: the caller cannot finish the region
// (and reuse job_) while a claimed chunk is not done.
bool ThreadPool::claim_and_run(uint32_t gen, int index) {
  bool ran = false;
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    if (gen_of(t) != gen) return ran;
    const long chunk = next_of(t);
    if (chunk >= limit_of(t)) return ran;
    if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    (*job_)(index, chunk);
    done_.fetch_add(1, std::memory_order_acq_rel);
    ran = true;
    t = ticket_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker(int index) {
  t_in_region = true;
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = gen_of(ticket_.load(std::memory_order_acquire));
    if (gen == seen) {
      // Spin (letting anything else runnable on this CPU go first), then sleep.
      const auto start = std::chrono::steady_clock::now();
      int spins = 0;
      while ((gen = gen_of(ticket_.load(std::memory_order_acquire))) == seen && !stop_.load(std::memory_order_relaxed)) {
        XARXA_PAUSE();
        if (++spins == 32) {
          spins = 0;
          const auto waited = std::chrono::steady_clock::now() - start;
          if (waited > kSpin) break;
          if (waited > kGreedy) std::this_thread::yield();
        }
      }
      if (gen == seen && !stop_.load()) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return stop_.load() || gen_of(ticket_.load(std::memory_order_acquire)) != seen; });
        sleepers_.fetch_sub(1);
        gen = gen_of(ticket_.load(std::memory_order_acquire));
      }
    }
    if (stop_.load()) return;
    seen = gen;
    claim_and_run(gen, index);
  }
}

void ThreadPool::run_chunks(long chunks, const std::function<void(int, long)>& fn) {
  if (chunks <= 0) return;
  if (chunks == 1 || threads_ == 1 || t_in_region || chunks > kMaxChunks) {
    for (long c = 0; c < chunks; c++) fn(0, c);
    return;
  }
  std::lock_guard<std::mutex> region(run_mutex_);
  job_ = &fn;
  done_.store(0, std::memory_order_relaxed);
  const uint32_t gen = ++generation_;
  {
    // Publishing under the mutex pairs with the sleepers' predicate check, so
    // a worker that is just going to sleep cannot miss this generation.
    std::lock_guard<std::mutex> lock(mutex_);
    ticket_.store(uint64_t(gen) << 32 | uint64_t(chunks) << 16, std::memory_order_release);
  }
  if (sleepers_.load() > 0) wake_.notify_all();
  t_in_region = true;
  claim_and_run(gen, 0);
  t_in_region = false;
  int spins = 0;
  const auto start = std::chrono::steady_clock::now();
  bool patient = true;
  while (done_.load(std::memory_order_acquire) != chunks) {
    XARXA_PAUSE();
    if (++spins == 32) {
      spins = 0;
      // A worker holding a chunk runs on another CPU (a short wait), or was
      // descheduled, maybe onto this CPU: then let it run.
      if (patient) patient = std::chrono::steady_clock::now() - start < kGreedy;
      if (!patient) std::this_thread::yield();
    }
  }
  job_ = nullptr;
}

void ThreadPool::run_on(int parts, const std::function<void(int)>& fn) {
  run_chunks(parts, [&](int, long part) { fn(int(part)); });
}

void ThreadPool::parallel_for(long n, long grain, const std::function<void(int, long, long)>& fn) {
  if (n <= 0) return;
  grain = std::max(1L, grain);
  const long chunks = std::min<long>(threads_ * kChunksPerThread, (n + grain - 1) / grain);
  if (chunks <= 1 || threads_ == 1) {
    fn(0, 0, n);
    return;
  }
  run_chunks(chunks, [&](int t, long c) {
    const long begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin < end) fn(t, begin, end);
  });
}

}  // namespace xarxa

// Where a training step's GPU time goes, op by op: XARXA_CUDA_PROFILE=<file>
// makes each CUDA backend a ProfiledBackend (profiled_backend.h), which
// brackets every Backend op with two timing events on the backend's stream and
// hands them here. Elapsed times are added up per op name (with the shape for
// GEMMs, convolutions and pooling) and the totals written to the file as JSON.
//
// To keep the events few, the host waits for the newest one every kMaxPending
// ops: profiling changes how far the host runs ahead of the GPU, so it tells
// the stream time of each op, not the throughput of a run without it. An op's
// time is from its first event to its last, so where the GPU had caught up
// with the host (after such a wait, or the first time a shape is seen) it
// includes the host's work inside the op (cuDNN's ranking, allocations,
// launches); a tool should warm up first and average over many steps.
// Each backend rewrites its file whole: with several backends on one device
// in one process, the file holds the last one to write.
#pragma once
#include <cuda_runtime.h>

#include <map>
#include <string>
#include <vector>

namespace xarxa {
namespace cuda {

class OpProfiler {
 public:
  // `path`: the JSON file (for device N > 0, "<path>.cudaN"); `device_name` goes into it.
  // Throws xarxa::Error when the file cannot be written.
  OpProfiler(int device, cudaStream_t stream, std::string path, std::string device_name);
  ~OpProfiler();  // writes the file a last time
  OpProfiler(const OpProfiler&) = delete;
  OpProfiler& operator=(const OpProfiler&) = delete;

  // Brackets one op: records a start event now and an end event when it goes out of scope.
  class Scope {
   public:
    Scope(OpProfiler& p, std::string key);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    OpProfiler& p_;
    std::string key_;
    cudaEvent_t start_ = nullptr;
  };

  // Adds up every bracketed op that has finished, waiting for the last, and rewrites the file.
  void flush();

 private:
  static constexpr size_t kMaxPending = 512;
  struct Pending {
    std::string key;
    cudaEvent_t start, end;
  };
  struct Total {
    long long calls = 0;
    double ms = 0;
  };

  cudaEvent_t take_event();  // from the pool; null if CUDA refuses (the op then goes untimed)
  bool write() const;        // false when the file cannot be written

  int device_;
  cudaStream_t stream_;
  std::string path_, device_name_;
  std::vector<cudaEvent_t> pool_;
  std::vector<Pending> pending_;
  std::map<std::string, Total> totals_;
};

}  // namespace cuda
}  // namespace xarxa

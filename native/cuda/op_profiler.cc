#include "cuda/op_profiler.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace xarxa {
namespace cuda {
namespace {

// A JSON string body: our keys are plain ASCII, but quotes and backslashes are escaped anyway.
std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  }
  return out;
}

}  // namespace

OpProfiler::OpProfiler(int device, cudaStream_t stream, std::string path, std::string device_name)
    : device_(device),
      stream_(stream),
      path_(device > 0 ? path + ".cuda" + std::to_string(device) : std::move(path)),
      device_name_(std::move(device_name)) {
  // An empty profile at once: the file exists even if nothing runs, and a path
  // that cannot be written is an error now, not a missing file later.
  if (!write()) throw Error("XARXA_CUDA_PROFILE: cannot write " + path_ + ": " + std::strerror(errno));
}

OpProfiler::~OpProfiler() {
  flush();
  cudaSetDevice(device_);
  for (cudaEvent_t e : pool_) cudaEventDestroy(e);
  cudaGetLastError();
}

cudaEvent_t OpProfiler::take_event() {
  if (!pool_.empty()) {
    cudaEvent_t e = pool_.back();
    pool_.pop_back();
    return e;
  }
  cudaEvent_t e = nullptr;
  if (cudaEventCreateWithFlags(&e, cudaEventDefault) != cudaSuccess) {
    cudaGetLastError();  // not the next kernel's error
    return nullptr;
  }
  return e;
}

OpProfiler::Scope::Scope(OpProfiler& p, std::string key) : p_(p), key_(std::move(key)) {
  cudaSetDevice(p_.device_);  // events belong to the device current when made and recorded
  start_ = p_.take_event();
  if (start_ && cudaEventRecord(start_, p_.stream_) != cudaSuccess) {
    cudaGetLastError();
    p_.pool_.push_back(start_);
    start_ = nullptr;
  }
}

OpProfiler::Scope::~Scope() {
  if (!start_) return;
  cudaSetDevice(p_.device_);
  cudaEvent_t end = p_.take_event();
  if (!end || cudaEventRecord(end, p_.stream_) != cudaSuccess) {
    cudaGetLastError();
    p_.pool_.push_back(start_);
    if (end) p_.pool_.push_back(end);
    return;
  }
  p_.pending_.push_back({std::move(key_), start_, end});
  if (p_.pending_.size() >= kMaxPending) p_.flush();
}

void OpProfiler::flush() {
  if (pending_.empty()) return;
  cudaSetDevice(device_);
  const bool reached = cudaEventSynchronize(pending_.back().end) == cudaSuccess;
  for (Pending& q : pending_) {
    float ms = 0;
    if (reached && cudaEventElapsedTime(&ms, q.start, q.end) == cudaSuccess) {
      Total& t = totals_[q.key];
      t.calls++;
      t.ms += ms;
    }
    pool_.push_back(q.start);
    pool_.push_back(q.end);
  }
  cudaGetLastError();  // a failed stream is the backend's to report, not the profiler's
  pending_.clear();
  write();
}

bool OpProfiler::write() const {
  std::vector<std::pair<std::string, Total>> ops(totals_.begin(), totals_.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  double total_ms = 0;
  for (const auto& o : ops) total_ms += o.second.ms;
  // A temporary name of this profiler's own: backends of other threads may write the same path.
  const std::string tmp = path_ + ".part" + std::to_string(reinterpret_cast<uintptr_t>(this));
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "{\"device\": \"%s\", \"totalMs\": %.6f, \"ops\": [", json_escape(device_name_).c_str(), total_ms);
  for (size_t i = 0; i < ops.size(); i++)
    std::fprintf(f, "%s\n  {\"op\": \"%s\", \"calls\": %lld, \"totalMs\": %.6f}", i ? "," : "",
                 json_escape(ops[i].first).c_str(), ops[i].second.calls, ops[i].second.ms);
  std::fprintf(f, "\n]}\n");
  const bool written = std::fclose(f) == 0;
  return written && std::rename(tmp.c_str(), path_.c_str()) == 0;  // readers never see half a file
}

}  // namespace cuda
}  // namespace xarxa

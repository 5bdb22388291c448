// CUDA graphs for training steps (Backend::record): the ops of a step are
// captured from the backend's stream once and replayed with one
// cudaGraphLaunch per step. A step of the notebook's dense net is 17 small
// ops; launched one by one, the launches cost more than the work.
//
// Recording is stream capture in thread-local mode: nothing runs while the ops
// are called, and a call that would block or allocate fails the capture. Any
// failure (the capture, an op refusing to be captured, instantiation) leaves
// the backend as it was, turns recording off for this backend with the reason
// in info().step_graphs, and the caller runs its ops unrecorded: a GPU or
// library that cannot capture trains as before, only slower.
#include <cstdlib>
#include <string>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"

namespace xarxa {
namespace cuda {
namespace {

// cuBLAS's workspace (NVIDIA recommends 32 MiB on Hopper, 4 MiB before).
size_t cublas_workspace_bytes(int cc_major) { return (cc_major >= 9 ? 32u : 4u) << 20; }

}  // namespace

// A recorded step. It holds its backend's memory cache (allocator.h): the
// scratch blocks its ops used are back in the cache between replays, and must
// not be given back to the driver while a replay may still use them. (The hold
// is taken before capturing; the graph takes it over.)
class CudaGraph final : public RecordedOps {
 public:
  CudaGraph(CudaBackend& backend, cudaGraphExec_t exec) : b_(backend), exec_(exec) {}
  ~CudaGraph() override {
    cudaSetDevice(b_.device_);
    cudaGraphExecDestroy(exec_);  // launches already enqueued still complete, before any block is freed:
    b_.alloc_->unhold();          // freeing cached blocks waits for the stream first
    cudaGetLastError();
  }
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  void replay() override {
    b_.use_device();
    XARXA_CUDA_CHECK("replay", cudaGraphLaunch(exec_, b_.stream_));
  }

 private:
  CudaBackend& b_;
  cudaGraphExec_t exec_;
};

std::string graphs_choice() {
  const char* v = std::getenv("XARXA_CUDA_GRAPHS");
  const std::string s = v ? v : "";
  if (s.empty() || s == "1") return "";
  if (s == "0") return "XARXA_CUDA_GRAPHS=0";
  throw Error("cuda create: XARXA_CUDA_GRAPHS must be 0 or 1, got '" + s + "'");
}

// Captured cuBLAS calls must not allocate, so cuBLAS gets a workspace of ours, from
// the start: the first (uncaptured) step then already runs the GEMM kernels chosen
// for that workspace, and capturing loads no new ones. Without the memory for it,
// steps are not recorded.
void CudaBackend::use_cublas_workspace() {
  const size_t bytes = cublas_workspace_bytes(cc_major_);
  try {
    cublas_workspace_ = alloc_->allocate(bytes, false, "create");
  } catch (const OutOfDeviceMemory&) {
    std::lock_guard<std::mutex> lock(graphs_mu_);
    graphs_off_ = "no device memory for cuBLAS's workspace (" + std::to_string(bytes >> 20) + " MiB)";
    return;
  }
  XARXA_CUBLAS_CHECK("create", cublasSetWorkspace(cublas_, cublas_workspace_, bytes));
}

std::string CudaBackend::graphs_off() const {
  std::lock_guard<std::mutex> lock(graphs_mu_);
  return graphs_off_;
}

std::unique_ptr<RecordedOps> CudaBackend::record(const std::function<void()>& ops) {
  if (!graphs_off().empty()) return nullptr;
  use_device();
  // From before the capture: no other thread's out-of-memory retry may free (or
  // synchronise, which would invalidate the capture) the cached blocks it records.
  alloc_->hold();
  auto off = [&](const std::string& why) -> std::unique_ptr<RecordedOps> {
    alloc_->unhold();
    cudaGetLastError();  // capture errors are not sticky: later ops must not see them
    std::lock_guard<std::mutex> lock(graphs_mu_);
    graphs_off_ = "recording a step failed (" + why + "); steps run op by op";
    return nullptr;
  };
  cudaError_t e = cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal);
  if (e != cudaSuccess) return off(std::string("cudaStreamBeginCapture: ") + cuda_error_text(e));
  std::string failed;
  capturing_ = true;
  try {
    ops();
  } catch (const std::exception& ex) {
    failed = ex.what();
  } catch (...) {
    failed = "an unknown exception";
  }
  capturing_ = false;
  cudaGraph_t graph = nullptr;
  e = cudaStreamEndCapture(stream_, &graph);  // ends the capture whatever happened inside it
  if (!failed.empty() || e != cudaSuccess) {
    if (graph) cudaGraphDestroy(graph);
    return off(!failed.empty() ? failed : std::string("cudaStreamEndCapture: ") + cuda_error_text(e));
  }
  cudaGraphExec_t exec = nullptr;
  e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (e != cudaSuccess) return off(std::string("cudaGraphInstantiate: ") + cuda_error_text(e));
  return std::make_unique<CudaGraph>(*this, exec);  // takes over the hold
}

}  // namespace cuda
}  // namespace xarxa

// The CUDA implementation of xarxa::Backend (core/backend.h). One instance
// owns one device's stream, cuBLAS and cuDNN handles (both bound to that
// stream) and a caching allocator; every op is enqueued on the stream, and
// only upload/download/read_stats/has_non_finite/synchronize wait for it
// (request_stats/poll_stats read training statistics through an event instead).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/backend.h"
#include "cuda/allocator.h"
#include "cuda/conv_plan.h"

namespace xarxa {
namespace cuda {

// XARXA_CUDA_GRAPHS (graph.cc): "" when unset or 1 (training steps are recorded
// as CUDA graphs), why not when 0; throws on another value.
std::string graphs_choice();

class CudaGraph;  // a recorded step (graph.cc)

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int ordinal);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  DeviceInfo info() const override;

  void* alloc(size_t bytes) override;
  void free(void* ptr) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill(float* dst, float value, size_t n) override;
  void synchronize() override;
  size_t bytes_in_use() const override;

  void gather_rows(float* dst, const float* src, const int32_t* index, int begin, int rows, int row_len) override;
  void gather_batch(float* x_dst, const float* x_src, int x_row, float* y_dst, const float* y_src, int y_row,
                    const int32_t* index, int begin, int rows) override;
  void nchw_to_nhwc(float* dst, const float* src, int n, int c, int h, int w) override;
  void nhwc_to_nchw(float* dst, const float* src, int n, int c, int h, int w) override;

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc) override;
  void bias_add(float* y, const float* bias, int rows, int cols) override;
  void bias_activation_forward(Activation act, float* y, const float* bias, int rows, int cols) override;
  void bias_grad(float* db, const float* dy, int rows, int cols) override;
  void activation_bias_backward(Activation act, const float* y, float* dy, float* db, int rows, int cols) override;
  // Whether activation_bias_backward with a bias runs as our one kernel (else as the two ops).
  static bool fuses_activation_bias(Activation act, int rows);

  void activation_forward(Activation act, const float* x, float* y, int rows, int cols) override;
  void activation_backward(Activation act, const float* y, const float* dy, float* dx, int rows,
                           int cols) override;

  void softmax_cross_entropy(const float* probs, const float* labels, int rows, int cols, float grad_scale,
                             float* dlogits, double* stats) override;
  void mean_squared_error(const float* pred, const float* labels, int rows, int cols, float grad_scale,
                          float* dout, double* stats) override;
  void loss_and_count_correct(Loss kind, const float* pred, const float* labels, int rows, int cols,
                              float grad_scale, float* dout, double* stats) override;
  void count_correct(const float* pred, const float* labels, int rows, int cols, double* stats) override;
  void note_non_finite(double* stats, int batch) override;
  void read_stats(double* host, const double* stats, int n) override;
  void zero_stats(double* stats, int n) override;
  void request_stats(const double* stats, int n) override;
  bool poll_stats(double* host, int n) override;

  void conv2d_forward(const WindowParams& p, const float* x, const float* w, float* y) override;
  void conv2d_backward_data(const WindowParams& p, const float* dy, const float* w, float* dx) override;
  void conv2d_backward_filter(const WindowParams& p, const float* x, const float* dy, float* dw) override;

  void pool_forward(PoolKind kind, const WindowParams& p, const float* x, float* y) override;
  void pool_backward(PoolKind kind, const WindowParams& p, const float* x, const float* y, const float* dy,
                     float* dx) override;

  void dropout_forward(const float* x, float* y, float* mask, size_t n, float rate, uint64_t seed) override;
  void multiply(const float* a, const float* b, float* out, size_t n) override;
  void sgd_update(float* w, const float* g, float* velocity, size_t n, float lr, float momentum,
                  bool nesterov) override;
  void sgd_update_all(const SgdTensor* tensors, int count, float lr, float momentum, bool nesterov) override;
  bool has_non_finite(const float* x, size_t n) override;

  std::unique_ptr<RecordedOps> record(const std::function<void()>& ops) override;  // graph.cc

  // Not part of the contract: gives the allocator's cached free blocks back to
  // the driver (waits for the stream first); returns the bytes released.
  size_t release_cache();
  // The device ordinal and the stream every op runs on (for ProfiledBackend).
  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }

 private:
  friend class CudaGraph;  // replays on our stream, holds our memory cache

  // Scratch memory for one op: handed back to the cache when the op has been
  // enqueued (later ops on the same stream may reuse it; see allocator.h).
  class Scratch {
   public:
    Scratch(CachingAllocator& a, size_t bytes, const char* op)
        : a_(a), op_(op), p_(bytes ? a.allocate(bytes, false, op) : nullptr) {}
    ~Scratch() { a_.deallocate(p_); }
    // Gives back what it holds and takes `bytes` (none when 0).
    void reset(size_t bytes) {
      a_.deallocate(p_);
      p_ = nullptr;
      if (bytes) p_ = a_.allocate(bytes, false, op_);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    float* f() const { return static_cast<float*>(p_); }
    void* get() const { return p_; }

   private:
    CachingAllocator& a_;
    const char* op_;
    void* p_;
  };

  void release() noexcept;           // frees everything (destructor, failed constructor)
  void use_device() const;           // makes this backend's device current on the calling thread
  void launched(const char* op);     // throws if the kernel launch just made failed
  const float* ones(int n);          // a device vector of at least n ones (for bias_grad)
  // softmax_cross_entropy, mean_squared_error and loss_and_count_correct (`count`): one loss kernel.
  void loss(Loss kind, const float* pred, const float* labels, int rows, int cols, float grad_scale, float* dout,
            double* stats, bool count, const char* op);
  ConvPlan& conv_plan(const WindowParams& p, const char* op);
  // cuDNN gets 16-byte aligned tensors (conv.cc): copies through `holder` for those that are not.
  const float* aligned_input(const float* p, size_t floats, Scratch& holder, const char* op);
  float* aligned_output(float* p, size_t floats, Scratch& holder);
  void aligned_output_done(float* p, size_t floats, const Scratch& holder, const char* op);
  // Operands in the layout cuDNN runs in (conv.cc): an NHWC tensor in, out,
  // and back; the (padded) input image; the kernel and its gradient.
  const float* tensor_in(ConvLayout layout, const float* t, int n, int c, int h, int w, Scratch& holder,
                         const char* op);
  float* tensor_out(ConvLayout layout, float* t, size_t floats, Scratch& holder);
  void tensor_out_done(ConvLayout layout, float* t, int n, int c, int h, int w, const Scratch& holder,
                       const char* op);
  const float* conv_input(const ConvPlan& plan, ConvLayout layout, const float* x, Scratch& holder, const char* op);
  const float* conv_kernel(const WindowParams& p, ConvLayout layout, const float* w, Scratch& holder, const char* op);
  void conv_kernel_grad_done(const WindowParams& p, ConvLayout layout, const float* dk, float* dw, const char* op);
  // The layout direction d of `plan` runs in; ranks cuDNN's algorithms there on first use.
  ConvLayout conv_layout(ConvPlan& plan, ConvDirection d, const char* op);
  std::vector<ConvAlgos::Candidate> conv_candidates(const ConvPlan& plan, ConvDirection d, ConvLayout layout,
                                                   const char* op);
  // Runs call(algo, workspace, bytes) with the first of the direction's
  // algorithms that runs. False when none ran in NHWC and the direction has
  // moved to NCHW: the caller prepares its operands again and calls again.
  bool run_conv(ConvPlan& plan, ConvDirection d, const char* op,
                const std::function<cudnnStatus_t(int algo, void* workspace, size_t bytes)>& call);

  int device_ = 0;
  std::string name_;
  int cc_major_ = 0, cc_minor_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  std::unique_ptr<CachingAllocator> alloc_;

  // Pinned host staging for read_stats / has_non_finite.
  double* host_stats_ = nullptr;
  int host_stats_len_ = 0;
  // request_stats/poll_stats: a pinned snapshot and the event that marks it landed.
  double* snapshot_ = nullptr;
  int snapshot_len_ = 0;  // capacity (doubles)
  int snapshot_n_ = 0;    // doubles in the latest request
  bool snapshot_pending_ = false;
  cudaEvent_t snapshot_event_ = nullptr;
  int* host_flag_ = nullptr;
  int* device_flag_ = nullptr;  // allocator-owned (internal)

  float* ones_ = nullptr;  // allocator-owned (internal)
  int ones_len_ = 0;

  ConvLayoutChoice layout_choice_ = ConvLayoutChoice::Auto;  // XARXA_CUDNN_LAYOUT, read at creation

  // CUDA graphs (graph.cc): XARXA_CUDA_GRAPHS, read at creation; "" while
  // recording is possible, else why not (a failed recording turns it off).
  // Read by info() on the JS thread while training runs: under graphs_mu_.
  mutable std::mutex graphs_mu_;
  std::string graphs_off_;
  std::string graphs_off() const;
  // A recording is in progress: ops must not allocate, nor change lasting state on failure.
  bool capturing_ = false;
  void* cublas_workspace_ = nullptr;  // allocator-owned (internal)
  void use_cublas_workspace();        // gives cuBLAS a workspace of ours (graph.cc)
  std::mutex plans_mu_;
  std::map<std::array<int, 14>, std::unique_ptr<ConvPlan>> conv_plans_;
};

}  // namespace cuda
}  // namespace xarxa

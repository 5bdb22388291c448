#include "cuda/cuda_backend.h"

#include <cstring>
#include <string>

#include "cuda/check.h"
#include "cuda/conv_plan.h"
#include "cuda/kernels.h"

namespace xarxa {
namespace cuda {
namespace {

std::string version_string(int v) {  // 130002 -> "13.0.2"
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

}  // namespace

CudaBackend::CudaBackend(int ordinal) : device_(ordinal) {
  const char* op = "create";
  try {
    layout_choice_ = conv_layout_choice();
    graphs_off_ = graphs_choice();
    XARXA_CUDA_CHECK(op, cudaSetDevice(ordinal));
    cudaDeviceProp prop;
    XARXA_CUDA_CHECK(op, cudaGetDeviceProperties(&prop, ordinal));
    name_ = prop.name;
    cc_major_ = prop.major;
    cc_minor_ = prop.minor;
    const cudaError_t image = kernel_image_status();
    if (image == cudaErrorNoKernelImageForDevice || image == cudaErrorInvalidDeviceFunction ||
        image == cudaErrorUnsupportedPtxVersion) {
      cudaGetLastError();
      throw Error(std::string("cuda create: this build of xarxa has no GPU code for ") + name_ + " (compute capability " +
                  std::to_string(cc_major_) + "." + std::to_string(cc_minor_) + "); it was built for CUDA architectures " +
                  XARXA_CUDA_ARCHS + "; build it for this GPU with CUDAARCHS=" + std::to_string(cc_major_) +
                  std::to_string(cc_minor_) + "-real npx cmake-js rebuild (in the xarxa package folder)");
    }
    XARXA_CUDA_CHECK(op, image);
    XARXA_CUDA_CHECK(op, cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    XARXA_CUBLAS_CHECK(op, cublasCreate(&cublas_));
    XARXA_CUBLAS_CHECK(op, cublasSetStream(cublas_, stream_));
    // FP32 GEMMs stay FP32 (CUBLAS_TF32_TENSOR_OP_MATH would round inputs to TF32).
    XARXA_CUBLAS_CHECK(op, cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
    XARXA_CUDNN_CHECK(op, cudnnCreate(&cudnn_));
    XARXA_CUDNN_CHECK(op, cudnnSetStream(cudnn_, stream_));
    alloc_ = std::make_unique<CachingAllocator>(ordinal, stream_);
    XARXA_CUDA_CHECK(op, cudaMallocHost(reinterpret_cast<void**>(&host_flag_), sizeof(int)));
    XARXA_CUDA_CHECK(op, cudaEventCreateWithFlags(&snapshot_event_, cudaEventDisableTiming));
    device_flag_ = static_cast<int*>(alloc_->allocate(sizeof(int), false, op));
    if (graphs_off_.empty()) use_cublas_workspace();  // graph.cc
  } catch (...) {
    release();
    throw;
  }
}

CudaBackend::~CudaBackend() { release(); }

void CudaBackend::release() noexcept {
  // Nothing here may throw; errors (e.g. a driver shutting down at exit) are ignored.
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  conv_plans_.clear();
  if (cudnn_) cudnnDestroy(cudnn_);
  cudnn_ = nullptr;
  if (cublas_) cublasDestroy(cublas_);
  cublas_ = nullptr;
  alloc_.reset();  // cudaFree of every block, device_flag_, ones_ and cublas_workspace_ included
  device_flag_ = nullptr;
  cublas_workspace_ = nullptr;
  ones_ = nullptr;
  if (host_stats_) cudaFreeHost(host_stats_);
  host_stats_ = nullptr;
  if (host_flag_) cudaFreeHost(host_flag_);
  host_flag_ = nullptr;
  if (snapshot_) cudaFreeHost(snapshot_);
  snapshot_ = nullptr;
  snapshot_len_ = 0;
  snapshot_n_ = 0;
  snapshot_pending_ = false;
  if (snapshot_event_) cudaEventDestroy(snapshot_event_);
  snapshot_event_ = nullptr;
  if (stream_) cudaStreamDestroy(stream_);
  stream_ = nullptr;
  cudaGetLastError();
}

// Called first by every op. The current device is per thread, ops may arrive
// on any libuv worker thread, and other CUDA code in the process may change it:
// ask the runtime (cheap) each time. (Code that pushes its own driver-API
// context for this device is not detected: our stream and handles belong to
// the primary context.) The per-thread last-error slot is cleared too, so
// launched() sees only this op's launches, not what another model or library
// left on this worker thread.
void CudaBackend::use_device() const {
  cudaGetLastError();
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess && current == device_) return;
  XARXA_CUDA_CHECK("set device", cudaSetDevice(device_));
}

void CudaBackend::launched(const char* op) { XARXA_CUDA_CHECK(op, cudaGetLastError()); }

DeviceInfo CudaBackend::info() const {
  const char* op = "info";
  use_device();
  DeviceInfo d;
  d.backend = "cuda";
  d.name = name_;
  d.device_index = device_;
  d.compute_major = cc_major_;
  d.compute_minor = cc_minor_;
  XARXA_CUDA_CHECK(op, cudaMemGetInfo(&d.free_memory, &d.total_memory));
  XARXA_CUDA_CHECK(op, cudaRuntimeGetVersion(&d.cuda_runtime_version));
  XARXA_CUDA_CHECK(op, cudaDriverGetVersion(&d.cuda_driver_version));
  XARXA_CUBLAS_CHECK(op, cublasGetVersion(cublas_, &d.cublas_version));
  d.cudnn_version = static_cast<int>(cudnnGetVersion());
  d.threads = 1;
  d.gemm = "cuBLAS " + version_string(d.cublas_version) + " sgemm (FP32, no TF32)";
  const std::string off = graphs_off();
  d.step_graphs = off.empty() ? "on" : "off: " + off;
  return d;
}

// ---- memory -------------------------------------------------------------------

void* CudaBackend::alloc(size_t bytes) {
  use_device();
  // A layer growing a buffer in a recorded step: the recording fails and the step runs op by op.
  if (capturing_) throw Error("cuda alloc: a buffer is allocated while a step is being recorded");
  return alloc_->allocate(bytes, true, "alloc");
}

void CudaBackend::free(void* ptr) {
  if (!ptr) return;
  alloc_->deallocate(ptr);
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  use_device();
  // Callers reuse or free host_src as soon as this returns (Layer::glorot_uniform's
  // vector, JS buffers). For pageable memory CUDA documents cudaMemcpyAsync only as
  // "might be synchronous" / "may stage": that the source is consumed on return is not
  // promised, so wait for the copy. (Not cudaMemcpy: it runs on the legacy default
  // stream, which a cudaStreamNonBlocking stream does not order against.) Uploads are
  // set-up work (datasets, weights, one sample order per train call), not per batch.
  XARXA_CUDA_CHECK("upload", cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
  XARXA_CUDA_CHECK("upload", cudaStreamSynchronize(stream_));
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  use_device();
  XARXA_CUDA_CHECK("download", cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  XARXA_CUDA_CHECK("download", cudaStreamSynchronize(stream_));
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  const char* op = "copy";
  use_device();
  const char* d = static_cast<const char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (d < s + bytes && s < d + bytes) {
    // Overlapping ranges (the CPU's memmove allows them; cudaMemcpy does not): go through scratch.
    Scratch tmp(*alloc_, bytes, op);
    XARXA_CUDA_CHECK(op, cudaMemcpyAsync(tmp.get(), src, bytes, cudaMemcpyDeviceToDevice, stream_));
    XARXA_CUDA_CHECK(op, cudaMemcpyAsync(dst, tmp.get(), bytes, cudaMemcpyDeviceToDevice, stream_));
    return;
  }
  XARXA_CUDA_CHECK(op, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaBackend::fill(float* dst, float value, size_t n) {
  if (n == 0) return;
  use_device();
  launch_fill(stream_, dst, value, n);
  launched("fill");
}

void CudaBackend::synchronize() {
  use_device();
  XARXA_CUDA_CHECK("synchronize", cudaStreamSynchronize(stream_));
}

size_t CudaBackend::bytes_in_use() const { return alloc_->bytes_in_use(); }

size_t CudaBackend::release_cache() {
  use_device();
  XARXA_CUDA_CHECK("release_cache", cudaStreamSynchronize(stream_));
  return alloc_->release_cache();
}

// ---- data movement --------------------------------------------------------------

void CudaBackend::gather_rows(float* dst, const float* src, const int32_t* index, int begin, int rows,
                              int row_len) {
  if (rows <= 0 || row_len <= 0) return;
  use_device();
  launch_gather_rows(stream_, dst, src, index, begin, rows, row_len);
  launched("gather_rows");
}

void CudaBackend::gather_batch(float* x_dst, const float* x_src, int x_row, float* y_dst, const float* y_src,
                               int y_row, const int32_t* index, int begin, int rows) {
  if (rows <= 0) return;
  if (x_row <= 0 || y_row <= 0) return Backend::gather_batch(x_dst, x_src, x_row, y_dst, y_src, y_row, index, begin, rows);
  use_device();
  launch_gather_batch(stream_, x_dst, x_src, x_row, y_dst, y_src, y_row, index, begin, rows);
  launched("gather_batch");
}

void CudaBackend::nchw_to_nhwc(float* dst, const float* src, int n, int c, int h, int w) {
  use_device();
  launch_nchw_to_nhwc(stream_, dst, src, n, c, h, w);
  launched("nchw_to_nhwc");
}

void CudaBackend::nhwc_to_nchw(float* dst, const float* src, int n, int c, int h, int w) {
  use_device();
  launch_nhwc_to_nchw(stream_, dst, src, n, c, h, w);
  launched("nhwc_to_nchw");
}

// ---- dense algebra ----------------------------------------------------------------

void CudaBackend::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  use_device();
  // C = beta * C, as the CPU does for k <= 0 and alpha == 0: A and B are not read (a NaN
  // there must not reach C), and cuBLAS rejects the leading dimensions of an empty product.
  if (k <= 0 || alpha == 0.0f) {
    launch_scale_matrix(stream_, c, m, n, ldc, beta);
    launched("gemm");
    return;
  }
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: a row-major matrix
  // with row stride ld is its transpose in column-major with leading dimension ld. So
  // cuBLAS gets the operands swapped, with the same transpose flags.
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  XARXA_CUBLAS_CHECK("gemm", cublasSgemm(cublas_, op_b, op_a, n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

void CudaBackend::bias_add(float* y, const float* bias, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  use_device();
  launch_bias_add(stream_, y, bias, rows, cols);
  launched("bias_add");
}

// One kernel instead of two (bias, then activation), softmax included.
void CudaBackend::bias_activation_forward(Activation act, float* y, const float* bias, int rows, int cols) {
  if (rows <= 0 || cols <= 0 || (!bias && act == Activation::Linear)) return;
  use_device();
  launch_bias_activation(stream_, act, y, bias, rows, cols);
  launched("bias_activation_forward");
}

const float* CudaBackend::ones(int n) {
  if (ones_len_ < n) {
    // Its fill would only be recorded, not run: the vector must exist before a recording.
    if (capturing_) throw Error("cuda bias_grad: the vector of ones grows while a step is being recorded");
    const int len = n > (1 << 30) ? n : (n + 1023) / 1024 * 1024;  // rounding up must not overflow int
    float* fresh = static_cast<float*>(alloc_->allocate(sizeof(float) * len, false, "bias_grad"));
    alloc_->deallocate(ones_);  // stream order keeps pending readers of the old vector safe
    ones_ = fresh;
    ones_len_ = len;
    launch_fill(stream_, ones_, 1.0f, len);
    launched("bias_grad");
  }
  return ones_;
}

void CudaBackend::bias_grad(float* db, const float* dy, int rows, int cols) {
  if (cols <= 0) return;
  use_device();
  if (rows <= 0) {
    launch_fill(stream_, db, 0.0f, cols);
    launched("bias_grad");
    return;
  }
  // db = dy^T * ones: dy [rows, cols] row-major is a column-major [cols, rows] matrix.
  const float one = 1.0f, zero = 0.0f;
  XARXA_CUBLAS_CHECK("bias_grad",
                     cublasSgemv(cublas_, CUBLAS_OP_N, cols, rows, &one, dy, cols, ones(rows), 1, &zero, db, 1));
}

// One kernel instead of two (activation backward, then the bias GEMV) where one
// block can walk all rows: a dense layer's batch. Taller gradients (a conv layer's
// batch x height x width rows) keep the two ops, which spread over the whole GPU.
bool CudaBackend::fuses_activation_bias(Activation act, int rows) {
  return act != Activation::Softmax && rows <= kFusedBiasRows;
}

void CudaBackend::activation_bias_backward(Activation act, const float* y, float* dy, float* db, int rows, int cols) {
  if (!db || rows <= 0 || cols <= 0 || !fuses_activation_bias(act, rows))
    return Backend::activation_bias_backward(act, y, dy, db, rows, cols);
  use_device();
  launch_activation_bias_backward(stream_, act, y, dy, db, rows, cols);
  launched("activation_bias_backward");
}

// ---- activations --------------------------------------------------------------------

void CudaBackend::activation_forward(Activation act, const float* x, float* y, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return;
  if (act == Activation::Linear) {
    copy(y, x, sizeof(float) * static_cast<size_t>(rows) * cols);
    return;
  }
  use_device();
  launch_activation_forward(stream_, act, x, y, rows, cols);
  launched("activation_forward");
}

void CudaBackend::activation_backward(Activation act, const float* y, const float* dy, float* dx, int rows,
                                      int cols) {
  if (rows <= 0 || cols <= 0) return;
  if (act == Activation::Linear) {
    copy(dx, dy, sizeof(float) * static_cast<size_t>(rows) * cols);
    return;
  }
  use_device();
  launch_activation_backward(stream_, act, y, dy, dx, rows, cols);
  launched("activation_backward");
}

// ---- losses and metrics -------------------------------------------------------------

// A loss kernel (with the accuracy count when `count`), given scratch for its
// per-block sums where it has more than one block (kernels.h).
void CudaBackend::loss(Loss kind, const float* pred, const float* labels, int rows, int cols, float grad_scale,
                       float* dout, double* stats, bool count, const char* op) {
  use_device();
  const unsigned blocks = loss_blocks(rows);
  Scratch partials(*alloc_, blocks > 1 ? sizeof(double) * blocks : 0, op);
  double* block_losses = static_cast<double*>(partials.get());
  if (kind == Loss::CategoricalCrossentropy)
    launch_softmax_cross_entropy(stream_, pred, labels, rows, cols, grad_scale, dout, stats, block_losses, count);
  else
    launch_mean_squared_error(stream_, pred, labels, rows, cols, grad_scale, dout, stats, block_losses, count);
  launched(op);
}

void CudaBackend::softmax_cross_entropy(const float* probs, const float* labels, int rows, int cols,
                                        float grad_scale, float* dlogits, double* stats) {
  loss(Loss::CategoricalCrossentropy, probs, labels, rows, cols, grad_scale, dlogits, stats, false, "softmax_cross_entropy");
}

void CudaBackend::mean_squared_error(const float* pred, const float* labels, int rows, int cols, float grad_scale,
                                     float* dout, double* stats) {
  loss(Loss::MeanSquaredError, pred, labels, rows, cols, grad_scale, dout, stats, false, "mean_squared_error");
}

// The loss and the accuracy count in one kernel.
void CudaBackend::loss_and_count_correct(Loss kind, const float* pred, const float* labels, int rows, int cols,
                                         float grad_scale, float* dout, double* stats) {
  loss(kind, pred, labels, rows, cols, grad_scale, dout, stats, true, "loss_and_count_correct");
}

void CudaBackend::count_correct(const float* pred, const float* labels, int rows, int cols, double* stats) {
  use_device();
  launch_count_correct(stream_, pred, labels, rows, cols, stats);
  launched("count_correct");
}

void CudaBackend::note_non_finite(double* stats, int batch) {
  use_device();
  launch_note_non_finite(stream_, stats, batch);
  launched("note_non_finite");
}

void CudaBackend::read_stats(double* host, const double* stats, int n) {
  if (n <= 0) return;
  const char* op = "read_stats";
  use_device();
  if (host_stats_len_ < n) {
    if (host_stats_) XARXA_CUDA_CHECK(op, cudaFreeHost(host_stats_));
    host_stats_ = nullptr;
    host_stats_len_ = 0;
    XARXA_CUDA_CHECK(op, cudaMallocHost(reinterpret_cast<void**>(&host_stats_), sizeof(double) * n));
    host_stats_len_ = n;
  }
  XARXA_CUDA_CHECK(op, cudaMemcpyAsync(host_stats_, stats, sizeof(double) * n, cudaMemcpyDeviceToHost, stream_));
  XARXA_CUDA_CHECK(op, cudaStreamSynchronize(stream_));
  std::memcpy(host, host_stats_, sizeof(double) * n);
}

void CudaBackend::zero_stats(double* stats, int n) {
  if (n <= 0) return;
  use_device();
  XARXA_CUDA_CHECK("zero_stats", cudaMemsetAsync(stats, 0, sizeof(double) * n, stream_));  // all-zero bits = 0.0
}

// Progress without stalling the stream: the copy and the event are enqueued
// behind the batch that produced the stats; the host looks at the event later.
void CudaBackend::request_stats(const double* stats, int n) {
  if (n <= 0) return;
  const char* op = "request_stats";
  use_device();
  if (snapshot_len_ < n) {
    if (snapshot_) {
      XARXA_CUDA_CHECK(op, cudaEventSynchronize(snapshot_event_));  // no copy may still target it
      XARXA_CUDA_CHECK(op, cudaFreeHost(snapshot_));
    }
    snapshot_ = nullptr;
    snapshot_len_ = 0;
    XARXA_CUDA_CHECK(op, cudaMallocHost(reinterpret_cast<void**>(&snapshot_), sizeof(double) * n));
    snapshot_len_ = n;
  }
  XARXA_CUDA_CHECK(op, cudaMemcpyAsync(snapshot_, stats, sizeof(double) * n, cudaMemcpyDeviceToHost, stream_));
  XARXA_CUDA_CHECK(op, cudaEventRecord(snapshot_event_, stream_));
  snapshot_pending_ = true;
  snapshot_n_ = n;
}

bool CudaBackend::poll_stats(double* host, int n) {
  if (!snapshot_pending_ || n > snapshot_n_) return false;
  use_device();
  cudaError_t e = cudaEventQuery(snapshot_event_);
  if (e == cudaErrorNotReady) {
    // "Not ready" is an answer, not a failure; keep it out of the last-error
    // slot that launched() reads after the next kernel.
    if (cudaPeekAtLastError() == cudaErrorNotReady) cudaGetLastError();
    return false;
  }
  XARXA_CUDA_CHECK("poll_stats", e);  // a kernel that failed before the snapshot surfaces here
  std::memcpy(host, snapshot_, sizeof(double) * n);
  snapshot_pending_ = false;
  return true;
}

// ---- pooling ------------------------------------------------------------------------

void CudaBackend::pool_forward(PoolKind kind, const WindowParams& p, const float* x, float* y) {
  use_device();
  launch_pool_forward(stream_, kind, p, x, y);
  launched("pool_forward");
}

void CudaBackend::pool_backward(PoolKind kind, const WindowParams& p, const float* x, const float* y,
                                const float* dy, float* dx) {
  if (p.batch <= 0 || p.in_h <= 0 || p.in_w <= 0 || p.in_c <= 0) return;
  use_device();
  Scratch argmax(*alloc_, pool_backward_scratch_bytes(kind, p), "pool_backward");
  launch_pool_backward(stream_, kind, p, x, dy, dx, static_cast<int*>(argmax.get()));
  launched("pool_backward");
}

// ---- dropout, element-wise ------------------------------------------------------------

void CudaBackend::dropout_forward(const float* x, float* y, float* mask, size_t n, float rate, uint64_t seed) {
  if (n == 0) return;
  use_device();
  const float keep_scale = 1.0f / (1.0f - rate);  // the CPU's expression, in float
  launch_dropout(stream_, x, y, mask, n, rate, keep_scale, seed);
  launched("dropout_forward");
}

void CudaBackend::multiply(const float* a, const float* b, float* out, size_t n) {
  if (n == 0) return;
  use_device();
  launch_multiply(stream_, a, b, out, n);
  launched("multiply");
}

void CudaBackend::sgd_update(float* w, const float* g, float* velocity, size_t n, float lr, float momentum,
                             bool nesterov) {
  if (n == 0) return;
  use_device();
  launch_sgd(stream_, w, g, velocity, n, lr, momentum, nesterov);
  launched("sgd_update");
}

// All parameters in one launch (a model has 2 per layer; one launch each cost more than the math).
void CudaBackend::sgd_update_all(const SgdTensor* tensors, int count, float lr, float momentum, bool nesterov) {
  if (count <= 0) return;
  use_device();
  launch_sgd_all(stream_, tensors, count, lr, momentum, nesterov);
  launched("sgd_update_all");
}

bool CudaBackend::has_non_finite(const float* x, size_t n) {
  if (n == 0) return false;
  const char* op = "has_non_finite";
  use_device();
  XARXA_CUDA_CHECK(op, cudaMemsetAsync(device_flag_, 0, sizeof(int), stream_));
  launch_non_finite(stream_, x, n, device_flag_);
  launched(op);
  XARXA_CUDA_CHECK(op, cudaMemcpyAsync(host_flag_, device_flag_, sizeof(int), cudaMemcpyDeviceToHost, stream_));
  XARXA_CUDA_CHECK(op, cudaStreamSynchronize(stream_));
  return *host_flag_ != 0;
}

}  // namespace cuda
}  // namespace xarxa

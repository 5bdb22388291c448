// The backend interface: every op a layer needs, on buffers the backend owns.
// The CPU backend (native/cpu) is the reference; the CUDA backend
// (native/cuda) implements the same contract and must match it within float
// tolerance. Layers and the model never touch memory directly: they only call
// these ops, so they run unchanged on either device.
//
// Conventions:
// - All tensors are float32, dense, row-major. Images are NHWC (channels-last).
// - "Device pointers" are whatever alloc() returned; only the backend reads them.
// - Ops are ordered: each sees the results of the ones before it (a CUDA
//   backend runs them on one stream). download()/read_stats() synchronise;
//   request_stats()/poll_stats() read the training statistics without waiting.
// - Errors throw xarxa::Error with the failing op and the library's message.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace xarxa {

enum class Activation { Linear, Relu, Sigmoid, Tanh, Softmax };

enum class PoolKind { Max, Average };

enum class Loss { CategoricalCrossentropy, MeanSquaredError };

// A 2-D convolution or pooling window over NHWC images. Padding is
// TensorFlow's: pad_top/pad_left before, and whatever makes the output size
// come out after (bottom/right), so 'same' may be asymmetric.
struct WindowParams {
  int batch = 0;
  int in_h = 0, in_w = 0, in_c = 0;      // input image
  int out_h = 0, out_w = 0, out_c = 0;   // output image (out_c = in_c for pooling)
  int k_h = 0, k_w = 0;                  // kernel / pool window
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0;         // bottom/right padding is implied
};

// One tensor of an SGD step over several (Backend::sgd_update_all).
struct SgdTensor {
  float* w;
  const float* g;
  float* velocity;  // may be null without momentum
  size_t n;
};

// Where the training statistics live in a stats buffer (doubles). kStatFirstNonFinite
// holds 1 + the first batch after which the summed loss was NaN or infinite, 0 while
// it is finite (so that zeroed stats mean "none"): exact even when stats are read
// only now and then.
enum Stat { kStatLoss = 0, kStatCorrect = 1, kStatFirstNonFinite = 2, kStatCount = 3 };

struct DeviceInfo {
  std::string backend;          // "cpu" or "cuda"
  std::string name;             // CPU model or GPU name
  int device_index = -1;        // CUDA device ordinal (-1 for the CPU)
  int compute_major = 0, compute_minor = 0;
  size_t total_memory = 0, free_memory = 0;  // bytes
  int threads = 1;              // CPU threads used
  std::string gemm;             // which GEMM implementation
  int cuda_runtime_version = 0, cuda_driver_version = 0;
  int cublas_version = 0, cudnn_version = 0;
  std::string step_graphs;      // CUDA graphs for training steps: "on", or "off: why" ("" on the CPU)
};

// A sequence of ops recorded once and run again as a whole (Backend::record).
class RecordedOps {
 public:
  virtual ~RecordedOps() = default;
  // Does what calling the recorded ops again with the same arguments would:
  // the same buffers, the same sizes, enqueued in order like any op.
  virtual void replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceInfo info() const = 0;

  // ---- memory -------------------------------------------------------------
  virtual void* alloc(size_t bytes) = 0;       // never returns null; throws
  virtual void free(void* ptr) = 0;            // null is fine
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;  // synchronises
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void fill(float* dst, float value, size_t n) = 0;
  virtual void synchronize() = 0;
  // Bytes currently held by alloc() (for leak tests and the GPU memory report).
  virtual size_t bytes_in_use() const = 0;

  // ---- data movement ------------------------------------------------------
  // dst[i, :] = src[index[begin + i], :] for i in [0, rows): one shuffled batch.
  // `index` is a device buffer of int32 row numbers.
  virtual void gather_rows(float* dst, const float* src, const int32_t* index, int begin, int rows,
                           int row_len) = 0;
  // A training batch: gather_rows of the inputs and of the labels with the same
  // index. This default calls gather_rows twice; a backend may do both in one pass.
  virtual void gather_batch(float* x_dst, const float* x_src, int x_row, float* y_dst, const float* y_src, int y_row,
                            const int32_t* index, int begin, int rows) {
    gather_rows(x_dst, x_src, index, begin, rows, x_row);
    gather_rows(y_dst, y_src, index, begin, rows, y_row);
  }
  // NCHW <-> NHWC, for layers with dataFormat 'channelsFirst'.
  virtual void nchw_to_nhwc(float* dst, const float* src, int n, int c, int h, int w) = 0;
  virtual void nhwc_to_nchw(float* dst, const float* src, int n, int c, int h, int w) = 0;

  // ---- dense algebra ------------------------------------------------------
  // C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major;
  // lda/ldb/ldc are the row strides of A, B, C as stored.
  virtual void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                    int lda, const float* b, int ldb, float beta, float* c, int ldc) = 0;
  // y[r, c] += bias[c]
  virtual void bias_add(float* y, const float* bias, int rows, int cols) = 0;
  // y = act(y + bias), in place: a layer's forward after its GEMM. `bias` may be
  // null. The same numbers as bias_add then activation_forward, which is what
  // this default does; a backend may do it in one pass.
  virtual void bias_activation_forward(Activation act, float* y, const float* bias, int rows, int cols) {
    if (bias) bias_add(y, bias, rows, cols);
    if (act != Activation::Linear) activation_forward(act, y, y, rows, cols);
  }
  // db[c] = sum_r dy[r, c]  (overwrites db)
  virtual void bias_grad(float* db, const float* dy, int rows, int cols) = 0;
  // A layer's backward before its GEMMs, the mirror of bias_activation_forward:
  // dy = dy * act'(.) in place (from the activation's output y), then
  // db = bias_grad of that (`db` may be null: no bias). The same numbers as the
  // two ops, which is what this default does; a backend may do it in one pass.
  virtual void activation_bias_backward(Activation act, const float* y, float* dy, float* db, int rows, int cols) {
    if (act != Activation::Linear) activation_backward(act, y, dy, dy, rows, cols);
    if (db) bias_grad(db, dy, rows, cols);
  }

  // ---- activations --------------------------------------------------------
  // In place is allowed (y == x). Softmax is over the last axis of [rows, cols].
  virtual void activation_forward(Activation act, const float* x, float* y, int rows, int cols) = 0;
  // dx = dy * act'(.) written from the activation's output y (in place: dx == dy allowed).
  virtual void activation_backward(Activation act, const float* y, const float* dy, float* dx,
                                   int rows, int cols) = 0;

  // ---- losses and metrics -------------------------------------------------
  // Categorical cross-entropy on softmax probabilities, Keras/tfjs semantics:
  // p normalised by its row sum and clipped to [1e-7, 1 - 1e-7]; loss per row
  // -sum(y * log p). Adds the summed loss over rows to stats[kStatLoss]. When
  // dlogits is not null it receives the gradient of (grad_scale * loss) with
  // respect to the softmax's input, fused and stable: grad_scale * (p * S - y * m),
  // m = 1 where p was not clipped, S = sum(y * m).
  virtual void softmax_cross_entropy(const float* probs, const float* labels, int rows, int cols,
                                     float grad_scale, float* dlogits, double* stats) = 0;
  // Mean squared error: loss per row mean((p - y)^2); dout = grad_scale * 2 (p - y) / cols.
  virtual void mean_squared_error(const float* pred, const float* labels, int rows, int cols,
                                  float grad_scale, float* dout, double* stats) = 0;
  // stats[kStatCorrect] += number of rows where argmax(pred) == argmax(labels) (first max wins).
  // With one column (a single output unit) Keras' binary accuracy instead: the row is
  // right where (pred > 0.5 ? 1 : 0) == label.
  virtual void count_correct(const float* pred, const float* labels, int rows, int cols,
                             double* stats) = 0;
  // If stats[kStatLoss] is NaN or infinite and stats[kStatFirstNonFinite] is 0,
  // sets it to batch + 1 (called after each training batch's loss).
  virtual void note_non_finite(double* stats, int batch) = 0;
  // A batch's loss (softmax_cross_entropy or mean_squared_error, as `loss`
  // says; the gradient too when dout is not null) and count_correct on the
  // same rows. This default calls the two ops; a backend may do both in one pass.
  virtual void loss_and_count_correct(Loss loss, const float* pred, const float* labels, int rows, int cols,
                                      float grad_scale, float* dout, double* stats) {
    if (loss == Loss::CategoricalCrossentropy)
      softmax_cross_entropy(pred, labels, rows, cols, grad_scale, dout, stats);
    else
      mean_squared_error(pred, labels, rows, cols, grad_scale, dout, stats);
    count_correct(pred, labels, rows, cols, stats);
  }
  // Copies `n` doubles of stats to the host (synchronises) and zero-resets nothing.
  virtual void read_stats(double* host, const double* stats, int n) = 0;
  virtual void zero_stats(double* stats, int n) = 0;
  // Reading stats without waiting, for progress reports while training runs:
  // request_stats() snapshots the stats as they will be once every op enqueued
  // so far has run (an asynchronous copy; a newer request replaces an older
  // one); poll_stats() never blocks: it returns false while the latest
  // snapshot is still in flight (or none was requested), else copies it to
  // `host` and returns true, once per request.
  virtual void request_stats(const double* stats, int n) = 0;
  virtual bool poll_stats(double* host, int n) = 0;

  // ---- convolution (NHWC input, kernel [k_h, k_w, in_c, out_c]) -----------
  virtual void conv2d_forward(const WindowParams& p, const float* x, const float* w, float* y) = 0;
  virtual void conv2d_backward_data(const WindowParams& p, const float* dy, const float* w,
                                    float* dx) = 0;
  // dw = dL/dw (overwrites dw)
  virtual void conv2d_backward_filter(const WindowParams& p, const float* x, const float* dy,
                                      float* dw) = 0;

  // ---- pooling (NHWC) -----------------------------------------------------
  // Max: padded cells never win, ties go to the first maximum in row-major
  // window order. Average: divides by the number of real (unpadded) cells.
  virtual void pool_forward(PoolKind kind, const WindowParams& p, const float* x, float* y) = 0;
  // dx (overwritten) from dy; max pooling routes each dy to its argmax (recomputed from x).
  virtual void pool_backward(PoolKind kind, const WindowParams& p, const float* x, const float* y,
                             const float* dy, float* dx) = 0;

  // ---- dropout (inverted) -------------------------------------------------
  // mask[i] = (uniform01(seed, i) >= rate) / (1 - rate); y = x * mask.
  virtual void dropout_forward(const float* x, float* y, float* mask, size_t n, float rate,
                               uint64_t seed) = 0;
  // dx = dy * mask (in place allowed)
  virtual void multiply(const float* a, const float* b, float* out, size_t n) = 0;

  // ---- optimizer ----------------------------------------------------------
  // Keras SGD: without momentum w -= lr * g. With momentum m:
  // v = m * v - lr * g; w += v (nesterov: w += m * v - lr * g).
  virtual void sgd_update(float* w, const float* g, float* velocity, size_t n, float lr,
                          float momentum, bool nesterov) = 0;
  // sgd_update on each of `count` tensors (a model's parameters after a batch);
  // this default calls it per tensor, a backend may do them in one pass.
  virtual void sgd_update_all(const SgdTensor* tensors, int count, float lr, float momentum, bool nesterov) {
    for (int i = 0; i < count; i++)
      sgd_update(tensors[i].w, tensors[i].g, tensors[i].velocity, tensors[i].n, lr, momentum, nesterov);
  }

  // True when any of the n floats is NaN or infinite (synchronises).
  virtual bool has_non_finite(const float* x, size_t n) = 0;

  // ---- recorded ops (CUDA graphs) ------------------------------------------
  // Records the device work of the ops `ops` calls, without running it, to be
  // replayed as one launch: for training steps of small models, where launching
  // each op costs more than running it. Null when this backend does not record
  // (the CPU, this default) or the recording failed; either way no device work
  // ran, and the caller runs the ops itself. The ops' host-side effects happen.
  // Every buffer the ops use must outlive the recording, unmoved, and so must
  // the backend.
  virtual std::unique_ptr<RecordedOps> record(const std::function<void()>& ops) { return nullptr; }
};

const char* activation_name(Activation act);

}  // namespace xarxa

// A CUDA backend that times its ops (XARXA_CUDA_PROFILE=<file>, op_profiler.h):
// every Backend call goes to the CudaBackend inside, bracketed by timing
// events. Calls that do no GPU work (alloc, free, info, bytes_in_use) are
// passed on untimed. bench/tools/gpu-profile.ts turns the file into a per-step
// table.
#pragma once
#include <memory>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/op_profiler.h"

namespace xarxa {
namespace cuda {

class ProfiledBackend final : public Backend {
 public:
  ProfiledBackend(std::unique_ptr<CudaBackend> inner, const std::string& path)
      : in_(std::move(inner)), prof_(in_->device(), in_->stream(), path, in_->info().name) {}

  CudaBackend& inner() { return *in_; }

  DeviceInfo info() const override {
    DeviceInfo d = in_->info();
    d.step_graphs = "off: XARXA_CUDA_PROFILE times each op";  // record() is Backend's: no recording
    return d;
  }
  void* alloc(size_t bytes) override { return in_->alloc(bytes); }
  void free(void* ptr) override { in_->free(ptr); }
  size_t bytes_in_use() const override { return in_->bytes_in_use(); }

  void upload(void* dst, const void* src, size_t bytes) override {
    Timed t(prof_, "upload");
    in_->upload(dst, src, bytes);
  }
  void download(void* dst, const void* src, size_t bytes) override {
    Timed t(prof_, "download");
    in_->download(dst, src, bytes);
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    Timed t(prof_, "copy");
    in_->copy(dst, src, bytes);
  }
  void fill(float* dst, float value, size_t n) override {
    Timed t(prof_, "fill");
    in_->fill(dst, value, n);
  }
  void synchronize() override {
    in_->synchronize();
    prof_.flush();
  }

  void gather_rows(float* dst, const float* src, const int32_t* index, int begin, int rows, int row_len) override {
    Timed t(prof_, "gather_rows " + dims(rows, row_len));
    in_->gather_rows(dst, src, index, begin, rows, row_len);
  }
  void gather_batch(float* x_dst, const float* x_src, int x_row, float* y_dst, const float* y_src, int y_row,
                    const int32_t* index, int begin, int rows) override {
    Timed t(prof_, "gather_batch " + dims(rows, x_row) + " + " + dims(rows, y_row));
    in_->gather_batch(x_dst, x_src, x_row, y_dst, y_src, y_row, index, begin, rows);
  }
  void nchw_to_nhwc(float* dst, const float* src, int n, int c, int h, int w) override {
    Timed t(prof_, "nchw_to_nhwc");
    in_->nchw_to_nhwc(dst, src, n, c, h, w);
  }
  void nhwc_to_nchw(float* dst, const float* src, int n, int c, int h, int w) override {
    Timed t(prof_, "nhwc_to_nchw");
    in_->nhwc_to_nchw(dst, src, n, c, h, w);
  }

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc) override {
    Timed t(prof_, std::string("gemm ") + (trans_a ? "T" : "N") + (trans_b ? "T" : "N") + " m" + std::to_string(m) +
                       " n" + std::to_string(n) + " k" + std::to_string(k));
    in_->gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void bias_add(float* y, const float* bias, int rows, int cols) override {
    Timed t(prof_, "bias_add " + dims(rows, cols));
    in_->bias_add(y, bias, rows, cols);
  }
  void bias_activation_forward(Activation act, float* y, const float* bias, int rows, int cols) override {
    Timed t(prof_, std::string("bias_activation_forward ") + act_name(act) + " " + dims(rows, cols));
    in_->bias_activation_forward(act, y, bias, rows, cols);
  }
  void bias_grad(float* db, const float* dy, int rows, int cols) override {
    Timed t(prof_, "bias_grad " + dims(rows, cols));
    in_->bias_grad(db, dy, rows, cols);
  }
  void activation_bias_backward(Activation act, const float* y, float* dy, float* db, int rows, int cols) override {
    // Where the backend runs the two ops rather than its one kernel, the label says so.
    const bool two_ops = db && act != Activation::Linear && !CudaBackend::fuses_activation_bias(act, rows);
    Timed t(prof_, std::string("activation_bias_backward ") + act_name(act) + (db ? "" : " no bias") + " " +
                       dims(rows, cols) + (two_ops ? " (2 ops)" : ""));
    in_->activation_bias_backward(act, y, dy, db, rows, cols);
  }
  void activation_forward(Activation act, const float* x, float* y, int rows, int cols) override {
    Timed t(prof_, std::string("activation_forward ") + act_name(act) + " " + dims(rows, cols));
    in_->activation_forward(act, x, y, rows, cols);
  }
  void activation_backward(Activation act, const float* y, const float* dy, float* dx, int rows, int cols) override {
    Timed t(prof_, std::string("activation_backward ") + act_name(act) + " " + dims(rows, cols));
    in_->activation_backward(act, y, dy, dx, rows, cols);
  }

  void softmax_cross_entropy(const float* probs, const float* labels, int rows, int cols, float grad_scale,
                             float* dlogits, double* stats) override {
    Timed t(prof_, "softmax_cross_entropy");
    in_->softmax_cross_entropy(probs, labels, rows, cols, grad_scale, dlogits, stats);
  }
  void mean_squared_error(const float* pred, const float* labels, int rows, int cols, float grad_scale, float* dout,
                          double* stats) override {
    Timed t(prof_, "mean_squared_error");
    in_->mean_squared_error(pred, labels, rows, cols, grad_scale, dout, stats);
  }
  void loss_and_count_correct(Loss loss, const float* pred, const float* labels, int rows, int cols, float grad_scale,
                              float* dout, double* stats) override {
    Timed t(prof_, loss == Loss::CategoricalCrossentropy ? "softmax_cross_entropy + count_correct"
                                                         : "mean_squared_error + count_correct");
    in_->loss_and_count_correct(loss, pred, labels, rows, cols, grad_scale, dout, stats);
  }
  void count_correct(const float* pred, const float* labels, int rows, int cols, double* stats) override {
    Timed t(prof_, "count_correct");
    in_->count_correct(pred, labels, rows, cols, stats);
  }
  void note_non_finite(double* stats, int batch) override {
    Timed t(prof_, "note_non_finite");
    in_->note_non_finite(stats, batch);
  }
  void read_stats(double* host, const double* stats, int n) override {
    {
      Timed t(prof_, "read_stats");
      in_->read_stats(host, stats, n);
    }
    prof_.flush();  // the host has waited anyway: the end of an epoch or a progress report
  }
  void zero_stats(double* stats, int n) override {
    Timed t(prof_, "zero_stats");
    in_->zero_stats(stats, n);
  }
  void request_stats(const double* stats, int n) override {
    Timed t(prof_, "request_stats");
    in_->request_stats(stats, n);
  }
  bool poll_stats(double* host, int n) override { return in_->poll_stats(host, n); }

  void conv2d_forward(const WindowParams& p, const float* x, const float* w, float* y) override {
    Timed t(prof_, "conv2d_forward " + window(p));
    in_->conv2d_forward(p, x, w, y);
  }
  void conv2d_backward_data(const WindowParams& p, const float* dy, const float* w, float* dx) override {
    Timed t(prof_, "conv2d_backward_data " + window(p));
    in_->conv2d_backward_data(p, dy, w, dx);
  }
  void conv2d_backward_filter(const WindowParams& p, const float* x, const float* dy, float* dw) override {
    Timed t(prof_, "conv2d_backward_filter " + window(p));
    in_->conv2d_backward_filter(p, x, dy, dw);
  }
  void pool_forward(PoolKind kind, const WindowParams& p, const float* x, float* y) override {
    Timed t(prof_, "pool_forward " + window(p));
    in_->pool_forward(kind, p, x, y);
  }
  void pool_backward(PoolKind kind, const WindowParams& p, const float* x, const float* y, const float* dy,
                     float* dx) override {
    Timed t(prof_, "pool_backward " + window(p));
    in_->pool_backward(kind, p, x, y, dy, dx);
  }

  void dropout_forward(const float* x, float* y, float* mask, size_t n, float rate, uint64_t seed) override {
    Timed t(prof_, "dropout_forward");
    in_->dropout_forward(x, y, mask, n, rate, seed);
  }
  void multiply(const float* a, const float* b, float* out, size_t n) override {
    Timed t(prof_, "multiply");
    in_->multiply(a, b, out, n);
  }
  void sgd_update(float* w, const float* g, float* velocity, size_t n, float lr, float momentum,
                  bool nesterov) override {
    Timed t(prof_, "sgd_update");
    in_->sgd_update(w, g, velocity, n, lr, momentum, nesterov);
  }
  void sgd_update_all(const SgdTensor* tensors, int count, float lr, float momentum, bool nesterov) override {
    Timed t(prof_, "sgd_update_all");
    in_->sgd_update_all(tensors, count, lr, momentum, nesterov);
  }
  bool has_non_finite(const float* x, size_t n) override {
    Timed t(prof_, "has_non_finite");
    return in_->has_non_finite(x, n);
  }

 private:
  using Timed = OpProfiler::Scope;
  // (core's activation_name is not linked into the CUDA library)
  static const char* act_name(Activation a) {
    static const char* const names[] = {"linear", "relu", "sigmoid", "tanh", "softmax"};
    return names[static_cast<int>(a)];
  }
  static std::string dims(int rows, int cols) { return std::to_string(rows) + "x" + std::to_string(cols); }
  // "[batch,h,w,c] k3x3 s1 -> [h,w,c]"
  static std::string window(const WindowParams& p) {
    auto s = [](int v) { return std::to_string(v); };
    return "[" + s(p.batch) + "," + s(p.in_h) + "," + s(p.in_w) + "," + s(p.in_c) + "] k" + s(p.k_h) + "x" + s(p.k_w) +
           " s" + s(p.stride_h) + " -> [" + s(p.out_h) + "," + s(p.out_w) + "," + s(p.out_c) + "]";
  }

  std::unique_ptr<CudaBackend> in_;
  OpProfiler prof_;  // after in_: destroyed first, while the stream still exists
};

}  // namespace cuda
}  // namespace xarxa

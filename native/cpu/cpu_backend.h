// The CPU backend: the reference implementation of every op in backend.h.
// Plain loops over NHWC data, threaded with a small pool; GEMMs (dense layers
// and im2col convolutions) go through our packed sgemm.
#pragma once
#include <atomic>
#include <memory>
#include <vector>

#include "../core/backend.h"
#include "thread_pool.h"

namespace xarxa {

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(int threads);
  DeviceInfo info() const override;

  void* alloc(size_t bytes) override;
  void free(void* ptr) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill(float* dst, float value, size_t n) override;
  void synchronize() override {}
  size_t bytes_in_use() const override { return bytes_in_use_.load(); }

  void gather_rows(float* dst, const float* src, const int32_t* index, int begin, int rows,
                   int row_len) override;
  void nchw_to_nhwc(float* dst, const float* src, int n, int c, int h, int w) override;
  void nhwc_to_nchw(float* dst, const float* src, int n, int c, int h, int w) override;

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
            const float* b, int ldb, float beta, float* c, int ldc) override;
  void bias_add(float* y, const float* bias, int rows, int cols) override;
  void bias_activation_forward(Activation act, float* y, const float* bias, int rows, int cols) override;
  void bias_grad(float* db, const float* dy, int rows, int cols) override;

  void activation_forward(Activation act, const float* x, float* y, int rows, int cols) override;
  void activation_backward(Activation act, const float* y, const float* dy, float* dx, int rows,
                           int cols) override;

  void softmax_cross_entropy(const float* probs, const float* labels, int rows, int cols,
                             float grad_scale, float* dlogits, double* stats) override;
  void mean_squared_error(const float* pred, const float* labels, int rows, int cols, float grad_scale,
                          float* dout, double* stats) override;
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
  void pool_backward(PoolKind kind, const WindowParams& p, const float* x, const float* y,
                     const float* dy, float* dx) override;

  void dropout_forward(const float* x, float* y, float* mask, size_t n, float rate,
                       uint64_t seed) override;
  void multiply(const float* a, const float* b, float* out, size_t n) override;

  void sgd_update(float* w, const float* g, float* velocity, size_t n, float lr, float momentum,
                  bool nesterov) override;
  bool has_non_finite(const float* x, size_t n) override;

 private:
  // Scratch for im2col, grown on demand and kept (no per-batch allocation).
  float* scratch(size_t floats);

  ThreadPool pool_;
  std::atomic<size_t> bytes_in_use_{0};
  std::vector<float> scratch_;
  std::vector<double> snapshot_;  // request_stats: ops have already run, so a copy is the snapshot
  bool snapshot_ready_ = false;
};

}  // namespace xarxa

// A Sequential model on one backend: the layers, their activation and
// gradient buffers, the loss, the SGD optimizer, and the training loop.
// Training runs here, batch after batch, without returning to JS.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "../layers/layer.h"

namespace xarxa {

struct SgdConfig {
  float learning_rate = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
};

// A training or evaluation set copied to the device once.
class DeviceDataset {
 public:
  DeviceDataset(std::shared_ptr<Backend> backend, const float* x, const float* y, int n, long x_row, long y_row);
  ~DeviceDataset();
  DeviceDataset(const DeviceDataset&) = delete;
  DeviceDataset& operator=(const DeviceDataset&) = delete;
  const float* x() const { return x_; }
  const float* y() const { return y_; }  // null when there are no labels
  int size() const { return n_; }
  long x_row() const { return x_row_; }
  long y_row() const { return y_row_; }
  Backend* backend() const { return backend_.get(); }

 private:
  std::shared_ptr<Backend> backend_;
  float* x_ = nullptr;
  float* y_ = nullptr;
  int n_;
  long x_row_, y_row_;
};

struct RunStats {
  double loss_sum = 0;  // summed per-sample loss
  double correct = 0;   // samples predicted right (a fraction of each with an output of rank > 1)
  long samples = 0;
  int batches = 0;
  bool stopped = false;
  int first_non_finite_batch = -1;  // batch index after which the loss sum became NaN/infinite, else -1
};

// Called after a batch with that batch's index and the running totals of the call.
using ProgressFn = std::function<void(int batch, const RunStats& so_far)>;

// Throws unless every dimension of a per-sample input shape is positive.
void check_input_shape(const Shape& input);

class Model {
 public:
  Model(std::shared_ptr<Backend> backend, uint64_t seed);
  ~Model();

  Backend& backend() { return *backend_; }
  std::shared_ptr<Backend> backend_ptr() { return backend_; }
  uint64_t seed() const { return seed_; }

  // Adds a layer built on this model's backend; shapes are checked by build().
  void add(std::unique_ptr<Layer> layer);
  void build(const Shape& input);
  void compile(Loss loss, SgdConfig sgd);
  void set_learning_rate(float lr) { sgd_.learning_rate = lr; }
  // Bytes the per-batch buffers may claim; reserve() refuses batches that
  // would need more (set by the addon from the device's memory).
  void set_memory_limit(size_t bytes) { memory_limit_ = bytes; }
  size_t memory_limit() const { return memory_limit_; }

  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  const Shape& input_shape() const { return input_; }
  const Shape& output_shape() const;

  // Trains on batches [first_batch, last_batch) of an epoch whose sample
  // order is `order` (all of the epoch's row indices, host memory). The
  // last batch may be partial. Checks `stop` after every batch, and stops
  // after a batch whose loss is NaN or infinite as soon as the stats read show
  // it (every batch when progress_every <= 1, else at the next snapshot). `progress`
  // gets the running totals after each batch when progress_every <= 1; else
  // about every progress_every batches, read without stalling the device (a
  // report may come a few batches after the batch it describes); always after
  // the last batch trained.
  RunStats train(const DeviceDataset& data, const int32_t* order, int batch_size, int first_batch, int last_batch,
                 int progress_every, const ProgressFn& progress, const std::atomic<bool>* stop);
  RunStats evaluate(const DeviceDataset& data, int batch_size);
  void predict(const DeviceDataset& data, int batch_size, float* host_out);

  // Parameters in Keras order (layer by layer, kernel then bias).
  std::vector<Param*> params();
  void get_param(int index, float* host) ;
  void set_param(int index, const float* host);
  void release_buffers();

 private:
  void reserve(int batch);
  const float* forward(const float* x, int batch, bool training, uint64_t step_seed);
  long positions_per_sample() const;
  void take_stats(RunStats& run, const double* stats) const;
  void loss_and_grad(const float* out, const float* y, int rows, bool want_grad);
  // One training step on the rows index[begin .. begin + rows) of `data`: the
  // batch gathered, forward, loss, backward, SGD.
  void train_step(const DeviceDataset& data, const int32_t* index, int begin, int rows, uint64_t step_seed);

  std::shared_ptr<Backend> backend_;
  uint64_t seed_;
  uint64_t step_ = 0;
  std::vector<std::unique_ptr<Layer>> layers_;
  Shape input_;
  bool built_ = false, compiled_ = false;
  Loss loss_ = Loss::CategoricalCrossentropy;
  SgdConfig sgd_;

  size_t memory_limit_ = size_t(64) << 30;
  int reserved_ = 0;
  float* batch_x_ = nullptr;
  float* batch_y_ = nullptr;
  int32_t* order_ = nullptr;
  long order_len_ = 0;
  int32_t* step_order_ = nullptr;  // a recorded step's batch of the order (reserved_ ints)
  std::vector<SgdTensor> sgd_tensors_;  // the parameters as train_step updates them (set by train)
  std::vector<float*> acts_;    // output of each layer
  float* grad_a_ = nullptr;     // ping-pong gradient buffers, max activation size
  float* grad_b_ = nullptr;
  double* stats_ = nullptr;     // kStatCount doubles on the device
};

}  // namespace xarxa

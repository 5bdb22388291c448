#include "model.h"

#include <algorithm>

#include "../core/error.h"

namespace xarxa {

// Keras applies the loss and the accuracy along the last axis: an output of rank > 1
// ([steps, classes], [h, w, classes]) is this many rows of the loss per sample.
long Model::positions_per_sample() const { return shape_size(output_shape()) / output_shape().back(); }

// A stats buffer read back (see core/backend.h) into the run's totals, per sample:
// with several positions per sample a sample's loss is the mean over its positions
// and its "correct" the fraction of them predicted right.
void Model::take_stats(RunStats& run, const double* s) const {
  const double positions = (double)positions_per_sample();
  run.loss_sum = s[kStatLoss] / positions;
  run.correct = s[kStatCorrect] / positions;
  run.first_non_finite_batch = (int)s[kStatFirstNonFinite] - 1;
}

// ---- DeviceDataset ------------------------------------------------------------

DeviceDataset::DeviceDataset(std::shared_ptr<Backend> backend, const float* x, const float* y, int n, long x_row,
                             long y_row)
    : backend_(std::move(backend)), n_(n), x_row_(x_row), y_row_(y_row) {
  size_t xb = sizeof(float) * (size_t)n * x_row;
  x_ = static_cast<float*>(backend_->alloc(xb));
  try {
    if (xb) backend_->upload(x_, x, xb);  // x may be null when there are no samples
    if (y) {
      size_t yb = sizeof(float) * (size_t)n * y_row;
      y_ = static_cast<float*>(backend_->alloc(yb));
      if (yb) backend_->upload(y_, y, yb);
    }
  } catch (...) {
    backend_->free(x_);
    backend_->free(y_);
    throw;
  }
}

DeviceDataset::~DeviceDataset() {
  backend_->free(x_);
  backend_->free(y_);
}

// ---- Model --------------------------------------------------------------------

Model::Model(std::shared_ptr<Backend> backend, uint64_t seed) : backend_(std::move(backend)), seed_(seed) {}

Model::~Model() {
  release_buffers();
  layers_.clear();
}

void Model::release_buffers() {
  Backend& b = *backend_;
  b.free(batch_x_);
  b.free(batch_y_);
  b.free(order_);
  b.free(step_order_);
  b.free(grad_a_);
  b.free(grad_b_);
  b.free(stats_);
  for (float* a : acts_) b.free(a);
  acts_.clear();
  batch_x_ = batch_y_ = grad_a_ = grad_b_ = nullptr;
  order_ = step_order_ = nullptr;
  stats_ = nullptr;
  order_len_ = 0;
  reserved_ = 0;
}

void Model::add(std::unique_ptr<Layer> layer) {
  check(!built_, "Model: cannot add layers after the model was built");
  layers_.push_back(std::move(layer));
}

void check_input_shape(const Shape& input) {
  for (int d : input) check(d > 0, "Model: input shape " + shape_string(input) + " must have positive dimensions");
}

void Model::build(const Shape& input) {
  check(!built_, "Model: already built");
  check(!layers_.empty(), "Model: add at least one layer before building");
  check_input_shape(input);
  Rng rng(seed_);
  Shape shape = input;
  for (auto& layer : layers_) shape = layer->build(shape, rng);
  input_ = input;
  built_ = true;
}

const Shape& Model::output_shape() const {
  check(built_, "Model: not built");
  return layers_.back()->output_shape();
}

void Model::compile(Loss loss, SgdConfig sgd) {
  check(built_, "Model: build before compile");
  if (loss == Loss::CategoricalCrossentropy)
    check(layers_.back()->activation() == Activation::Softmax,
          "categorical_crossentropy needs a softmax output layer (the last layer's activation is '" +
              std::string(activation_name(layers_.back()->activation())) + "')");
  loss_ = loss;
  sgd_ = sgd;
  // A new optimizer starts from rest, as in Keras: compiling again zeroes the momentum.
  for (Param* p : params()) {
    if (sgd.momentum != 0.0f && !p->velocity) p->velocity = static_cast<float*>(backend_->alloc(sizeof(float) * p->size()));
    if (p->velocity) backend_->fill(p->velocity, 0.0f, p->size());
  }
  compiled_ = true;
}

std::vector<Param*> Model::params() {
  std::vector<Param*> out;
  for (auto& layer : layers_)
    for (auto& p : layer->params()) out.push_back(&p);
  return out;
}

void Model::get_param(int index, float* host) {
  auto ps = params();
  check(index >= 0 && index < (int)ps.size(), "getWeights: no weight number " + std::to_string(index));
  backend_->download(host, ps[index]->value, sizeof(float) * ps[index]->size());
}

void Model::set_param(int index, const float* host) {
  auto ps = params();
  check(index >= 0 && index < (int)ps.size(), "setWeights: no weight number " + std::to_string(index));
  backend_->upload(ps[index]->value, host, sizeof(float) * ps[index]->size());
}

void Model::reserve(int batch) {
  if (batch <= reserved_) return;
  check(batch > 0, "Model: batch size must be positive");
  // Refuse sizes the backend ops cannot index (int element counts) or that
  // exceed the memory limit, before allocating: a clear error instead of an
  // allocation failure, an int overflow or the OOM killer.
  {
    const double max_values = 2147483647.0;
    double per_sample = (double)shape_size(input_) + (double)shape_size(output_shape());
    double widest = (double)shape_size(input_);
    for (auto& layer : layers_) {
      double out = (double)shape_size(layer->output_shape());
      per_sample += out;
      widest = std::max(widest, out);
      if (layer->kind() == "Conv2D" && !layer->params().empty()) {
        // im2col scratch: one row of k_h * k_w * in_c per output pixel.
        const Shape& k = layer->params()[0].shape;
        double filters = k.back();
        double col = out / filters * ((double)shape_size(k) / filters);
        per_sample += col;
        widest = std::max(widest, col);
      }
    }
    per_sample += 2.0 * widest;  // the two gradient buffers
    check((double)batch * widest <= max_values,
          "a batch of " + std::to_string(batch) + " samples needs a buffer of " +
              std::to_string((long long)((double)batch * widest)) +
              " values, more than the 2^31 - 1 one buffer may hold; use a smaller batchSize");
    double bytes = 4.0 * batch * per_sample;
    check(bytes <= (double)memory_limit_,
          "a batch of " + std::to_string(batch) + " samples needs about " +
              std::to_string((long long)(bytes / (1024.0 * 1024.0))) + " MiB of activations, more than the memory limit of " +
              std::to_string((long long)(memory_limit_ >> 20)) + " MiB; use a smaller batchSize");
  }
  release_buffers();
  Backend& b = *backend_;
  long in_size = shape_size(input_);
  long max_act = in_size;
  for (auto& layer : layers_) {
    long n = (long)batch * shape_size(layer->output_shape());
    acts_.push_back(static_cast<float*>(b.alloc(sizeof(float) * n)));
    max_act = std::max(max_act, shape_size(layer->output_shape()));
    layer->reserve(batch);
  }
  batch_x_ = static_cast<float*>(b.alloc(sizeof(float) * batch * in_size));
  batch_y_ = static_cast<float*>(b.alloc(sizeof(float) * batch * shape_size(output_shape())));
  grad_a_ = static_cast<float*>(b.alloc(sizeof(float) * batch * max_act));
  grad_b_ = static_cast<float*>(b.alloc(sizeof(float) * batch * max_act));
  stats_ = static_cast<double*>(b.alloc(sizeof(double) * kStatCount));
  step_order_ = static_cast<int32_t*>(b.alloc(sizeof(int32_t) * batch));
  reserved_ = batch;
}

const float* Model::forward(const float* x, int batch, bool training, uint64_t step_seed) {
  const float* in = x;
  for (size_t i = 0; i < layers_.size(); i++) {
    layers_[i]->forward(in, acts_[i], batch, training, step_seed + i);
    in = acts_[i];
  }
  return in;
}

void Model::loss_and_grad(const float* out, const float* y, int rows, bool want_grad) {
  // The batch loss is the mean over samples and their positions.
  const int classes = (int)output_shape().back();
  const int n = (int)(rows * positions_per_sample());  // fits: an activation buffer holds it
  float* grad = want_grad ? grad_a_ : nullptr;
  float scale = 1.0f / n;  // gradient of the mean
  backend_->loss_and_count_correct(loss_, out, y, n, classes, scale, grad, stats_);
}

void Model::train_step(const DeviceDataset& data, const int32_t* index, int begin, int rows, uint64_t step_seed) {
  Backend& b = *backend_;
  b.gather_batch(batch_x_, data.x(), (int)data.x_row(), batch_y_, data.y(), (int)data.y_row(), index, begin, rows);
  const float* out = forward(batch_x_, rows, true, step_seed);
  loss_and_grad(out, batch_y_, rows, true);

  // Backward: grad_a_ holds dL/d(output of the current layer).
  bool fused = loss_ == Loss::CategoricalCrossentropy;  // softmax gradient already folded in
  float* dy = grad_a_;
  float* dx = grad_b_;
  for (int i = (int)layers_.size() - 1; i >= 0; i--) {
    const float* x = i == 0 ? batch_x_ : acts_[i - 1];
    layers_[i]->backward(x, acts_[i], dy, i == 0 ? nullptr : dx, rows, fused && i == (int)layers_.size() - 1);
    std::swap(dy, dx);
  }
  b.sgd_update_all(sgd_tensors_.data(), (int)sgd_tensors_.size(), sgd_.learning_rate, sgd_.momentum, sgd_.nesterov);
}

RunStats Model::train(const DeviceDataset& data, const int32_t* order, int batch_size, int first_batch,
                      int last_batch, int progress_every, const ProgressFn& progress,
                      const std::atomic<bool>* stop) {
  check(compiled_, "Model: compile before training");
  check(data.y() != nullptr, "fit: the training data has no labels");
  check(batch_size > 0, "fit: batchSize must be positive");
  const int n = data.size();
  const int total_batches = (int)(((long)n + batch_size - 1) / batch_size);
  check(first_batch >= 0 && last_batch <= total_batches && first_batch <= last_batch, "fit: batch range out of bounds");
  reserve(std::max(1, std::min(batch_size, n)));  // at least one row: stats_ must exist even for n = 0
  Backend& b = *backend_;

  // Upload the part of the shuffled order this call needs.
  long begin = (long)first_batch * batch_size, end = std::min<long>((long)last_batch * batch_size, n);
  if (end - begin > order_len_) {
    b.free(order_);
    order_ = nullptr;
    order_len_ = 0;
    order_ = static_cast<int32_t*>(b.alloc(sizeof(int32_t) * (end - begin)));
    order_len_ = end - begin;
  }
  if (end > begin) b.upload(order_, order + begin, sizeof(int32_t) * (end - begin));

  RunStats run;
  b.zero_stats(stats_, kStatCount);
  sgd_tensors_.clear();
  for (Param* p : params()) sgd_tensors_.push_back({p->value, p->grad, p->velocity, (size_t)p->size()});
  // Progress every `progress_every` batches must not stall the device: the
  // stats are snapshotted without waiting (request_stats) and reported when
  // the snapshot has landed, a batch or more later, with the counts of the
  // batch it was taken after. progress_every <= 1 (per-batch callbacks) and
  // the last or stopping batch read synchronously, so those reports are exact.
  const bool async_progress = progress && progress_every > 1;
  struct Snapshot {
    bool pending = false;
    int batch = 0;
    RunStats run;
  } snap;
  int last_request = 0;  // run.batches when the last snapshot was requested
  auto read_now = [&] {
    double s[kStatCount];
    b.read_stats(s, stats_, kStatCount);
    take_stats(run, s);
  };
  // Recorded steps (CUDA graphs, Backend::record): a full batch's step is the
  // same ops with the same arguments every time, except which rows it
  // gathers. So it is recorded once, gathering from step_order_, and each
  // later full batch copies its part of the order there and replays it: one
  // launch instead of one per op. The first full batch runs op by op (it warms
  // up cuDNN's plans and the memory cache, so recording allocates nothing);
  // the last, partial batch too (the recording is dropped before it: it holds
  // the backend's memory cache). Not with layers that draw random numbers per
  // step (dropout: its seed changes every step). The learning rate, recorded as
  // a value, cannot change during a call (setLearningRate needs an idle model).
  // Backends that cannot record run every step op by op.
  bool random_steps = false;
  for (auto& layer : layers_) random_steps = random_steps || layer->random_in_training();
  std::unique_ptr<RecordedOps> recorded;
  bool record_off = random_steps;  // a backend that could not record is not asked again in this call
  int full_steps = 0;
  for (int batch = first_batch; batch < last_batch; batch++) {
    int row0 = (int)((long)batch * batch_size);  // < n
    int rows = std::min(batch_size, n - row0);
    uint64_t step_seed = mix64(seed_ ^ mix64(++step_));
    const bool full = rows == batch_size;
    if (!full) recorded.reset();
    if (full && !recorded && !record_off && full_steps > 0) {
      recorded = b.record([&] { train_step(data, step_order_, 0, rows, step_seed); });
      record_off = !recorded;
    }
    if (full && recorded) {
      b.copy(step_order_, order_ + (row0 - begin), sizeof(int32_t) * rows);
      recorded->replay();
    } else {
      train_step(data, order_, row0 - (int)begin, rows, step_seed);
    }
    if (full) full_steps++;
    b.note_non_finite(stats_, batch);

    run.samples += rows;
    run.batches++;
    bool last = batch + 1 == last_batch;
    // A NaN or infinite loss ends the call as soon as the host sees it: after
    // that very batch where the stats are read every batch (the CPU), else at
    // the next snapshot (Keras' TerminateOnNaN; NonFiniteLossError otherwise).
    bool stopping = stop && stop->load();
    if (async_progress && snap.pending) {
      double s[kStatCount];
      if (b.poll_stats(s, kStatCount)) {
        snap.pending = false;
        take_stats(snap.run, s);
        if (snap.run.first_non_finite_batch >= 0) stopping = true;
        if (!last && !stopping) progress(snap.batch, snap.run);  // else the exact report below supersedes it
      }
    }
    if (progress && (last || stopping || !async_progress)) {
      read_now();
      if (run.first_non_finite_batch >= 0) stopping = true;
      progress(batch, run);
    } else if (async_progress && !snap.pending && run.batches - last_request >= progress_every) {
      last_request = run.batches;
      b.request_stats(stats_, kStatCount);
      snap.pending = true;
      snap.batch = batch;
      snap.run = run;
    }
    if (stopping) {
      run.stopped = true;
      break;
    }
  }
  read_now();
  return run;
}

RunStats Model::evaluate(const DeviceDataset& data, int batch_size) {
  check(compiled_, "Model: compile before evaluate");
  check(data.y() != nullptr, "evaluate: the data has no labels");
  check(batch_size > 0, "evaluate: batchSize must be positive");
  const int n = data.size();
  reserve(std::min(batch_size, std::max(n, 1)));
  Backend& b = *backend_;
  b.zero_stats(stats_, kStatCount);
  RunStats run;
  for (long next = 0; next < n; next += batch_size) {
    const int row0 = (int)next;
    int rows = std::min(batch_size, n - row0);
    const float* x = data.x() + (long)row0 * data.x_row();
    const float* out = forward(x, rows, false, 0);
    loss_and_grad(out, data.y() + (long)row0 * data.y_row(), rows, false);
    run.samples += rows;
    run.batches++;
  }
  double s[kStatCount];
  b.read_stats(s, stats_, kStatCount);
  take_stats(run, s);
  return run;
}

void Model::predict(const DeviceDataset& data, int batch_size, float* host_out) {
  check(built_, "Model: build before predict");
  check(batch_size > 0, "predict: batchSize must be positive");
  const int n = data.size();
  reserve(std::min(batch_size, std::max(n, 1)));
  long out_row = shape_size(output_shape());
  for (long next = 0; next < n; next += batch_size) {
    const int row0 = (int)next;
    int rows = std::min(batch_size, n - row0);
    const float* out = forward(data.x() + (long)row0 * data.x_row(), rows, false, 0);
    backend_->download(host_out + (long)row0 * out_row, out, sizeof(float) * rows * out_row);
  }
}

}  // namespace xarxa

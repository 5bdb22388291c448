#include "simple_layers.h"

#include "../core/error.h"

namespace xarxa {

// ---- Flatten ----------------------------------------------------------------

Shape Flatten::build(const Shape& input, Rng&) {
  check(!input.empty(), "Flatten: input must have at least one axis per sample");
  // channelsFirst moves the channel axis (the first) last, for any rank, as
  // Keras does: [c, h, w] -> h, w, c; [c, l] -> l, c; [n] stays as it is.
  input_ = input;
  output_ = {int(shape_size(input))};
  return output_;
}

void Flatten::forward(const float* x, float* y, int batch, bool, uint64_t) {
  long n = (long)batch * shape_size(input_);
  if (channels_first_ && input_.size() > 1)
    backend_.nchw_to_nhwc(y, x, batch, input_[0], int(shape_size(input_) / input_[0]), 1);
  else backend_.copy(y, x, sizeof(float) * n);
}

void Flatten::backward(const float*, const float*, float* dy, float* dx, int batch, bool) {
  if (!dx) return;
  long n = (long)batch * shape_size(input_);
  if (channels_first_ && input_.size() > 1)
    backend_.nhwc_to_nchw(dx, dy, batch, input_[0], int(shape_size(input_) / input_[0]), 1);
  else backend_.copy(dx, dy, sizeof(float) * n);
}

// ---- Dropout ----------------------------------------------------------------

Dropout::Dropout(Backend& backend, float rate, uint64_t seed) : Layer(backend), rate_(rate), seed_(seed) {
  check(rate >= 0.0f && rate < 1.0f, "Dropout: rate must be in [0, 1), received " + std::to_string(rate));
}

Shape Dropout::build(const Shape& input, Rng&) {
  input_ = output_ = input;
  return output_;
}

void Dropout::forward(const float* x, float* y, int batch, bool training, uint64_t seed) {
  long n = (long)batch * shape_size(input_);
  last_training_ = training && rate_ > 0.0f;
  if (!last_training_) {
    backend_.copy(y, x, sizeof(float) * n);
    return;
  }
  backend_.dropout_forward(x, y, buffer(0, n), n, rate_, mix64(seed_ ^ mix64(seed)));
}

void Dropout::backward(const float*, const float*, float* dy, float* dx, int batch, bool) {
  if (!dx) return;
  long n = (long)batch * shape_size(input_);
  if (last_training_) backend_.multiply(dy, buffer(0, n), dx, n);
  else backend_.copy(dx, dy, sizeof(float) * n);
}

// ---- Activation -------------------------------------------------------------

Shape ActivationLayer::build(const Shape& input, Rng&) {
  input_ = output_ = input;
  return output_;
}

void ActivationLayer::forward(const float* x, float* y, int batch, bool, uint64_t) {
  int cols = input_.empty() ? 1 : input_.back();
  int rows = int((long)batch * shape_size(input_) / cols);
  backend_.activation_forward(act_, x, y, rows, cols);
}

void ActivationLayer::backward(const float*, const float* y, float* dy, float* dx, int batch,
                               bool dy_is_preactivation) {
  if (!dx) return;
  int cols = input_.empty() ? 1 : input_.back();
  int rows = int((long)batch * shape_size(input_) / cols);
  if (dy_is_preactivation) backend_.copy(dx, dy, sizeof(float) * rows * (long)cols);
  else backend_.activation_backward(act_, y, dy, dx, rows, cols);
}

}  // namespace xarxa

// Layers without windows: Flatten, Dropout, and a standalone Activation.
#pragma once
#include "layer.h"

namespace xarxa {

// Flatten to [batch, features]. channelsLast keeps the memory order (Keras'
// element order); channelsFirst reorders [c, h, w] to h, w, c first (any
// rank: the first axis goes last), as Keras' Flatten(data_format=
// 'channels_first') does to keep weight order.
class Flatten : public Layer {
 public:
  Flatten(Backend& backend, bool channels_first) : Layer(backend), channels_first_(channels_first) {}
  std::string kind() const override { return "Flatten"; }
  Shape build(const Shape& input, Rng& rng) override;
  void forward(const float* x, float* y, int batch, bool training, uint64_t seed) override;
  void backward(const float* x, const float* y, float* dy, float* dx, int batch, bool dy_is_preactivation) override;

 private:
  bool channels_first_;
};

// Inverted dropout: in training, zero each value with probability `rate` and
// scale the kept ones by 1/(1-rate); at inference, the identity.
class Dropout : public Layer {
 public:
  Dropout(Backend& backend, float rate, uint64_t seed);
  std::string kind() const override { return "Dropout"; }
  bool random_in_training() const override { return rate_ > 0.0f; }
  Shape build(const Shape& input, Rng& rng) override;
  void forward(const float* x, float* y, int batch, bool training, uint64_t seed) override;
  void backward(const float* x, const float* y, float* dy, float* dx, int batch, bool dy_is_preactivation) override;

 private:
  float rate_;
  uint64_t seed_;
  bool last_training_ = false;
};

class ActivationLayer : public Layer {
 public:
  ActivationLayer(Backend& backend, Activation act) : Layer(backend), act_(act) {}
  std::string kind() const override { return "Activation"; }
  Shape build(const Shape& input, Rng& rng) override;
  void forward(const float* x, float* y, int batch, bool training, uint64_t seed) override;
  void backward(const float* x, const float* y, float* dy, float* dx, int batch, bool dy_is_preactivation) override;
  Activation activation() const override { return act_; }

 private:
  Activation act_;
};

}  // namespace xarxa

// Dense: y = activation(x @ kernel + bias), kernel [in, units] as in Keras.
// Applied to the last axis, so a [batch, ..., in] input works as in Keras.
#pragma once
#include "layer.h"

namespace xarxa {

class Dense : public Layer {
 public:
  Dense(Backend& backend, int units, Activation act, bool use_bias);
  std::string kind() const override { return "Dense"; }
  Shape build(const Shape& input, Rng& rng) override;
  void forward(const float* x, float* y, int batch, bool training, uint64_t seed) override;
  void backward(const float* x, const float* y, float* dy, float* dx, int batch, bool dy_is_preactivation) override;
  Activation activation() const override { return act_; }

 private:
  int units_, in_ = 0;
  long rows_per_sample_ = 1;  // product of the middle axes
  Activation act_;
  bool use_bias_;
};

}  // namespace xarxa

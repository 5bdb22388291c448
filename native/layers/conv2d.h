// Conv2D as in Keras: kernel [k_h, k_w, in, out], glorot-uniform with
// receptive-field fans, zero bias, TF 'same'/'valid' padding, channelsLast
// (NHWC) or channelsFirst, optional fused activation.
#pragma once
#include "image_layer.h"

namespace xarxa {

class Conv2D : public ImageLayer {
 public:
  Conv2D(Backend& backend, int filters, int k_h, int k_w, int stride_h, int stride_w, Padding padding,
         bool channels_first, Activation act, bool use_bias);
  std::string kind() const override { return "Conv2D"; }
  Shape build(const Shape& input, Rng& rng) override;
  void forward(const float* x, float* y, int batch, bool training, uint64_t seed) override;
  void backward(const float* x, const float* y, float* dy, float* dx, int batch, bool dy_is_preactivation) override;
  Activation activation() const override { return act_; }

 private:
  int filters_;
  Activation act_;
  bool use_bias_;
  // channelsFirst with softmax: the softmax runs on the NCHW output, over its last axis (the
  // width) as in Keras, after the bias; not fused into the NHWC bias pass.
  bool softmax_after_;
};

}  // namespace xarxa

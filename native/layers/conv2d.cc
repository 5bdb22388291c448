#include "conv2d.h"

namespace xarxa {

Conv2D::Conv2D(Backend& backend, int filters, int k_h, int k_w, int stride_h, int stride_w, Padding padding,
               bool channels_first, Activation act, bool use_bias)
    : ImageLayer(backend, k_h, k_w, stride_h, stride_w, padding, channels_first), filters_(filters), act_(act),
      use_bias_(use_bias), softmax_after_(channels_first && act == Activation::Softmax) {
  check(filters > 0, "Conv2D: filters must be a positive integer, received " + std::to_string(filters));
}

Shape Conv2D::build(const Shape& input, Rng& rng) {
  set_geometry(input, filters_);
  Param& kernel = add_param("kernel", {k_h_, k_w_, p_.in_c, filters_});
  long receptive = (long)k_h_ * k_w_;
  glorot_uniform(kernel, receptive * p_.in_c, receptive * filters_, rng);
  if (use_bias_) add_param("bias", {filters_});
  output_ = output_for(filters_);
  return output_;
}

void Conv2D::forward(const float* x, float* y, int batch, bool, uint64_t) {
  p_.batch = batch;
  const float* xin = nhwc_input(x, batch);
  float* out = nhwc_output(y);
  long rows = (long)batch * p_.out_h * p_.out_w;
  backend_.conv2d_forward(p_, xin, params_[0].value, out);
  backend_.bias_activation_forward(softmax_after_ ? Activation::Linear : act_, out,
                                   use_bias_ ? params_[1].value : nullptr, (int)rows, filters_);
  finish_output(y, batch);
  // Keras' softmax is over the last axis of the output: for channelsFirst, the width.
  if (softmax_after_) backend_.activation_forward(Activation::Softmax, y, y, batch * p_.out_c * p_.out_h, p_.out_w);
}

void Conv2D::backward(const float* x, const float* y, float* dy, float* dx, int batch, bool dy_is_preactivation) {
  p_.batch = batch;
  // NHWC views saved by forward() (channelsFirst) or the buffers themselves.
  const float* xin = channels_first_ ? buffer(kX, 0) : x;
  const float* yout = channels_first_ ? buffer(kY, 0) : y;
  if (softmax_after_ && !dy_is_preactivation)
    backend_.activation_backward(Activation::Softmax, y, dy, dy, batch * p_.out_c * p_.out_h, p_.out_w);
  float* g = nhwc_output_grad(dy, batch);
  long rows = (long)batch * p_.out_h * p_.out_w;
  const Activation act = dy_is_preactivation || softmax_after_ ? Activation::Linear : act_;
  backend_.activation_bias_backward(act, yout, g, use_bias_ ? params_[1].grad : nullptr, (int)rows, filters_);
  backend_.conv2d_backward_filter(p_, xin, g, params_[0].grad);
  if (dx) {
    float* gin = nhwc_input_grad(dx);
    backend_.conv2d_backward_data(p_, g, params_[0].value, gin);
    finish_input_grad(dx, batch);
  }
}

}  // namespace xarxa

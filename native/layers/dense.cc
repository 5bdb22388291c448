#include "dense.h"

#include "../core/error.h"

namespace xarxa {

Dense::Dense(Backend& backend, int units, Activation act, bool use_bias)
    : Layer(backend), units_(units), act_(act), use_bias_(use_bias) {
  check(units > 0, "Dense: units must be a positive integer, received " + std::to_string(units));
}

Shape Dense::build(const Shape& input, Rng& rng) {
  check(!input.empty() && input.back() > 0, "Dense: input shape " + shape_string(input) + " has no features axis");
  input_ = input;
  in_ = input.back();
  rows_per_sample_ = shape_size(input) / in_;
  Param& kernel = add_param("kernel", {in_, units_});
  glorot_uniform(kernel, in_, units_, rng);
  if (use_bias_) add_param("bias", {units_});
  output_ = input;
  output_.back() = units_;
  return output_;
}

void Dense::forward(const float* x, float* y, int batch, bool, uint64_t) {
  int rows = int(batch * rows_per_sample_);
  backend_.gemm(false, false, rows, units_, in_, 1.0f, x, in_, params_[0].value, units_, 0.0f, y, units_);
  backend_.bias_activation_forward(act_, y, use_bias_ ? params_[1].value : nullptr, rows, units_);
}

void Dense::backward(const float* x, const float* y, float* dy, float* dx, int batch, bool dy_is_preactivation) {
  int rows = int(batch * rows_per_sample_);
  // dz = dy * act'(.) in place ; dbias = column sums of dz ; dkernel = x^T dz ; dx = dz kernel^T
  const Activation act = dy_is_preactivation ? Activation::Linear : act_;
  backend_.activation_bias_backward(act, y, dy, use_bias_ ? params_[1].grad : nullptr, rows, units_);
  backend_.gemm(true, false, in_, units_, rows, 1.0f, x, in_, dy, units_, 0.0f, params_[0].grad, units_);
  if (dx) backend_.gemm(false, true, rows, in_, units_, 1.0f, dy, units_, params_[0].value, units_, 0.0f, dx, in_);
}

}  // namespace xarxa

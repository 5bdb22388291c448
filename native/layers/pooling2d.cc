#include "pooling2d.h"

namespace xarxa {

Pooling2D::Pooling2D(Backend& backend, PoolKind pool, int k_h, int k_w, int stride_h, int stride_w,
                     Padding padding, bool channels_first)
    : ImageLayer(backend, k_h, k_w, stride_h, stride_w, padding, channels_first), pool_(pool) {}

Shape Pooling2D::build(const Shape& input, Rng&) {
  set_geometry(input, channels_first_ ? (input.size() == 3 ? input[0] : 0) : (input.size() == 3 ? input[2] : 0));
  p_.out_c = p_.in_c;
  output_ = output_for(p_.in_c);
  return output_;
}

void Pooling2D::forward(const float* x, float* y, int batch, bool, uint64_t) {
  p_.batch = batch;
  const float* xin = nhwc_input(x, batch);
  backend_.pool_forward(pool_, p_, xin, nhwc_output(y));
  finish_output(y, batch);
}

void Pooling2D::backward(const float* x, const float* y, float* dy, float* dx, int batch, bool) {
  if (!dx) return;  // no parameters: nothing to do without an input gradient
  p_.batch = batch;
  const float* xin = channels_first_ ? buffer(kX, 0) : x;
  const float* yout = channels_first_ ? buffer(kY, 0) : y;
  float* g = nhwc_output_grad(dy, batch);
  backend_.pool_backward(pool_, p_, xin, yout, g, nhwc_input_grad(dx));
  finish_input_grad(dx, batch);
}

}  // namespace xarxa

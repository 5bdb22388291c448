#include "image_layer.h"

namespace xarxa {

void ImageLayer::set_geometry(const Shape& input, int out_c) {
  check(input.size() == 3, kind() + ": expects images of rank 3 (" +
                               std::string(channels_first_ ? "[channels, height, width]" : "[height, width, channels]") +
                               ") per sample, received " + shape_string(input));
  int h = channels_first_ ? input[1] : input[0];
  int w = channels_first_ ? input[2] : input[1];
  int c = channels_first_ ? input[0] : input[2];
  check(h > 0 && w > 0 && c > 0, kind() + ": input shape " + shape_string(input) + " has an empty axis");
  Axis ay = window_axis(h, k_h_, stride_h_, padding_, kind());
  Axis ax = window_axis(w, k_w_, stride_w_, padding_, kind());
  p_.in_h = h;
  p_.in_w = w;
  p_.in_c = c;
  p_.out_h = ay.out;
  p_.out_w = ax.out;
  p_.out_c = out_c;
  p_.k_h = k_h_;
  p_.k_w = k_w_;
  p_.stride_h = stride_h_;
  p_.stride_w = stride_w_;
  p_.pad_top = ay.pad_before;
  p_.pad_left = ax.pad_before;
  input_ = input;
}

Shape ImageLayer::output_for(int out_c) const {
  return channels_first_ ? Shape{out_c, p_.out_h, p_.out_w} : Shape{p_.out_h, p_.out_w, out_c};
}

const float* ImageLayer::nhwc_input(const float* x, int batch) {
  if (!channels_first_) return x;
  float* t = buffer(kX, (long)batch * p_.in_h * p_.in_w * p_.in_c);
  backend_.nchw_to_nhwc(t, x, batch, p_.in_c, p_.in_h, p_.in_w);
  return t;
}

float* ImageLayer::nhwc_output(float* y) {
  if (!channels_first_) return y;
  return buffer(kY, (long)p_.batch * p_.out_h * p_.out_w * p_.out_c);
}

void ImageLayer::finish_output(float* y, int batch) {
  if (channels_first_) backend_.nhwc_to_nchw(y, buffer(kY, 0), batch, p_.out_c, p_.out_h, p_.out_w);
}

float* ImageLayer::nhwc_output_grad(float* dy, int batch) {
  if (!channels_first_) return dy;
  float* t = buffer(kDy, (long)batch * p_.out_h * p_.out_w * p_.out_c);
  backend_.nchw_to_nhwc(t, dy, batch, p_.out_c, p_.out_h, p_.out_w);
  return t;
}

float* ImageLayer::nhwc_input_grad(float* dx) {
  if (!channels_first_ || !dx) return dx;
  return buffer(kDx, (long)p_.batch * p_.in_h * p_.in_w * p_.in_c);
}

void ImageLayer::finish_input_grad(float* dx, int batch) {
  if (channels_first_ && dx) backend_.nhwc_to_nchw(dx, buffer(kDx, 0), batch, p_.in_c, p_.in_h, p_.in_w);
}

}  // namespace xarxa

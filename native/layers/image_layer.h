// Shared plumbing for layers over images (Conv2D, pooling): input shape
// checks, the window geometry, and 'channelsFirst' support. The backend
// works in NHWC; a channelsFirst layer transposes its input in and its
// output back out, keeping NHWC copies for the backward pass.
#pragma once
#include "layer.h"
#include "window.h"

namespace xarxa {

class ImageLayer : public Layer {
 public:
  ImageLayer(Backend& backend, int k_h, int k_w, int stride_h, int stride_w, Padding padding,
             bool channels_first)
      : Layer(backend), k_h_(k_h), k_w_(k_w), stride_h_(stride_h), stride_w_(stride_w), padding_(padding),
        channels_first_(channels_first) {}

 protected:
  // Fills p_ from an input shape ([h, w, c] or [c, h, w]) and out_c.
  void set_geometry(const Shape& input, int out_c);
  Shape output_for(int out_c) const;
  // NHWC views of x/y/dy/dx: the arguments themselves for channelsLast.
  const float* nhwc_input(const float* x, int batch);
  float* nhwc_output(float* y);
  void finish_output(float* y, int batch);
  float* nhwc_output_grad(float* dy, int batch);
  float* nhwc_input_grad(float* dx);
  void finish_input_grad(float* dx, int batch);

  int k_h_, k_w_, stride_h_, stride_w_;
  Padding padding_;
  bool channels_first_;
  WindowParams p_;  // batch filled per call

  enum Slots { kX = 0, kY = 1, kDy = 2, kDx = 3, kFirstFree = 4 };
};

}  // namespace xarxa

// MaxPooling2D and AveragePooling2D as in Keras: strides default to the
// pool size; TF 'same' padding where padded cells never win a max and are
// not counted in an average; ties go to the first maximum.
#pragma once
#include "image_layer.h"

namespace xarxa {

class Pooling2D : public ImageLayer {
 public:
  Pooling2D(Backend& backend, PoolKind pool, int k_h, int k_w, int stride_h, int stride_w, Padding padding,
            bool channels_first);
  std::string kind() const override { return pool_ == PoolKind::Max ? "MaxPooling2D" : "AveragePooling2D"; }
  Shape build(const Shape& input, Rng& rng) override;
  void forward(const float* x, float* y, int batch, bool training, uint64_t seed) override;
  void backward(const float* x, const float* y, float* dy, float* dx, int batch, bool dy_is_preactivation) override;

 private:
  PoolKind pool_;
};

}  // namespace xarxa

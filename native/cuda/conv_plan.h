// What conv.cc caches per convolution shape (one WindowParams): the cuDNN
// descriptors, whether the input needs explicit padding, and the algorithm
// and workspace size chosen for each direction (chosen on first use).
#pragma once
#include <cudnn.h>

#include <cstddef>
#include <string>

#include "core/backend.h"

namespace xarxa {
namespace cuda {

struct ConvPlan {
  WindowParams p;
  // TensorFlow pads `pad_top` before and whatever is needed after, which may
  // differ; cuDNN pads both sides alike. When its symmetric padding would not
  // give the same windows, the input is copied into a zero-padded scratch
  // image [batch, hp, wp, in_c] and cuDNN runs with padding 0.
  bool padded = false;
  int pad_bottom = 0, pad_right = 0;  // explicit padding after (only when padded)
  int hp = 0, wp = 0;                 // the input size cuDNN sees

  cudnnTensorDescriptor_t x = nullptr;  // [batch, hp, wp, in_c] NHWC
  cudnnTensorDescriptor_t y = nullptr;  // [batch, out_h, out_w, out_c] NHWC
  cudnnFilterDescriptor_t w = nullptr;  // KRSC = [out_c, k_h, k_w, in_c]
  cudnnConvolutionDescriptor_t conv = nullptr;

  bool has_fwd = false, has_bwd_data = false, has_bwd_filter = false;
  cudnnConvolutionFwdAlgo_t fwd_algo{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo{};
  size_t fwd_ws = 0, bwd_data_ws = 0, bwd_filter_ws = 0;

  ConvPlan() = default;
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
  ~ConvPlan();

  // "x [8,28,28,1] kernel [3,3,1,32] stride 1x1 pad top 1 left 1 -> y [8,28,28,32]"
  std::string describe() const;
};

}  // namespace cuda
}  // namespace xarxa

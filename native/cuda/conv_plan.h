// What conv.cc caches per convolution shape (one WindowParams): the cuDNN
// descriptors (in both layouts), whether the input needs explicit padding, and
// for each direction the layout and algorithms cuDNN ranks for it (ranked on
// first use).
#pragma once
#include <cudnn.h>

#include <cstddef>
#include <string>
#include <vector>

#include "core/backend.h"

namespace xarxa {
namespace cuda {

enum class ConvDirection { Forward, BackwardData, BackwardFilter };

// The memory layout cuDNN runs a convolution in. Our tensors are NHWC and our
// kernels HWIO; cuDNN gets NHWC tensors with a KRSC filter, or, where it has no
// NHWC algorithm for a shape (FP32 NHWC is cuDNN's less travelled path) or
// XARXA_CUDNN_LAYOUT=nchw asks for it, NCHW copies with a KCRS filter.
enum class ConvLayout { NHWC, NCHW };
const char* layout_name(ConvLayout l);

// Which layouts CUDA backends try (XARXA_CUDNN_LAYOUT): NHWC, then NCHW when
// no NHWC algorithm runs (auto, the default); or only one of them.
enum class ConvLayoutChoice { Auto, NHWC, NCHW };
ConvLayoutChoice conv_layout_choice();  // from XARXA_CUDNN_LAYOUT; throws on a bad value

// One direction of one convolution shape: the layout it runs in and the FP32
// algorithms cuDNN's heuristics offer for it there, best first with
// deterministic ones ahead (a seeded run must repeat bit for bit: NCHW is
// chosen over NHWC when only NCHW has a deterministic algorithm). Each call
// uses the first that runs. One that fails (cuDNN cannot run this shape,
// its workspace does not fit in the device's memory, ...) is skipped for this
// shape from then on: retrying it would cost a failed launch, or emptying
// every model's memory cache, on every batch.
struct ConvAlgos {
  struct Candidate {
    int algo;          // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t value
    size_t workspace;  // bytes
    bool deterministic;  // the same result on every call (no atomics in arbitrary order)
    bool failed = false;
    std::string why;             // what it failed with
    bool out_of_memory = false;  // failed because its workspace did not fit in device memory
  };
  bool ranked = false;
  ConvLayout layout = ConvLayout::NHWC;
  std::vector<Candidate> candidates;
  std::string nhwc_failures;  // why no NHWC algorithm ran, once this direction moved to NCHW
  // NHWC's non-deterministic algorithms, kept when the direction moved to NCHW for a
  // deterministic one: run rather than fail if no NCHW algorithm runs.
  std::vector<Candidate> nhwc_fallback;
};

// cuDNN's view of a convolution's tensors in one layout.
struct ConvDescriptors {
  cudnnTensorDescriptor_t x = nullptr;  // [batch, in_c, hp, wp]
  cudnnTensorDescriptor_t y = nullptr;  // [batch, out_c, out_h, out_w]
  cudnnFilterDescriptor_t w = nullptr;  // [out_c, in_c, k_h, k_w]: KRSC in memory for NHWC, KCRS for NCHW
};

struct ConvPlan {
  WindowParams p;
  // TensorFlow pads `pad_top` before and whatever is needed after, which may
  // differ; cuDNN pads both sides alike. When its symmetric padding would not
  // give the same windows, the input is copied into a zero-padded scratch
  // image [batch, hp, wp, in_c] and cuDNN runs with padding 0.
  bool padded = false;
  int pad_bottom = 0, pad_right = 0;  // explicit padding after (only when padded)
  int hp = 0, wp = 0;                 // the input size cuDNN sees
  // Floats of the zero-padded input image [batch, hp, wp, in_c].
  size_t padded_floats() const { return static_cast<size_t>(p.batch) * hp * wp * p.in_c; }

  ConvDescriptors nhwc, nchw;
  const ConvDescriptors& descriptors(ConvLayout l) const { return l == ConvLayout::NHWC ? nhwc : nchw; }
  cudnnConvolutionDescriptor_t conv = nullptr;

  ConvAlgos forward, backward_data, backward_filter;
  ConvAlgos& algos(ConvDirection d) {
    return d == ConvDirection::Forward ? forward : d == ConvDirection::BackwardData ? backward_data : backward_filter;
  }

  ConvPlan() = default;
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
  ~ConvPlan();

  // "x [8,28,28,1] kernel [3,3,1,32] stride 1x1 pad top 1 left 1 -> y [8,28,28,32]"
  std::string describe() const;
};

}  // namespace cuda
}  // namespace xarxa

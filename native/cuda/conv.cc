// 2-D convolution through cuDNN's (legacy, v7-style) convolution API on NHWC
// tensors. Our kernel layout is [k_h, k_w, in_c, out_c] (HWIO); cuDNN's NHWC
// filter layout is KRSC = [out_c, k_h, k_w, in_c], so the kernel is transposed
// into scratch memory for each call (and the filter gradient transposed back).
// Math mode CUDNN_FMA_MATH: plain FP32 kernels, never TF32 tensor cores
// (CUDNN_DEFAULT_MATH would allow TF32 on Ampere and newer).
#include <algorithm>
#include <string>
#include <vector>

#include "cuda/check.h"
#include "cuda/conv_plan.h"
#include "cuda/cuda_backend.h"
#include "cuda/kernels.h"

namespace xarxa {
namespace cuda {
namespace {

// cuDNN's output size for symmetric padding `pad` (0 when not even one window fits).
int cudnn_out(int in, int pad, int k, int stride) {
  const int span = in + 2 * pad - k;
  return span < 0 ? 0 : span / stride + 1;
}

// The first algorithm (heuristics rank them best first) that works, is not a
// tensor-core (TF32) one, and is deterministic; failing that, any that works.
template <typename Perf>
int pick_algo(const std::vector<Perf>& perf, int returned) {
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < returned; i++) {
      const Perf& r = perf[i];
      if (r.status != CUDNN_STATUS_SUCCESS) continue;
      if (r.mathType == CUDNN_TENSOR_OP_MATH || r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
      if (pass == 0 && r.determinism != CUDNN_DETERMINISTIC) continue;
      return i;
    }
  }
  return -1;
}

size_t kernel_floats(const WindowParams& p) { return static_cast<size_t>(p.k_h) * p.k_w * p.in_c * p.out_c; }

}  // namespace

ConvPlan::~ConvPlan() {
  if (conv) cudnnDestroyConvolutionDescriptor(conv);
  if (w) cudnnDestroyFilterDescriptor(w);
  if (y) cudnnDestroyTensorDescriptor(y);
  if (x) cudnnDestroyTensorDescriptor(x);
}

std::string ConvPlan::describe() const {
  auto s = [](int v) { return std::to_string(v); };
  std::string d = "x [" + s(p.batch) + "," + s(p.in_h) + "," + s(p.in_w) + "," + s(p.in_c) + "] kernel [" + s(p.k_h) +
                  "," + s(p.k_w) + "," + s(p.in_c) + "," + s(p.out_c) + "] stride " + s(p.stride_h) + "x" +
                  s(p.stride_w) + " pad top " + s(p.pad_top) + " left " + s(p.pad_left) + " -> y [" + s(p.batch) +
                  "," + s(p.out_h) + "," + s(p.out_w) + "," + s(p.out_c) + "]";
  if (padded) d += " (explicit padding bottom " + s(pad_bottom) + " right " + s(pad_right) + ")";
  return d;
}

ConvPlan& CudaBackend::conv_plan(const WindowParams& p, const char* op) {
  const std::array<int, 14> key = {p.batch,  p.in_h,     p.in_w,     p.in_c,     p.out_h,   p.out_w,    p.out_c,
                                   p.k_h,    p.k_w,      p.stride_h, p.stride_w, p.pad_top, p.pad_left, 0};
  std::lock_guard<std::mutex> lock(plans_mu_);
  auto found = conv_plans_.find(key);
  if (found != conv_plans_.end()) return *found->second;

  auto plan = std::make_unique<ConvPlan>();
  plan->p = p;
  const bool valid = p.batch > 0 && p.in_h > 0 && p.in_w > 0 && p.in_c > 0 && p.out_h > 0 && p.out_w > 0 &&
                     p.out_c > 0 && p.k_h > 0 && p.k_w > 0 && p.stride_h > 0 && p.stride_w > 0 && p.pad_top >= 0 &&
                     p.pad_left >= 0;
  if (!valid) throw Error(std::string("cuda ") + op + ": invalid convolution window: " + plan->describe());

  // cuDNN's symmetric padding gives exactly TensorFlow's windows when it gives the same
  // output size: the windows start at the same places, and any cell past the image is zero
  // in both. Otherwise pad explicitly.
  int pad_h = p.pad_top, pad_w = p.pad_left;
  if (cudnn_out(p.in_h, p.pad_top, p.k_h, p.stride_h) == p.out_h &&
      cudnn_out(p.in_w, p.pad_left, p.k_w, p.stride_w) == p.out_w) {
    plan->hp = p.in_h;
    plan->wp = p.in_w;
  } else {
    plan->padded = true;
    plan->pad_bottom = std::max(0, (p.out_h - 1) * p.stride_h + p.k_h - p.in_h - p.pad_top);
    plan->pad_right = std::max(0, (p.out_w - 1) * p.stride_w + p.k_w - p.in_w - p.pad_left);
    plan->hp = p.in_h + p.pad_top + plan->pad_bottom;
    plan->wp = p.in_w + p.pad_left + plan->pad_right;
    pad_h = pad_w = 0;
  }

  XARXA_CUDNN_CHECK(op, cudnnCreateTensorDescriptor(&plan->x));
  XARXA_CUDNN_CHECK(op, cudnnCreateTensorDescriptor(&plan->y));
  XARXA_CUDNN_CHECK(op, cudnnCreateFilterDescriptor(&plan->w));
  XARXA_CUDNN_CHECK(op, cudnnCreateConvolutionDescriptor(&plan->conv));
  XARXA_CUDNN_CHECK(op, cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, p.batch, p.in_c,
                                                   plan->hp, plan->wp));
  XARXA_CUDNN_CHECK(op, cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, p.batch, p.out_c,
                                                   p.out_h, p.out_w));
  XARXA_CUDNN_CHECK(op, cudnnSetFilter4dDescriptor(plan->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, p.out_c, p.in_c,
                                                   p.k_h, p.k_w));
  XARXA_CUDNN_CHECK(op, cudnnSetConvolution2dDescriptor(plan->conv, pad_h, pad_w, p.stride_h, p.stride_w, 1, 1,
                                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  XARXA_CUDNN_CHECK(op, cudnnSetConvolutionMathType(plan->conv, CUDNN_FMA_MATH));

  int n = 0, c = 0, h = 0, w = 0;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolution2dForwardOutputDim(plan->conv, plan->x, plan->w, &n, &c, &h, &w));
  if (n != p.batch || c != p.out_c || h != p.out_h || w != p.out_w)
    throw Error(std::string("cuda ") + op + ": window parameters do not match: cuDNN computes an output of [" +
                std::to_string(n) + "," + std::to_string(h) + "," + std::to_string(w) + "," + std::to_string(c) +
                "] for " + plan->describe());

  ConvPlan& ref = *plan;
  conv_plans_.emplace(key, std::move(plan));
  return ref;
}

void CudaBackend::choose_forward_algo(ConvPlan& plan, const char* op) {
  int max_count = 0;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn_, &max_count));
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(1, max_count));
  int returned = 0;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionForwardAlgorithm_v7(cudnn_, plan.x, plan.w, plan.conv, plan.y,
                                                               (int)perf.size(), &returned, perf.data()));
  const int i = pick_algo(perf, returned);
  if (i < 0) throw Error(std::string("cuda ") + op + ": cuDNN offers no FP32 forward algorithm for " + plan.describe());
  plan.fwd_algo = perf[i].algo;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionForwardWorkspaceSize(cudnn_, plan.x, plan.w, plan.conv, plan.y,
                                                                plan.fwd_algo, &plan.fwd_ws));
  plan.has_fwd = true;
}

void CudaBackend::choose_backward_data_algo(ConvPlan& plan, const char* op) {
  int max_count = 0;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn_, &max_count));
  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::max(1, max_count));
  int returned = 0;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn_, plan.w, plan.y, plan.conv, plan.x,
                                                                    (int)perf.size(), &returned, perf.data()));
  const int i = pick_algo(perf, returned);
  if (i < 0)
    throw Error(std::string("cuda ") + op + ": cuDNN offers no FP32 backward-data algorithm for " + plan.describe());
  plan.bwd_data_algo = perf[i].algo;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn_, plan.w, plan.y, plan.conv, plan.x,
                                                                     plan.bwd_data_algo, &plan.bwd_data_ws));
  plan.has_bwd_data = true;
}

void CudaBackend::choose_backward_filter_algo(ConvPlan& plan, const char* op) {
  int max_count = 0;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnn_, &max_count));
  std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::max(1, max_count));
  int returned = 0;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn_, plan.x, plan.y, plan.conv, plan.w,
                                                                      (int)perf.size(), &returned, perf.data()));
  const int i = pick_algo(perf, returned);
  if (i < 0)
    throw Error(std::string("cuda ") + op + ": cuDNN offers no FP32 backward-filter algorithm for " +
                plan.describe());
  plan.bwd_filter_algo = perf[i].algo;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn_, plan.x, plan.y, plan.conv, plan.w,
                                                                       plan.bwd_filter_algo, &plan.bwd_filter_ws));
  plan.has_bwd_filter = true;
}

void CudaBackend::conv2d_forward(const WindowParams& p, const float* x, const float* w, float* y) {
  const char* op = "conv2d_forward";
  use_device();
  ConvPlan& plan = conv_plan(p, op);
  if (!plan.has_fwd) choose_forward_algo(plan, op);

  const int rsc = p.k_h * p.k_w * p.in_c;
  Scratch krsc(*alloc_, sizeof(float) * kernel_floats(p), op);
  launch_transpose(stream_, krsc.f(), w, rsc, p.out_c);  // [rsc, out_c] -> [out_c, rsc]
  launched(op);

  const float* xin = x;
  Scratch xpad(*alloc_, plan.padded ? sizeof(float) * p.batch * plan.hp * plan.wp * p.in_c : 0, op);
  if (plan.padded) {
    launch_pad_nhwc(stream_, xpad.f(), x, p.batch, p.in_h, p.in_w, p.in_c, p.pad_top, plan.pad_bottom, p.pad_left,
                    plan.pad_right);
    launched(op);
    xin = xpad.f();
  }
  Scratch ws(*alloc_, plan.fwd_ws, op);
  const float one = 1.0f, zero = 0.0f;
  XARXA_CUDNN_CHECK(op, cudnnConvolutionForward(cudnn_, &one, plan.x, xin, plan.w, krsc.f(), plan.conv, plan.fwd_algo,
                                                ws.get(), plan.fwd_ws, &zero, plan.y, y));
}

void CudaBackend::conv2d_backward_data(const WindowParams& p, const float* dy, const float* w, float* dx) {
  const char* op = "conv2d_backward_data";
  use_device();
  ConvPlan& plan = conv_plan(p, op);
  if (!plan.has_bwd_data) choose_backward_data_algo(plan, op);

  const int rsc = p.k_h * p.k_w * p.in_c;
  Scratch krsc(*alloc_, sizeof(float) * kernel_floats(p), op);
  launch_transpose(stream_, krsc.f(), w, rsc, p.out_c);
  launched(op);

  // With explicit padding, cuDNN writes the gradient of the padded image; the border is cropped.
  Scratch dxpad(*alloc_, plan.padded ? sizeof(float) * p.batch * plan.hp * plan.wp * p.in_c : 0, op);
  float* dout = plan.padded ? dxpad.f() : dx;
  Scratch ws(*alloc_, plan.bwd_data_ws, op);
  const float one = 1.0f, zero = 0.0f;
  XARXA_CUDNN_CHECK(op, cudnnConvolutionBackwardData(cudnn_, &one, plan.w, krsc.f(), plan.y, dy, plan.conv,
                                                     plan.bwd_data_algo, ws.get(), plan.bwd_data_ws, &zero, plan.x,
                                                     dout));
  if (plan.padded) {
    launch_crop_nhwc(stream_, dx, dxpad.f(), p.batch, p.in_h, p.in_w, p.in_c, p.pad_top, plan.pad_bottom, p.pad_left,
                     plan.pad_right);
    launched(op);
  }
}

void CudaBackend::conv2d_backward_filter(const WindowParams& p, const float* x, const float* dy, float* dw) {
  const char* op = "conv2d_backward_filter";
  use_device();
  ConvPlan& plan = conv_plan(p, op);
  if (!plan.has_bwd_filter) choose_backward_filter_algo(plan, op);

  const float* xin = x;
  Scratch xpad(*alloc_, plan.padded ? sizeof(float) * p.batch * plan.hp * plan.wp * p.in_c : 0, op);
  if (plan.padded) {
    launch_pad_nhwc(stream_, xpad.f(), x, p.batch, p.in_h, p.in_w, p.in_c, p.pad_top, plan.pad_bottom, p.pad_left,
                    plan.pad_right);
    launched(op);
    xin = xpad.f();
  }
  const int rsc = p.k_h * p.k_w * p.in_c;
  Scratch dkrsc(*alloc_, sizeof(float) * kernel_floats(p), op);
  Scratch ws(*alloc_, plan.bwd_filter_ws, op);
  const float one = 1.0f, zero = 0.0f;
  XARXA_CUDNN_CHECK(op, cudnnConvolutionBackwardFilter(cudnn_, &one, plan.x, xin, plan.y, dy, plan.conv,
                                                       plan.bwd_filter_algo, ws.get(), plan.bwd_filter_ws, &zero,
                                                       plan.w, dkrsc.f()));
  launch_transpose(stream_, dw, dkrsc.f(), p.out_c, rsc);  // [out_c, rsc] -> [rsc, out_c]
  launched(op);
}

}  // namespace cuda
}  // namespace xarxa

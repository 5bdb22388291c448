// 2-D convolution through cuDNN's (legacy, v7-style) convolution API. Our
// tensors are NHWC and our kernels [k_h, k_w, in_c, out_c] (HWIO). cuDNN runs
// each direction in NHWC (a KRSC = [out_c, k_h, k_w, in_c] filter) or, where no
// NHWC algorithm runs or XARXA_CUDNN_LAYOUT=nchw asks for it, in NCHW (a KCRS =
// [out_c, in_c, k_h, k_w] filter) on transposed copies. The kernel is
// transposed into scratch memory for each call (and the filter gradient back).
// Math mode CUDNN_FMA_MATH: plain FP32 kernels, never TF32 tensor cores
// (CUDNN_DEFAULT_MATH would allow TF32 on Ampere and newer).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
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

// The FP32 algorithms in cuDNN's ranking (`returned` results, best first) as
// candidates: deterministic ones first, then the rest, each in cuDNN's order.
// Tensor-core (TF32) algorithms are left out: results must match the CPU.
template <typename Perf, typename WorkspaceSize>
std::vector<ConvAlgos::Candidate> fp32_candidates(const std::vector<Perf>& perf, int returned,
                                                  WorkspaceSize workspace_size) {
  std::vector<ConvAlgos::Candidate> out;
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < returned; i++) {
      const Perf& r = perf[i];
      if (r.status != CUDNN_STATUS_SUCCESS) continue;
      if (r.mathType == CUDNN_TENSOR_OP_MATH || r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
      if ((pass == 0) != (r.determinism == CUDNN_DETERMINISTIC)) continue;
      size_t bytes = 0;
      if (workspace_size(r.algo, &bytes) != CUDNN_STATUS_SUCCESS) continue;  // not usable after all
      out.push_back({static_cast<int>(r.algo), bytes, pass == 0, false, ""});
    }
  }
  return out;
}

// Failures worth trying the next algorithm for: this algorithm does not support
// the shape or ran into a limit inside cuDNN. A bad parameter is our bug and
// is reported as is.
bool any_deterministic(const std::vector<ConvAlgos::Candidate>& candidates) {
  return std::any_of(candidates.begin(), candidates.end(), [](const ConvAlgos::Candidate& c) { return c.deterministic; });
}

bool try_next_algo(cudnnStatus_t s) {
  const int category = static_cast<int>(s) / 1000 * 1000;  // cuDNN 9 groups its codes by thousands
  return category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_INTERNAL_ERROR ||
         category == CUDNN_STATUS_EXECUTION_FAILED;
}

const char* direction_name(ConvDirection d) {
  return d == ConvDirection::Forward ? "forward" : d == ConvDirection::BackwardData ? "backward-data" : "backward-filter";
}

size_t kernel_floats(const WindowParams& p) { return static_cast<size_t>(p.k_h) * p.k_w * p.in_c * p.out_c; }
size_t input_floats(const WindowParams& p) { return static_cast<size_t>(p.batch) * p.in_h * p.in_w * p.in_c; }
size_t output_floats(const WindowParams& p) { return static_cast<size_t>(p.batch) * p.out_h * p.out_w * p.out_c; }

// cuDNN's kernels may need 16-byte aligned tensors (CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER).
// Our blocks are 256-byte aligned, but the Backend takes any float pointer:
// predict and evaluate pass an input that starts at some batch's first row
// inside the dataset, e.g. 12 bytes past a multiple of 16 for 5x5x1 images in
// batches of 3. Such tensors go through aligned scratch copies.
bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// No output cells (an empty batch or image): as on the CPU, the forward pass
// writes nothing and both gradients are zero.
bool no_output(const WindowParams& p) { return p.batch == 0 || p.out_h == 0 || p.out_w == 0; }

}  // namespace

const char* layout_name(ConvLayout l) { return l == ConvLayout::NHWC ? "NHWC" : "NCHW"; }

ConvPlan::~ConvPlan() {
  if (conv) cudnnDestroyConvolutionDescriptor(conv);
  for (ConvDescriptors* d : {&nhwc, &nchw}) {
    if (d->w) cudnnDestroyFilterDescriptor(d->w);
    if (d->y) cudnnDestroyTensorDescriptor(d->y);
    if (d->x) cudnnDestroyTensorDescriptor(d->x);
  }
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

ConvLayoutChoice conv_layout_choice() {
  const char* v = std::getenv("XARXA_CUDNN_LAYOUT");
  const std::string s = v ? v : "";
  if (s.empty() || s == "auto") return ConvLayoutChoice::Auto;
  if (s == "nhwc") return ConvLayoutChoice::NHWC;
  if (s == "nchw") return ConvLayoutChoice::NCHW;
  throw Error("cuda create: XARXA_CUDNN_LAYOUT must be auto, nhwc or nchw, got '" + s + "'");
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
    // cuDNN's tensor descriptors count elements in int.
    const size_t padded = plan->padded_floats();
    if (padded > 0x7fffffffu)
      throw Error(std::string("cuda ") + op + ": the zero-padded input of " + std::to_string(padded) +
                  " floats is larger than cuDNN accepts (2^31 - 1); use a smaller batchSize: " + plan->describe());
  }

  for (ConvLayout layout : {ConvLayout::NHWC, ConvLayout::NCHW}) {
    ConvDescriptors& d = layout == ConvLayout::NHWC ? plan->nhwc : plan->nchw;
    const cudnnTensorFormat_t format = layout == ConvLayout::NHWC ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    XARXA_CUDNN_CHECK(op, cudnnCreateTensorDescriptor(&d.x));
    XARXA_CUDNN_CHECK(op, cudnnCreateTensorDescriptor(&d.y));
    XARXA_CUDNN_CHECK(op, cudnnCreateFilterDescriptor(&d.w));
    XARXA_CUDNN_CHECK(op, cudnnSetTensor4dDescriptor(d.x, format, CUDNN_DATA_FLOAT, p.batch, p.in_c, plan->hp,
                                                     plan->wp));
    XARXA_CUDNN_CHECK(op, cudnnSetTensor4dDescriptor(d.y, format, CUDNN_DATA_FLOAT, p.batch, p.out_c, p.out_h,
                                                     p.out_w));
    XARXA_CUDNN_CHECK(op, cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, format, p.out_c, p.in_c, p.k_h, p.k_w));
  }
  XARXA_CUDNN_CHECK(op, cudnnCreateConvolutionDescriptor(&plan->conv));
  XARXA_CUDNN_CHECK(op, cudnnSetConvolution2dDescriptor(plan->conv, pad_h, pad_w, p.stride_h, p.stride_w, 1, 1,
                                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  XARXA_CUDNN_CHECK(op, cudnnSetConvolutionMathType(plan->conv, CUDNN_FMA_MATH));

  int n = 0, c = 0, h = 0, w = 0;
  XARXA_CUDNN_CHECK(op, cudnnGetConvolution2dForwardOutputDim(plan->conv, plan->nhwc.x, plan->nhwc.w, &n, &c, &h, &w));
  if (n != p.batch || c != p.out_c || h != p.out_h || w != p.out_w)
    throw Error(std::string("cuda ") + op + ": window parameters do not match: cuDNN computes an output of [" +
                std::to_string(n) + "," + std::to_string(h) + "," + std::to_string(w) + "," + std::to_string(c) +
                "] for " + plan->describe());

  ConvPlan& ref = *plan;
  conv_plans_.emplace(key, std::move(plan));
  return ref;
}

std::vector<ConvAlgos::Candidate> CudaBackend::conv_candidates(const ConvPlan& plan, ConvDirection d,
                                                               ConvLayout layout, const char* op) {
  const ConvDescriptors& t = plan.descriptors(layout);
  int max_count = 0, returned = 0;
  switch (d) {
    case ConvDirection::Forward: {
      XARXA_CUDNN_CHECK(op, cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn_, &max_count));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(1, max_count));
      XARXA_CUDNN_CHECK(op, cudnnGetConvolutionForwardAlgorithm_v7(cudnn_, t.x, t.w, plan.conv, t.y,
                                                                   (int)perf.size(), &returned, perf.data()));
      return fp32_candidates(perf, returned, [&](cudnnConvolutionFwdAlgo_t algo, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(cudnn_, t.x, t.w, plan.conv, t.y, algo, bytes);
      });
    }
    case ConvDirection::BackwardData: {
      XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn_, &max_count));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::max(1, max_count));
      XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn_, t.w, t.y, plan.conv, t.x,
                                                                        (int)perf.size(), &returned, perf.data()));
      return fp32_candidates(perf, returned, [&](cudnnConvolutionBwdDataAlgo_t algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn_, t.w, t.y, plan.conv, t.x, algo, bytes);
      });
    }
    case ConvDirection::BackwardFilter:
      break;
  }
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnn_, &max_count));
  std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::max(1, max_count));
  XARXA_CUDNN_CHECK(op, cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn_, t.x, t.y, plan.conv, t.w,
                                                                      (int)perf.size(), &returned, perf.data()));
  return fp32_candidates(perf, returned, [&](cudnnConvolutionBwdFilterAlgo_t algo, size_t* bytes) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn_, t.x, t.y, plan.conv, t.w, algo, bytes);
  });
}

ConvLayout CudaBackend::conv_layout(ConvPlan& plan, ConvDirection d, const char* op) {
  ConvAlgos& a = plan.algos(d);
  if (a.ranked) return a.layout;
  ConvLayout layout = layout_choice_ == ConvLayoutChoice::NCHW ? ConvLayout::NCHW : ConvLayout::NHWC;
  std::vector<ConvAlgos::Candidate> candidates = conv_candidates(plan, d, layout, op);
  std::string nhwc_failures;
  if (!any_deterministic(candidates) && layout_choice_ == ConvLayoutChoice::Auto) {
    // NCHW when NHWC has nothing to offer, or only algorithms that sum in a
    // different order on every call while NCHW has one that does not.
    std::vector<ConvAlgos::Candidate> nchw = conv_candidates(plan, d, ConvLayout::NCHW, op);
    if (candidates.empty() || any_deterministic(nchw)) {
      nhwc_failures = candidates.empty() ? "cuDNN offers no FP32 algorithm" : "cuDNN offers no deterministic FP32 algorithm";
      layout = ConvLayout::NCHW;
      a.nhwc_fallback = std::move(candidates);
      candidates = std::move(nchw);
    }
  }
  if (candidates.empty())
    throw Error(std::string("cuda ") + op + ": cuDNN offers no FP32 " + direction_name(d) + " algorithm for " +
                plan.describe() + (nhwc_failures.empty() ? " in " + std::string(layout_name(layout)) : " in NHWC or NCHW"));
  a.layout = layout;
  a.candidates = std::move(candidates);
  a.nhwc_failures = std::move(nhwc_failures);
  a.ranked = true;
  return a.layout;
}

bool CudaBackend::run_conv(ConvPlan& plan, ConvDirection d, const char* op,
                           const std::function<cudnnStatus_t(int algo, void* workspace, size_t bytes)>& call) {
  ConvAlgos& a = plan.algos(d);
  std::string failures;
  bool only_memory = true;  // every algorithm failed for want of device memory
  for (ConvAlgos::Candidate& c : a.candidates) {
    if (!c.failed) {
      try {
        Scratch ws(*alloc_, c.workspace, op);
        const cudnnStatus_t s = call(c.algo, ws.get(), c.workspace);
        cudaGetLastError();  // anything cuDNN left in the last-error slot is not our next kernel's
        if (s == CUDNN_STATUS_SUCCESS) return true;
        // While recording (graph.cc) a failure says nothing about the algorithm: cuDNN
        // may refuse to be captured. Keep every choice as it is; the step runs unrecorded.
        if (!try_next_algo(s) || capturing_) throw_cudnn(op, "cudnnConvolution", s);
        // After a failed kernel of ours (a sticky error) every algorithm fails:
        // report that error, not a list of innocent algorithms.
        const cudaError_t earlier = cudaStreamQuery(stream_);
        if (earlier != cudaSuccess && earlier != cudaErrorNotReady) throw_cuda(op, "cudaStreamQuery", earlier);
        cudaGetLastError();
        c.why = cudnn_error_text(s);
      } catch (const OutOfDeviceMemory& e) {
        if (capturing_) throw;  // says nothing lasting about the algorithm either
        c.why = e.what();
        c.out_of_memory = true;
      }
      c.failed = true;
    }
    if (!c.out_of_memory) only_memory = false;
    failures += std::string("; algorithm ") + std::to_string(c.algo) + " (workspace " + std::to_string(c.workspace) +
                " bytes): " + c.why;
  }
  std::string why = a.candidates.empty() ? "cuDNN offers no FP32 algorithm" : failures.substr(2);  // without "; "
  // cuDNN cannot run this shape in NHWC: NCHW from now on. (A shortage of memory
  // alone is no reason to move: NCHW needs more, for its copies.)
  if (a.layout == ConvLayout::NHWC && layout_choice_ == ConvLayoutChoice::Auto && !only_memory) {
    std::vector<ConvAlgos::Candidate> nchw = conv_candidates(plan, d, ConvLayout::NCHW, op);
    a.nhwc_failures = why;
    a.layout = ConvLayout::NCHW;
    a.candidates = std::move(nchw);
    if (!a.candidates.empty()) return false;
    why = "cuDNN offers no FP32 algorithm";
  }
  // NCHW was chosen for a deterministic algorithm and none runs: NHWC's others rather than an error.
  if (a.layout == ConvLayout::NCHW && !a.nhwc_fallback.empty()) {
    a.layout = ConvLayout::NHWC;
    a.candidates = std::move(a.nhwc_fallback);
    a.nhwc_fallback.clear();
    a.nhwc_failures.clear();
    return false;
  }
  if (a.layout == ConvLayout::NCHW && !a.nhwc_failures.empty()) why = "in NHWC: " + a.nhwc_failures + "; in NCHW: " + why;
  throw Error(std::string("cuda ") + op + ": no cuDNN " + direction_name(d) + " algorithm could run " +
              plan.describe() + ": " + why);
}

// A tensor as cuDNN reads it: p itself when 16-byte aligned, else a copy in `holder`.
const float* CudaBackend::aligned_input(const float* p, size_t floats, Scratch& holder, const char* op) {
  if (aligned16(p)) return p;
  holder.reset(sizeof(float) * floats);
  XARXA_CUDA_CHECK(op, cudaMemcpyAsync(holder.get(), p, sizeof(float) * floats, cudaMemcpyDeviceToDevice, stream_));
  return holder.f();
}

// Where cuDNN writes a tensor: p itself when 16-byte aligned, else `holder`,
// copied to p by aligned_output_done() afterwards.
float* CudaBackend::aligned_output(float* p, size_t floats, Scratch& holder) {
  if (aligned16(p)) return p;
  holder.reset(sizeof(float) * floats);
  return holder.f();
}

void CudaBackend::aligned_output_done(float* p, size_t floats, const Scratch& holder, const char* op) {
  if (holder.get())
    XARXA_CUDA_CHECK(op, cudaMemcpyAsync(p, holder.get(), sizeof(float) * floats, cudaMemcpyDeviceToDevice, stream_));
}

// An NHWC tensor [n, h, w, c] as cuDNN reads it in `layout`: aligned, or an NCHW copy in `holder`.
const float* CudaBackend::tensor_in(ConvLayout layout, const float* t, int n, int c, int h, int w, Scratch& holder,
                                    const char* op) {
  const size_t floats = static_cast<size_t>(n) * c * h * w;
  if (layout == ConvLayout::NHWC) return aligned_input(t, floats, holder, op);
  holder.reset(sizeof(float) * floats);
  launch_nhwc_to_nchw(stream_, holder.f(), t, n, c, h, w);
  launched(op);
  return holder.f();
}

// Where cuDNN writes an NHWC tensor [n, h, w, c] in `layout`: see aligned_output; in NCHW always `holder`.
float* CudaBackend::tensor_out(ConvLayout layout, float* t, size_t floats, Scratch& holder) {
  if (layout == ConvLayout::NHWC) return aligned_output(t, floats, holder);
  holder.reset(sizeof(float) * floats);
  return holder.f();
}

void CudaBackend::tensor_out_done(ConvLayout layout, float* t, int n, int c, int h, int w, const Scratch& holder,
                                  const char* op) {
  if (layout == ConvLayout::NHWC) return aligned_output_done(t, static_cast<size_t>(n) * c * h * w, holder, op);
  launch_nchw_to_nhwc(stream_, t, holder.f(), n, c, h, w);
  launched(op);
}

// The input image as cuDNN gets it in `layout`: zero-padded when TF's padding
// is asymmetric, aligned, NCHW when asked.
const float* CudaBackend::conv_input(const ConvPlan& plan, ConvLayout layout, const float* x, Scratch& holder,
                                     const char* op) {
  const WindowParams& p = plan.p;
  if (!plan.padded) return tensor_in(layout, x, p.batch, p.in_c, p.in_h, p.in_w, holder, op);
  Scratch nhwc(*alloc_, 0, op);  // NCHW: the padded NHWC image on its way
  float* padded = nullptr;
  if (layout == ConvLayout::NHWC) {
    holder.reset(sizeof(float) * plan.padded_floats());
    padded = holder.f();
  } else {
    nhwc.reset(sizeof(float) * plan.padded_floats());
    padded = nhwc.f();
  }
  launch_pad_nhwc(stream_, padded, x, p.batch, p.in_h, p.in_w, p.in_c, p.pad_top, plan.pad_bottom, p.pad_left,
                  plan.pad_right);
  launched(op);
  if (layout == ConvLayout::NHWC) return padded;
  return tensor_in(layout, padded, p.batch, p.in_c, plan.hp, plan.wp, holder, op);
}

// Our HWIO kernel [rs, in_c, out_c] as cuDNN's filter in `layout`, in `holder`:
// KRSC [out_c, rs, in_c], or KCRS [out_c, in_c, rs].
const float* CudaBackend::conv_kernel(const WindowParams& p, ConvLayout layout, const float* w, Scratch& holder,
                                      const char* op) {
  const int rs = p.k_h * p.k_w;
  holder.reset(sizeof(float) * kernel_floats(p));
  if (layout == ConvLayout::NHWC) {
    launch_transpose(stream_, holder.f(), w, rs * p.in_c, p.out_c);
    launched(op);
    return holder.f();
  }
  Scratch krsc(*alloc_, sizeof(float) * kernel_floats(p), op);
  launch_transpose(stream_, krsc.f(), w, rs * p.in_c, p.out_c);
  launched(op);
  launch_nhwc_to_nchw(stream_, holder.f(), krsc.f(), p.out_c, p.in_c, p.k_h, p.k_w);  // per output channel
  launched(op);
  return holder.f();
}

// The filter gradient cuDNN wrote in `layout` (conv_kernel's form) into our HWIO dw.
void CudaBackend::conv_kernel_grad_done(const WindowParams& p, ConvLayout layout, const float* dk, float* dw,
                                        const char* op) {
  const int rs = p.k_h * p.k_w;
  Scratch krsc(*alloc_, 0, op);
  if (layout == ConvLayout::NCHW) {
    krsc.reset(sizeof(float) * kernel_floats(p));
    launch_nchw_to_nhwc(stream_, krsc.f(), dk, p.out_c, p.in_c, p.k_h, p.k_w);
    launched(op);
    dk = krsc.f();
  }
  launch_transpose(stream_, dw, dk, p.out_c, rs * p.in_c);
  launched(op);
}

// Each direction prepares its operands in the layout its plan runs in and
// calls cuDNN; when no algorithm runs in NHWC, run_conv moves the direction to
// NCHW and the loop prepares them again (at most once).

void CudaBackend::conv2d_forward(const WindowParams& p, const float* x, const float* w, float* y) {
  const char* op = "conv2d_forward";
  if (no_output(p)) return;
  use_device();
  ConvPlan& plan = conv_plan(p, op);
  for (;;) {
    const ConvLayout layout = conv_layout(plan, ConvDirection::Forward, op);
    const ConvDescriptors& t = plan.descriptors(layout);
    Scratch kernel(*alloc_, 0, op), xcopy(*alloc_, 0, op), ycopy(*alloc_, 0, op);
    const float* k = conv_kernel(p, layout, w, kernel, op);
    const float* xin = conv_input(plan, layout, x, xcopy, op);
    float* yout = tensor_out(layout, y, output_floats(p), ycopy);
    const float one = 1.0f, zero = 0.0f;
    if (!run_conv(plan, ConvDirection::Forward, op, [&](int algo, void* ws, size_t bytes) {
          return cudnnConvolutionForward(cudnn_, &one, t.x, xin, t.w, k, plan.conv,
                                         static_cast<cudnnConvolutionFwdAlgo_t>(algo), ws, bytes, &zero, t.y, yout);
        }))
      continue;
    tensor_out_done(layout, y, p.batch, p.out_c, p.out_h, p.out_w, ycopy, op);
    return;
  }
}

void CudaBackend::conv2d_backward_data(const WindowParams& p, const float* dy, const float* w, float* dx) {
  const char* op = "conv2d_backward_data";
  if (no_output(p)) return fill(dx, 0.0f, input_floats(p));
  use_device();
  ConvPlan& plan = conv_plan(p, op);
  for (;;) {
    const ConvLayout layout = conv_layout(plan, ConvDirection::BackwardData, op);
    const ConvDescriptors& t = plan.descriptors(layout);
    Scratch kernel(*alloc_, 0, op), dycopy(*alloc_, 0, op), dxcopy(*alloc_, 0, op);
    const float* k = conv_kernel(p, layout, w, kernel, op);
    const float* dyin = tensor_in(layout, dy, p.batch, p.out_c, p.out_h, p.out_w, dycopy, op);
    // With explicit padding, cuDNN writes the gradient of the padded image; the border is cropped.
    float* dout = nullptr;
    if (plan.padded) {
      dxcopy.reset(sizeof(float) * plan.padded_floats());
      dout = dxcopy.f();
    } else {
      dout = tensor_out(layout, dx, input_floats(p), dxcopy);
    }
    const float one = 1.0f, zero = 0.0f;
    if (!run_conv(plan, ConvDirection::BackwardData, op, [&](int algo, void* ws, size_t bytes) {
          return cudnnConvolutionBackwardData(cudnn_, &one, t.w, k, t.y, dyin, plan.conv,
                                              static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), ws, bytes, &zero, t.x,
                                              dout);
        }))
      continue;
    if (!plan.padded) return tensor_out_done(layout, dx, p.batch, p.in_c, p.in_h, p.in_w, dxcopy, op);
    const float* padded_grad = dout;
    Scratch nhwc(*alloc_, 0, op);
    if (layout == ConvLayout::NCHW) {
      nhwc.reset(sizeof(float) * plan.padded_floats());
      launch_nchw_to_nhwc(stream_, nhwc.f(), dout, p.batch, p.in_c, plan.hp, plan.wp);
      launched(op);
      padded_grad = nhwc.f();
    }
    launch_crop_nhwc(stream_, dx, padded_grad, p.batch, p.in_h, p.in_w, p.in_c, p.pad_top, plan.pad_bottom,
                     p.pad_left, plan.pad_right);
    launched(op);
    return;
  }
}

void CudaBackend::conv2d_backward_filter(const WindowParams& p, const float* x, const float* dy, float* dw) {
  const char* op = "conv2d_backward_filter";
  if (no_output(p)) return fill(dw, 0.0f, kernel_floats(p));
  use_device();
  ConvPlan& plan = conv_plan(p, op);
  for (;;) {
    const ConvLayout layout = conv_layout(plan, ConvDirection::BackwardFilter, op);
    const ConvDescriptors& t = plan.descriptors(layout);
    Scratch xcopy(*alloc_, 0, op), dycopy(*alloc_, 0, op);
    const float* xin = conv_input(plan, layout, x, xcopy, op);
    const float* dyin = tensor_in(layout, dy, p.batch, p.out_c, p.out_h, p.out_w, dycopy, op);
    Scratch dk(*alloc_, sizeof(float) * kernel_floats(p), op);
    const float one = 1.0f, zero = 0.0f;
    if (!run_conv(plan, ConvDirection::BackwardFilter, op, [&](int algo, void* ws, size_t bytes) {
          return cudnnConvolutionBackwardFilter(cudnn_, &one, t.x, xin, t.y, dyin, plan.conv,
                                                static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), ws, bytes, &zero,
                                                t.w, dk.f());
        }))
      continue;
    conv_kernel_grad_done(p, layout, dk.f(), dw, op);
    return;
  }
}

}  // namespace cuda
}  // namespace xarxa

// The emulated cuDNN: the legacy (v7-style) convolution API the backend calls,
// float and 4-D only. Descriptors and arguments are checked as cuDNN documents
// them; the math is queued on the handle's stream and runs when the host waits,
// as on a GPU. Every tensor is read through its descriptor's strides, so NCHW
// and NHWC (and KCRS and KRSC filters) all work.
//
// Environment (read at each call, so a test can change it):
//   XARXA_CUDA_EMULATOR_FAIL_ALGOS  a comma list such as "fwd:1,bwd_data:1,bwd_filter:1"
//                                   (direction:algorithm): running one of these answers
//                                   CUDNN_STATUS_NOT_SUPPORTED, to test the backend's fallback;
//                                   "direction:nhwc" ("direction:nchw") fails every algorithm of that
//                                   direction on NHWC (NCHW) tensors (the heuristics still offer them)
//   XARXA_CUDA_EMULATOR_NO_NHWC     "all" or a comma list of directions (fwd, bwd_data,
//                                   bwd_filter) for which NHWC tensors are not supported at all:
//                                   the heuristics rank every algorithm NOT_SUPPORTED, as cuDNN
//                                   does for a configuration it has no kernel for; or of
//                                   "direction:algo" for one algorithm without an NHWC kernel
//
// The algorithms cuDNN calls non-deterministic (atomic adds in whatever order
// the GPU's blocks run) are so here too: each call sums in another order
// (first_term), so the last bits of their results change from call to call.
#include <cudnn.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>

#include "cuda/emulator/emulator.h"

namespace {

// A 4-D array with a stride (in floats) per dimension: (n, c, h, w) for a
// tensor, (k, c, r, s) for a filter.
struct Layout4 {
  int size[4] = {0, 0, 0, 0};
  long long stride[4] = {0, 0, 0, 0};

  long long at(int i0, int i1, int i2, int i3) const {
    return i0 * stride[0] + i1 * stride[1] + i2 * stride[2] + i3 * stride[3];
  }
  long long cells() const { return static_cast<long long>(size[0]) * size[1] * size[2] * size[3]; }
  // The floats a pointer must give access to: the largest offset + 1.
  size_t span() const { return static_cast<size_t>(at(size[0] - 1, size[1] - 1, size[2] - 1, size[3] - 1)) + 1; }
  std::string text() const {
    return "[" + std::to_string(size[0]) + "," + std::to_string(size[1]) + "," + std::to_string(size[2]) + "," +
           std::to_string(size[3]) + "]";
  }
};

// Packed strides for sizes (n or k, c, h or r, w or s). NCHW stores them slowest
// to fastest (a KCRS filter); NHWC puts the channel fastest (a KRSC filter).
Layout4 packed(cudnnTensorFormat_t format, int d0, int c, int h, int w) {
  Layout4 l;
  l.size[0] = d0;
  l.size[1] = c;
  l.size[2] = h;
  l.size[3] = w;
  const long long chw = static_cast<long long>(c) * h * w;
  if (format == CUDNN_TENSOR_NCHW) {
    l.stride[0] = chw;
    l.stride[1] = static_cast<long long>(h) * w;
    l.stride[2] = w;
    l.stride[3] = 1;
  } else {
    l.stride[0] = chw;
    l.stride[1] = 1;
    l.stride[2] = static_cast<long long>(w) * c;
    l.stride[3] = c;
  }
  return l;
}

}  // namespace

// The opaque types cudnn.h declares.
struct cudnnContext {
  cudaStream_t stream = nullptr;
};
struct cudnnTensorStruct {
  bool set = false;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  Layout4 layout;  // (n, c, h, w)
};
struct cudnnFilterStruct {
  bool set = false;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  Layout4 layout;  // (k, c, r, s)
};
struct cudnnConvolutionStruct {
  bool set = false;
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;  // stored only: the emulator always computes plain FP32
};

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

thread_local std::string t_last_error;  // what cudnnGetLastErrorString answers next

// Records why a call failed, for cudnnGetLastErrorString, and returns `s`.
cudnnStatus_t fail(cudnnStatus_t s, const char* call, const std::string& why) {
  t_last_error = std::string("cuda emulator: ") + call + ": " + why;
  return s;
}

struct StatusName {
  cudnnStatus_t status;
  const char* name;
};
const StatusName kStatuses[] = {
    {CUDNN_STATUS_SUCCESS, "CUDNN_STATUS_SUCCESS"},
    {CUDNN_STATUS_NOT_INITIALIZED, "CUDNN_STATUS_NOT_INITIALIZED"},
    {CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH, "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH"},
    {CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH, "CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH"},
    {CUDNN_STATUS_DEPRECATED, "CUDNN_STATUS_DEPRECATED"},
    {CUDNN_STATUS_LICENSE_ERROR, "CUDNN_STATUS_LICENSE_ERROR"},
    {CUDNN_STATUS_RUNTIME_IN_PROGRESS, "CUDNN_STATUS_RUNTIME_IN_PROGRESS"},
    {CUDNN_STATUS_RUNTIME_FP_OVERFLOW, "CUDNN_STATUS_RUNTIME_FP_OVERFLOW"},
    {CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED, "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED"},
    {CUDNN_STATUS_BAD_PARAM, "CUDNN_STATUS_BAD_PARAM"},
    {CUDNN_STATUS_INVALID_VALUE, "CUDNN_STATUS_INVALID_VALUE"},  // deprecated, but its own value (2001)
    {CUDNN_STATUS_BAD_PARAM_NULL_POINTER, "CUDNN_STATUS_BAD_PARAM_NULL_POINTER"},
    {CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER"},
    {CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED, "CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED"},
    {CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND, "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND"},
    {CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT, "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT"},
    {CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH, "CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH"},
    {CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH"},
    {CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES, "CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES"},
    {CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE, "CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE"},
    {CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH, "CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH"},
    {CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE, "CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE"},
    {CUDNN_STATUS_NOT_SUPPORTED, "CUDNN_STATUS_NOT_SUPPORTED"},
    {CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, "CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN"},
    {CUDNN_STATUS_NOT_SUPPORTED_SHAPE, "CUDNN_STATUS_NOT_SUPPORTED_SHAPE"},
    {CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE, "CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE"},
    {CUDNN_STATUS_NOT_SUPPORTED_LAYOUT, "CUDNN_STATUS_NOT_SUPPORTED_LAYOUT"},
    {CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER"},
    {CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART"},
    {CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH, "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH"},
    {CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING,
     "CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING"},
    {CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE, "CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE"},
    {CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT, "CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT"},
    {CUDNN_STATUS_NOT_SUPPORTED_PADDING, "CUDNN_STATUS_NOT_SUPPORTED_PADDING"},
    {CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM, "CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM"},
    {CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API, "CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API"},
    {CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE, "CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE"},
    {CUDNN_STATUS_INTERNAL_ERROR, "CUDNN_STATUS_INTERNAL_ERROR"},
    {CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED, "CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED"},
    {CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE, "CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE"},
    {CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED"},
    {CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED, "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED"},
    {CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM, "CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM"},
    {CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED, "CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED"},
    {CUDNN_STATUS_EXECUTION_FAILED, "CUDNN_STATUS_EXECUTION_FAILED"},
    {CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, "CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER"},
    {CUDNN_STATUS_EXECUTION_FAILED_CUBLAS, "CUDNN_STATUS_EXECUTION_FAILED_CUBLAS"},
    {CUDNN_STATUS_EXECUTION_FAILED_CUDART, "CUDNN_STATUS_EXECUTION_FAILED_CUDART"},
    {CUDNN_STATUS_EXECUTION_FAILED_CURAND, "CUDNN_STATUS_EXECUTION_FAILED_CURAND"},
};

// ---- descriptors ---------------------------------------------------------------------

std::string dims_text(int d0, int c, int h, int w) {
  return "[" + std::to_string(d0) + "," + std::to_string(c) + "," + std::to_string(h) + "," + std::to_string(w) + "]";
}

// The checks cudnnSetTensor4dDescriptor and cudnnSetFilter4dDescriptor share.
cudnnStatus_t check_4d(const char* call, cudnnDataType_t type, cudnnTensorFormat_t format, int d0, int c, int h,
                       int w) {
  if (d0 <= 0 || c <= 0 || h <= 0 || w <= 0)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "every dimension must be positive, got " + dims_text(d0, c, h, w));
  if (type != CUDNN_DATA_FLOAT)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call,
                "the emulator supports only CUDNN_DATA_FLOAT, got data type " + std::to_string(type));
  if (format != CUDNN_TENSOR_NCHW && format != CUDNN_TENSOR_NHWC)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call,
                "the emulator supports only CUDNN_TENSOR_NCHW and CUDNN_TENSOR_NHWC, got format " +
                    std::to_string(format));
  if (static_cast<long long>(d0) * c * h * w > INT_MAX)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call, dims_text(d0, c, h, w) + " has more than 2^31 - 1 elements");
  return CUDNN_STATUS_SUCCESS;
}

// ---- convolution geometry ------------------------------------------------------------

// Everything the math needs, copied out of the descriptors (which the caller
// may destroy before the queued work runs).
struct Conv {
  Layout4 x;  // input (n, c, h, w)
  Layout4 w;  // filter (k, c, r, s)
  Layout4 y;  // output (n, k, oh, ow)
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
  bool flip = false;  // CUDNN_CONVOLUTION: the filter is applied rotated by 180 degrees
  bool nhwc = false;  // all three in NHWC (KRSC), else all in NCHW (KCRS)

  int filter_row(int r) const { return flip ? w.size[2] - 1 - r : r; }
  int filter_col(int s) const { return flip ? w.size[3] - 1 - s : s; }
};

// The output size along one axis, or 0 when not even one window fits.
int output_size(int in, int pad, int filter, int dilation, int stride) {
  const int span = in + 2 * pad - ((filter - 1) * dilation + 1);
  return span < 0 ? 0 : 1 + span / stride;
}

// The output dimensions cuDNN gives for (conv, x, w), as cudnnGetConvolution2dForwardOutputDim.
cudnnStatus_t output_dims(const char* call, const cudnnConvolutionStruct* conv, const cudnnTensorStruct* x,
                          const cudnnFilterStruct* w, int out[4]) {
  if (!conv || !x || !w) return fail(CUDNN_STATUS_BAD_PARAM, call, "a descriptor is null");
  if (!conv->set || !x->set || !w->set) return fail(CUDNN_STATUS_BAD_PARAM, call, "a descriptor was never set");
  const Layout4& xl = x->layout;
  const Layout4& wl = w->layout;
  if (xl.size[1] != wl.size[1])
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "the input has " + std::to_string(xl.size[1]) + " channels but the filter " +
                    std::to_string(wl.size[1]) + " (groups are not emulated)");
  out[0] = xl.size[0];
  out[1] = wl.size[0];
  out[2] = output_size(xl.size[2], conv->pad_h, wl.size[2], conv->dil_h, conv->u);
  out[3] = output_size(xl.size[3], conv->pad_w, wl.size[3], conv->dil_w, conv->v);
  if (out[2] < 1 || out[3] < 1)
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "the filter " + wl.text() + " (dilation " + std::to_string(conv->dil_h) + "x" +
                    std::to_string(conv->dil_w) + ") does not fit the input " + xl.text() + " padded by " +
                    std::to_string(conv->pad_h) + "x" + std::to_string(conv->pad_w));
  return CUDNN_STATUS_SUCCESS;
}

// Checks that (conv, x, w) give the output y describes, and copies them into `g`.
cudnnStatus_t make_conv(const char* call, const cudnnConvolutionStruct* conv, const cudnnTensorStruct* x,
                        const cudnnFilterStruct* w, const cudnnTensorStruct* y, Conv* g) {
  int dims[4];
  const cudnnStatus_t s = output_dims(call, conv, x, w, dims);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  if (!y) return fail(CUDNN_STATUS_BAD_PARAM, call, "the output descriptor is null");
  if (!y->set) return fail(CUDNN_STATUS_BAD_PARAM, call, "the output descriptor was never set");
  const Layout4& yl = y->layout;
  if (yl.size[0] != dims[0] || yl.size[1] != dims[1] || yl.size[2] != dims[2] || yl.size[3] != dims[3])
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "the output descriptor is " + yl.text() + " but the convolution gives " +
                    dims_text(dims[0], dims[1], dims[2], dims[3]));
  // cuDNN's legacy convolutions want x, y and the filter in one layout; mixing is a bug of ours.
  if (x->format != w->format || y->format != x->format)
    return fail(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT, call,
                std::string("x is ") + (x->format == CUDNN_TENSOR_NHWC ? "NHWC" : "NCHW") + ", the filter " +
                    (w->format == CUDNN_TENSOR_NHWC ? "NHWC" : "NCHW") + " and y " +
                    (y->format == CUDNN_TENSOR_NHWC ? "NHWC" : "NCHW") + ": the emulator wants one layout for all");
  g->nhwc = x->format == CUDNN_TENSOR_NHWC;
  g->x = x->layout;
  g->w = w->layout;
  g->y = yl;
  g->pad_h = conv->pad_h;
  g->pad_w = conv->pad_w;
  g->u = conv->u;
  g->v = conv->v;
  g->dil_h = conv->dil_h;
  g->dil_w = conv->dil_w;
  g->flip = conv->mode == CUDNN_CONVOLUTION;
  return CUDNN_STATUS_SUCCESS;
}

// ---- algorithms ----------------------------------------------------------------------

enum class Direction { Forward, BackwardData, BackwardFilter };

struct Algo {
  int id;
  cudnnDeterminism_t determinism;
  cudnnMathType_t math;
  bool workspace;  // whether it asks for a (shape-dependent) workspace
};

// What the emulator offers, in the order cudnnGet*Algorithm_v7 ranks them. The
// TF32 (tensor-op) forward GEMM is there so that the backend's skipping of
// tensor-op algorithms is exercised; the non-deterministic ones so that its
// preference for deterministic ones is.
const Algo kForwardAlgos[] = {
    {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_DETERMINISTIC, CUDNN_FMA_MATH, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_DETERMINISTIC, CUDNN_TENSOR_OP_MATH, true},
    {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_DETERMINISTIC, CUDNN_DEFAULT_MATH, false},
};
const Algo kBackwardDataAlgos[] = {
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_NON_DETERMINISTIC, CUDNN_FMA_MATH, false},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_DETERMINISTIC, CUDNN_FMA_MATH, true},
};
const Algo kBackwardFilterAlgos[] = {
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_NON_DETERMINISTIC, CUDNN_FMA_MATH, false},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_DETERMINISTIC, CUDNN_FMA_MATH, true},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, CUDNN_NON_DETERMINISTIC, CUDNN_FMA_MATH, true},
};

struct AlgoList {
  const Algo* algos;
  int count;
  int enum_count;     // the header's *_ALGO_COUNT: what *AlgorithmMaxCount answers
  const char* hook;   // the direction's name in XARXA_CUDA_EMULATOR_FAIL_ALGOS
};

AlgoList algos_for(Direction d) {
  switch (d) {
    case Direction::Forward:
      return {kForwardAlgos, 3, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, "fwd"};
    case Direction::BackwardData:
      return {kBackwardDataAlgos, 2, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, "bwd_data"};
    case Direction::BackwardFilter:
      break;
  }
  return {kBackwardFilterAlgos, 3, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, "bwd_filter"};
}

// Whether the comma list in environment variable `var` holds `want`.
bool env_lists(const char* var, const std::string& want) {
  const char* v = std::getenv(var);
  if (!v) return false;
  const std::string list(v);
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    if (list.compare(start, end - start, want) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Whether XARXA_CUDA_EMULATOR_FAIL_ALGOS lists "<direction>:<algo>", or "<direction>:nhwc" / ":nchw" for the layout.
bool told_to_fail(Direction d, int algo, const Conv& g) {
  const std::string hook = std::string(algos_for(d).hook) + ":";
  return env_lists("XARXA_CUDA_EMULATOR_FAIL_ALGOS", hook + std::to_string(algo)) ||
         env_lists("XARXA_CUDA_EMULATOR_FAIL_ALGOS", hook + (g.nhwc ? "nhwc" : "nchw"));
}

// Whether XARXA_CUDA_EMULATOR_NO_NHWC makes this algorithm's NHWC configuration unsupported.
bool nhwc_unsupported(Direction d, int algo, const Conv& g) {
  const std::string hook = algos_for(d).hook;
  return g.nhwc && (env_lists("XARXA_CUDA_EMULATOR_NO_NHWC", "all") || env_lists("XARXA_CUDA_EMULATOR_NO_NHWC", hook) ||
                    env_lists("XARXA_CUDA_EMULATOR_NO_NHWC", hook + ":" + std::to_string(algo)));
}

// Where a call of `algo` starts a sum of `n` terms (the batch's images for the
// filter gradient, the output channels for the data gradient): 0 for a
// deterministic algorithm; for a non-deterministic one, somewhere else each call.
int first_term(Direction d, int algo, int n) {
  static std::mt19937 order{std::random_device{}()};  // guarded by device_mutex
  const AlgoList list = algos_for(d);
  for (int i = 0; i < list.count; i++)
    if (list.algos[i].id == algo && list.algos[i].determinism == CUDNN_NON_DETERMINISTIC)
      return n > 0 ? static_cast<int>(order() % static_cast<unsigned>(n)) : 0;
  return 0;
}

// The workspace `algo` needs: none, or a float per cell of the direction's output.
cudnnStatus_t workspace_bytes(const char* call, Direction d, int algo, const Conv& g, size_t* bytes) {
  const AlgoList list = algos_for(d);
  if (algo < 0 || algo >= list.enum_count)
    return fail(CUDNN_STATUS_BAD_PARAM, call, std::to_string(algo) + " is not an algorithm of this direction");
  const Algo* found = nullptr;
  for (int i = 0; i < list.count; i++)
    if (list.algos[i].id == algo) found = &list.algos[i];
  if (!found)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call, "the emulator does not implement algorithm " + std::to_string(algo));
  if (nhwc_unsupported(d, algo, g))
    return fail(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT, call,
                "XARXA_CUDA_EMULATOR_NO_NHWC: algorithm " + std::to_string(algo) + " does not support NHWC here");
  const Layout4& out = d == Direction::Forward ? g.y : d == Direction::BackwardData ? g.x : g.w;
  *bytes = found->workspace ? sizeof(float) * static_cast<size_t>(out.cells()) : 0;
  return CUDNN_STATUS_SUCCESS;
}

// cudnnGet*Algorithm_v7: the offered algorithms, best first, all usable.
template <typename Perf>
cudnnStatus_t rank_algos(const char* call, cudnnHandle_t handle, Direction d, const Conv& g, int requested,
                         int* returned, Perf* perf) {
  if (!handle) return fail(CUDNN_STATUS_BAD_PARAM, call, "the handle is null");
  if (requested < 1) return fail(CUDNN_STATUS_BAD_PARAM, call, "requestedAlgoCount must be at least 1");
  if (!returned || !perf) return fail(CUDNN_STATUS_BAD_PARAM, call, "returnedAlgoCount or perfResults is null");
  const AlgoList list = algos_for(d);
  const int n = requested < list.count ? requested : list.count;
  for (int i = 0; i < n; i++) {
    const Algo& a = list.algos[i];
    Perf p;
    std::memset(&p, 0, sizeof p);
    p.algo = static_cast<decltype(p.algo)>(a.id);
    p.status = workspace_bytes(call, d, a.id, g, &p.memory);  // NOT_SUPPORTED where NHWC is refused
    p.time = p.status == CUDNN_STATUS_SUCCESS ? 0.1f * (i + 1) : -1.0f;  // nothing is timed: the order only
    p.determinism = a.determinism;
    p.mathType = a.math;
    perf[i] = p;
  }
  *returned = n;
  return CUDNN_STATUS_SUCCESS;
}

// ---- running a convolution -----------------------------------------------------------

// Device memory, 16-byte aligned: cuDNN kernels with vector loads refuse less
// (CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER); the emulator holds every algorithm to it.
cudnnStatus_t check_device(const char* call, const char* name, const void* p, size_t bytes) {
  char where[32];
  std::snprintf(where, sizeof where, "%p", p);
  if (!p || !xarxa_emu::is_device_range(p, bytes))
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                std::string(name) + " (" + std::to_string(bytes) + " bytes at " + where +
                    ") is not inside one device allocation");
  if (reinterpret_cast<uintptr_t>(p) % 16 != 0)
    return fail(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, call,
                std::string(name) + " at " + where + " is not 16-byte aligned");
  return CUDNN_STATUS_SUCCESS;
}

// alpha and beta are host memory (cuDNN reads them at the call) holding floats for float data.
cudnnStatus_t read_scalars(const char* call, const void* alpha, const void* beta, float* a, float* b) {
  if (!alpha || !beta) return fail(CUDNN_STATUS_BAD_PARAM, call, "alpha or beta is null");
  if (xarxa_emu::is_device_range(alpha, sizeof(float)) || xarxa_emu::is_device_range(beta, sizeof(float)))
    return fail(CUDNN_STATUS_BAD_PARAM, call, "alpha and beta must point to host memory, not device memory");
  *a = *static_cast<const float*>(alpha);
  *b = *static_cast<const float*>(beta);
  return CUDNN_STATUS_SUCCESS;
}

// The operands of one convolution call, named as the direction's API names them.
struct Operands {
  const void* x;
  const void* w;
  const void* y;
  const char* x_name;
  const char* w_name;
  const char* y_name;
};

// Everything a convolution call checks before it queues its math: fills `g`,
// `alpha`, `beta` and `workspace` (the bytes the algorithm uses).
cudnnStatus_t prepare(const char* call, Direction d, cudnnHandle_t handle, const void* alpha_p, const void* beta_p,
                      const cudnnConvolutionStruct* conv, const cudnnTensorStruct* x, const cudnnFilterStruct* w,
                      const cudnnTensorStruct* y, const Operands& ops, int algo, const void* ws, size_t ws_bytes,
                      Conv* g, float* alpha, float* beta, size_t* workspace) {
  if (!handle) return fail(CUDNN_STATUS_BAD_PARAM, call, "the handle is null");
  cudnnStatus_t s = make_conv(call, conv, x, w, y, g);
  if (s == CUDNN_STATUS_SUCCESS) s = read_scalars(call, alpha_p, beta_p, alpha, beta);
  if (s == CUDNN_STATUS_SUCCESS) s = workspace_bytes(call, d, algo, *g, workspace);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  if (ws_bytes < *workspace || (*workspace > 0 && !ws))
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "algorithm " + std::to_string(algo) + " needs a workspace of " + std::to_string(*workspace) +
                    " bytes, given " + std::to_string(ws_bytes) + (ws ? "" : " (null)"));
  s = check_device(call, ops.x_name, ops.x, sizeof(float) * g->x.span());
  if (s == CUDNN_STATUS_SUCCESS) s = check_device(call, ops.w_name, ops.w, sizeof(float) * g->w.span());
  if (s == CUDNN_STATUS_SUCCESS) s = check_device(call, ops.y_name, ops.y, sizeof(float) * g->y.span());
  if (s == CUDNN_STATUS_SUCCESS && ws && ws_bytes > 0) s = check_device(call, "workSpace", ws, ws_bytes);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  if (told_to_fail(d, algo, *g))
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call,
                "XARXA_CUDA_EMULATOR_FAIL_ALGOS told the emulator to fail algorithm " + std::to_string(algo));
  return CUDNN_STATUS_SUCCESS;
}

// out = alpha * result + beta * out; with beta == 0 the old value is not read,
// so NaN or garbage there does not propagate.
void store(float* out, float alpha, float result, float beta) {
  *out = beta == 0.0f ? alpha * result : alpha * result + beta * *out;
}

// A real algorithm writes its workspace; scribbling NaN over it makes a
// workspace that overlaps live data show.
void scribble(void* ws, size_t bytes) {
  if (bytes > 0) std::memset(ws, 0xff, bytes);
}

// The input position filter tap `tap` of output position `out` reads (may lie in the padding).
int input_pos(int out, int tap, int pad, int stride, int dilation) { return out * stride - pad + tap * dilation; }

// The output position whose window puts filter tap `tap` on input position `in`, or -1 if none.
int output_pos(int in, int tap, int pad, int stride, int dilation, int out_size) {
  const int t = in + pad - tap * dilation;
  if (t < 0 || t % stride != 0 || t / stride >= out_size) return -1;
  return t / stride;
}

// y[n,k,oh,ow] = sum over r, s, c of x[n, c, ih, iw] * w[k, c, r', s'].
void forward(const Conv& g, float alpha, const float* x, const float* w, float beta, float* y) {
  const int N = g.y.size[0], K = g.y.size[1], OH = g.y.size[2], OW = g.y.size[3];
  const int C = g.x.size[1], H = g.x.size[2], W = g.x.size[3], R = g.w.size[2], S = g.w.size[3];
  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++)
      for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
          float sum = 0.0f;
          for (int r = 0; r < R; r++) {
            const int ih = input_pos(oh, r, g.pad_h, g.u, g.dil_h);
            if (ih < 0 || ih >= H) continue;  // zero padding
            for (int s = 0; s < S; s++) {
              const int iw = input_pos(ow, s, g.pad_w, g.v, g.dil_w);
              if (iw < 0 || iw >= W) continue;
              for (int c = 0; c < C; c++)
                sum += x[g.x.at(n, c, ih, iw)] * w[g.w.at(k, c, g.filter_row(r), g.filter_col(s))];
            }
          }
          store(y + g.y.at(n, k, oh, ow), alpha, sum, beta);
        }
}

// The adjoint of forward in x: dx[n,c,ih,iw] = sum of dy * w over the windows that read (ih, iw).
// The sum over output channels starts at channel `first_k`.
void backward_data(const Conv& g, float alpha, const float* w, const float* dy, float beta, float* dx, int first_k) {
  const int N = g.x.size[0], C = g.x.size[1], H = g.x.size[2], W = g.x.size[3];
  const int K = g.y.size[1], OH = g.y.size[2], OW = g.y.size[3], R = g.w.size[2], S = g.w.size[3];
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      for (int ih = 0; ih < H; ih++)
        for (int iw = 0; iw < W; iw++) {
          float sum = 0.0f;
          for (int r = 0; r < R; r++) {
            const int oh = output_pos(ih, r, g.pad_h, g.u, g.dil_h, OH);
            if (oh < 0) continue;
            for (int s = 0; s < S; s++) {
              const int ow = output_pos(iw, s, g.pad_w, g.v, g.dil_w, OW);
              if (ow < 0) continue;
              for (int j = 0; j < K; j++) {
                const int k = (j + first_k) % K;
                sum += dy[g.y.at(n, k, oh, ow)] * w[g.w.at(k, c, g.filter_row(r), g.filter_col(s))];
              }
            }
          }
          store(dx + g.x.at(n, c, ih, iw), alpha, sum, beta);
        }
}

// The adjoint of forward in w: dw[k,c,r',s'] = sum over n and output cells of dy * x,
// the images taken from image `first_n` on.
void backward_filter(const Conv& g, float alpha, const float* x, const float* dy, float beta, float* dw, int first_n) {
  const int N = g.x.size[0], C = g.x.size[1], H = g.x.size[2], W = g.x.size[3];
  const int K = g.y.size[1], OH = g.y.size[2], OW = g.y.size[3], R = g.w.size[2], S = g.w.size[3];
  for (int k = 0; k < K; k++)
    for (int c = 0; c < C; c++)
      for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) {
          float sum = 0.0f;
          for (int i = 0; i < N; i++) {
            const int n = (i + first_n) % N;
            for (int oh = 0; oh < OH; oh++) {
              const int ih = input_pos(oh, r, g.pad_h, g.u, g.dil_h);
              if (ih < 0 || ih >= H) continue;
              for (int ow = 0; ow < OW; ow++) {
                const int iw = input_pos(ow, s, g.pad_w, g.v, g.dil_w);
                if (iw < 0 || iw >= W) continue;
                sum += dy[g.y.at(n, k, oh, ow)] * x[g.x.at(n, c, ih, iw)];
              }
            }
          }
          store(dw + g.w.at(k, c, g.filter_row(r), g.filter_col(s)), alpha, sum, beta);
        }
}

cudnnStatus_t queued(const char* call, bool ok) {
  return ok ? CUDNN_STATUS_SUCCESS
            : fail(CUDNN_STATUS_EXECUTION_FAILED, call, xarxa_emu::enqueue_failure());
}

}  // namespace

extern "C" {

// ---- handle, version, errors ---------------------------------------------------------

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  Lock lock(xarxa_emu::device_mutex());
  if (!handle) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnCreate", "handle is null");
  *handle = new cudnnContext();
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  Lock lock(xarxa_emu::device_mutex());
  if (!handle) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnDestroy", "handle is null");
  delete handle;  // queued work holds copies of what it needs, not the handle
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
  Lock lock(xarxa_emu::device_mutex());
  if (!handle) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnSetStream", "handle is null");
  handle->stream = streamId;
  return CUDNN_STATUS_SUCCESS;
}

size_t cudnnGetVersion(void) { return CUDNN_VERSION; }

const char* cudnnGetErrorString(cudnnStatus_t status) {
  for (const StatusName& s : kStatuses)
    if (s.status == status) return s.name;
  return "CUDNN_UNKNOWN_STATUS_FOUND";
}

void cudnnGetLastErrorString(char* message, size_t max_size) {
  if (!message || max_size == 0) return;
  const size_t n = t_last_error.size() < max_size - 1 ? t_last_error.size() : max_size - 1;
  std::memcpy(message, t_last_error.data(), n);
  message[n] = '\0';
  t_last_error.clear();
}

// ---- descriptors ---------------------------------------------------------------------

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* tensorDesc) {
  Lock lock(xarxa_emu::device_mutex());
  if (!tensorDesc) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnCreateTensorDescriptor", "tensorDesc is null");
  *tensorDesc = new cudnnTensorStruct();
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc) {
  Lock lock(xarxa_emu::device_mutex());
  delete tensorDesc;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format,
                                         cudnnDataType_t dataType, int n, int c, int h, int w) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnSetTensor4dDescriptor";
  if (!tensorDesc) return fail(CUDNN_STATUS_BAD_PARAM, call, "tensorDesc is null");
  const cudnnStatus_t s = check_4d(call, dataType, format, n, c, h, w);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  tensorDesc->format = format;
  tensorDesc->layout = packed(format, n, c, h, w);
  tensorDesc->set = true;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* filterDesc) {
  Lock lock(xarxa_emu::device_mutex());
  if (!filterDesc) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnCreateFilterDescriptor", "filterDesc is null");
  *filterDesc = new cudnnFilterStruct();
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc) {
  Lock lock(xarxa_emu::device_mutex());
  delete filterDesc;
  return CUDNN_STATUS_SUCCESS;
}

// format NCHW means a KCRS filter, NHWC a KRSC one.
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType,
                                         cudnnTensorFormat_t format, int k, int c, int h, int w) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnSetFilter4dDescriptor";
  if (!filterDesc) return fail(CUDNN_STATUS_BAD_PARAM, call, "filterDesc is null");
  const cudnnStatus_t s = check_4d(call, dataType, format, k, c, h, w);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  filterDesc->format = format;
  filterDesc->layout = packed(format, k, c, h, w);
  filterDesc->set = true;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* convDesc) {
  Lock lock(xarxa_emu::device_mutex());
  if (!convDesc) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnCreateConvolutionDescriptor", "convDesc is null");
  *convDesc = new cudnnConvolutionStruct();
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc) {
  Lock lock(xarxa_emu::device_mutex());
  delete convDesc;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u,
                                              int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnSetConvolution2dDescriptor";
  if (!convDesc) return fail(CUDNN_STATUS_BAD_PARAM, call, "convDesc is null");
  if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0)
    return fail(CUDNN_STATUS_BAD_PARAM, call,
                "padding must be >= 0 and strides and dilations > 0, got pad " + std::to_string(pad_h) + "x" +
                    std::to_string(pad_w) + " stride " + std::to_string(u) + "x" + std::to_string(v) +
                    " dilation " + std::to_string(dilation_h) + "x" + std::to_string(dilation_w));
  if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "unknown convolution mode " + std::to_string(mode));
  if (computeType != CUDNN_DATA_FLOAT)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, call,
                "the emulator supports only CUDNN_DATA_FLOAT compute, got " + std::to_string(computeType));
  convDesc->pad_h = pad_h;
  convDesc->pad_w = pad_w;
  convDesc->u = u;
  convDesc->v = v;
  convDesc->dil_h = dilation_h;
  convDesc->dil_w = dilation_w;
  convDesc->mode = mode;
  convDesc->set = true;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnSetConvolutionMathType";
  if (!convDesc) return fail(CUDNN_STATUS_BAD_PARAM, call, "convDesc is null");
  if (mathType != CUDNN_DEFAULT_MATH && mathType != CUDNN_TENSOR_OP_MATH &&
      mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION && mathType != CUDNN_FMA_MATH)
    return fail(CUDNN_STATUS_BAD_PARAM, call, "unknown math type " + std::to_string(mathType));
  convDesc->math = mathType;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc, int* n, int* c, int* h,
                                                    int* w) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolution2dForwardOutputDim";
  if (!n || !c || !h || !w) return fail(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is null");
  int dims[4];
  const cudnnStatus_t s = output_dims(call, convDesc, inputTensorDesc, filterDesc, dims);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  *n = dims[0];
  *c = dims[1];
  *h = dims[2];
  *w = dims[3];
  return CUDNN_STATUS_SUCCESS;
}

// ---- forward -------------------------------------------------------------------------

cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionForwardAlgorithmMaxCount";
  if (!handle || !count) return fail(CUDNN_STATUS_BAD_PARAM, call, "handle or count is null");
  *count = algos_for(Direction::Forward).enum_count;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                     const cudnnFilterDescriptor_t filterDesc,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t destDesc,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionForwardAlgorithm_v7";
  Conv g;
  const cudnnStatus_t s = make_conv(call, convDesc, srcDesc, filterDesc, destDesc, &g);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  return rank_algos(call, handle, Direction::Forward, g, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionForwardWorkspaceSize";
  if (!handle || !sizeInBytes) return fail(CUDNN_STATUS_BAD_PARAM, call, "handle or sizeInBytes is null");
  Conv g;
  const cudnnStatus_t s = make_conv(call, convDesc, xDesc, wDesc, yDesc, &g);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  return workspace_bytes(call, Direction::Forward, algo, g, sizeInBytes);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                      const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                      const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
                                      void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                      const cudnnTensorDescriptor_t yDesc, void* y) {
  Lock lock(xarxa_emu::device_mutex());
  if (xarxa_emu::sticky_error() != cudaSuccess) return CUDNN_STATUS_EXECUTION_FAILED;  // the context is lost
  const char* call = "cudnnConvolutionForward";
  Conv g;
  float a = 0, b = 0;
  size_t ws = 0;
  const Operands ops = {x, w, y, "x", "w", "y"};
  const cudnnStatus_t s = prepare(call, Direction::Forward, handle, alpha, beta, convDesc, xDesc, wDesc, yDesc, ops,
                                  algo, workSpace, workSpaceSizeInBytes, &g, &a, &b, &ws);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  const float* xf = static_cast<const float*>(x);
  const float* wf = static_cast<const float*>(w);
  float* yf = static_cast<float*>(y);
  return queued(call, xarxa_emu::enqueue(handle->stream, [=] {
                  scribble(workSpace, ws);
                  forward(g, a, xf, wf, b, yf);
                }));
}

// ---- backward data -------------------------------------------------------------------

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionBackwardDataAlgorithmMaxCount";
  if (!handle || !count) return fail(CUDNN_STATUS_BAD_PARAM, call, "handle or count is null");
  *count = algos_for(Direction::BackwardData).enum_count;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle,
                                                          const cudnnFilterDescriptor_t filterDesc,
                                                          const cudnnTensorDescriptor_t diffDesc,
                                                          const cudnnConvolutionDescriptor_t convDesc,
                                                          const cudnnTensorDescriptor_t gradDesc,
                                                          const int requestedAlgoCount, int* returnedAlgoCount,
                                                          cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionBackwardDataAlgorithm_v7";
  Conv g;
  const cudnnStatus_t s = make_conv(call, convDesc, gradDesc, filterDesc, diffDesc, &g);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  return rank_algos(call, handle, Direction::BackwardData, g, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                           const cudnnTensorDescriptor_t dyDesc,
                                                           const cudnnConvolutionDescriptor_t convDesc,
                                                           const cudnnTensorDescriptor_t dxDesc,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t* sizeInBytes) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionBackwardDataWorkspaceSize";
  if (!handle || !sizeInBytes) return fail(CUDNN_STATUS_BAD_PARAM, call, "handle or sizeInBytes is null");
  Conv g;
  const cudnnStatus_t s = make_conv(call, convDesc, dxDesc, wDesc, dyDesc, &g);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  return workspace_bytes(call, Direction::BackwardData, algo, g, sizeInBytes);
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha,
                                           const cudnnFilterDescriptor_t wDesc, const void* w,
                                           const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                           const cudnnConvolutionDescriptor_t convDesc,
                                           cudnnConvolutionBwdDataAlgo_t algo, void* workSpace,
                                           size_t workSpaceSizeInBytes, const void* beta,
                                           const cudnnTensorDescriptor_t dxDesc, void* dx) {
  Lock lock(xarxa_emu::device_mutex());
  if (xarxa_emu::sticky_error() != cudaSuccess) return CUDNN_STATUS_EXECUTION_FAILED;  // the context is lost
  const char* call = "cudnnConvolutionBackwardData";
  Conv g;
  float a = 0, b = 0;
  size_t ws = 0;
  const Operands ops = {dx, w, dy, "dx", "w", "dy"};
  const cudnnStatus_t s = prepare(call, Direction::BackwardData, handle, alpha, beta, convDesc, dxDesc, wDesc, dyDesc,
                                  ops, algo, workSpace, workSpaceSizeInBytes, &g, &a, &b, &ws);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  const float* wf = static_cast<const float*>(w);
  const float* dyf = static_cast<const float*>(dy);
  float* dxf = static_cast<float*>(dx);
  const int first_k = first_term(Direction::BackwardData, algo, g.y.size[1]);
  return queued(call, xarxa_emu::enqueue(handle->stream, [=] {
                  scribble(workSpace, ws);
                  backward_data(g, a, wf, dyf, b, dxf, first_k);
                }));
}

// ---- backward filter -----------------------------------------------------------------

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount";
  if (!handle || !count) return fail(CUDNN_STATUS_BAD_PARAM, call, "handle or count is null");
  *count = algos_for(Direction::BackwardFilter).enum_count;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle,
                                                            const cudnnTensorDescriptor_t srcDesc,
                                                            const cudnnTensorDescriptor_t diffDesc,
                                                            const cudnnConvolutionDescriptor_t convDesc,
                                                            const cudnnFilterDescriptor_t gradDesc,
                                                            const int requestedAlgoCount, int* returnedAlgoCount,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionBackwardFilterAlgorithm_v7";
  Conv g;
  const cudnnStatus_t s = make_conv(call, convDesc, srcDesc, gradDesc, diffDesc, &g);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  return rank_algos(call, handle, Direction::BackwardFilter, g, requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle,
                                                             const cudnnTensorDescriptor_t xDesc,
                                                             const cudnnTensorDescriptor_t dyDesc,
                                                             const cudnnConvolutionDescriptor_t convDesc,
                                                             const cudnnFilterDescriptor_t gradDesc,
                                                             cudnnConvolutionBwdFilterAlgo_t algo,
                                                             size_t* sizeInBytes) {
  Lock lock(xarxa_emu::device_mutex());
  const char* call = "cudnnGetConvolutionBackwardFilterWorkspaceSize";
  if (!handle || !sizeInBytes) return fail(CUDNN_STATUS_BAD_PARAM, call, "handle or sizeInBytes is null");
  Conv g;
  const cudnnStatus_t s = make_conv(call, convDesc, xDesc, gradDesc, dyDesc, &g);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  return workspace_bytes(call, Direction::BackwardFilter, algo, g, sizeInBytes);
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha,
                                             const cudnnTensorDescriptor_t xDesc, const void* x,
                                             const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                             const cudnnConvolutionDescriptor_t convDesc,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace,
                                             size_t workSpaceSizeInBytes, const void* beta,
                                             const cudnnFilterDescriptor_t dwDesc, void* dw) {
  Lock lock(xarxa_emu::device_mutex());
  if (xarxa_emu::sticky_error() != cudaSuccess) return CUDNN_STATUS_EXECUTION_FAILED;  // the context is lost
  const char* call = "cudnnConvolutionBackwardFilter";
  Conv g;
  float a = 0, b = 0;
  size_t ws = 0;
  const Operands ops = {x, dw, dy, "x", "dw", "dy"};
  const cudnnStatus_t s = prepare(call, Direction::BackwardFilter, handle, alpha, beta, convDesc, xDesc, dwDesc, dyDesc,
                                  ops, algo, workSpace, workSpaceSizeInBytes, &g, &a, &b, &ws);
  if (s != CUDNN_STATUS_SUCCESS) return s;
  const float* xf = static_cast<const float*>(x);
  const float* dyf = static_cast<const float*>(dy);
  float* dwf = static_cast<float*>(dw);
  const int first_n = first_term(Direction::BackwardFilter, algo, g.x.size[0]);
  return queued(call, xarxa_emu::enqueue(handle->stream, [=] {
                  scribble(workSpace, ws);
                  backward_filter(g, a, xf, dyf, b, dwf, first_n);
                }));
}

}  // extern "C"

#include "cuda/check.h"

namespace xarxa {
namespace cuda {
namespace {

// "cudnnConvolutionForward(cudnn_, &one, ...)" -> "cudnnConvolutionForward"
std::string call_name(const char* call) {
  std::string s = call ? call : "?";
  auto paren = s.find('(');
  if (paren != std::string::npos) s.resize(paren);
  return s;
}

std::string prefix(const char* op, const char* call) {
  return std::string("cuda ") + (op ? op : "?") + ": " + call_name(call) + " failed: ";
}

}  // namespace

std::string cuda_error_text(cudaError_t e) {
  return std::to_string(static_cast<int>(e)) + " " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}

void throw_cuda(const char* op, const char* call, cudaError_t e) {
  // Clear the runtime's last-error slot so a later check does not report this one again
  // (sticky errors, e.g. an illegal address, stay: the context is unusable after them).
  cudaGetLastError();
  throw Error(prefix(op, call) + cuda_error_text(e));
}

void throw_cublas(const char* op, const char* call, cublasStatus_t s) {
  cudaGetLastError();  // a CUDA error the library left behind is reported here, not by a later check
  throw Error(prefix(op, call) + std::to_string(static_cast<int>(s)) + " " + cublasGetStatusName(s) + " (" +
              cublasGetStatusString(s) + ")");
}

std::string cudnn_error_text(cudnnStatus_t s) {
  std::string text = std::to_string(static_cast<int>(s)) + " " + cudnnGetErrorString(s);
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));
  if (detail[0]) text += std::string(" (") + detail + ")";
  return text;
}

void throw_cudnn(const char* op, const char* call, cudnnStatus_t s) {
  cudaGetLastError();  // as in throw_cublas
  throw Error(prefix(op, call) + cudnn_error_text(s));
}

}  // namespace cuda
}  // namespace xarxa

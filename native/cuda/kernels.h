// Host-side launchers of the backend's own kernels. Each enqueues on `stream`
// and returns at once; the caller checks cudaGetLastError() for launch errors.
// Shapes follow core/backend.h; sizes of 0 launch nothing.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "core/backend.h"

namespace xarxa {
namespace cuda {

// ---- kernels_elementwise.cu -------------------------------------------------
// Whether this library holds code the current device can run: cudaSuccess, or
// cudaErrorNoKernelImageForDevice when it was built for other architectures.
cudaError_t kernel_image_status();
void launch_fill(cudaStream_t s, float* dst, float value, size_t n);
// C[r, c] *= beta for a row-major [rows, cols] block with row stride ld (beta == 0 writes 0).
void launch_scale_matrix(cudaStream_t s, float* c, int rows, int cols, int ld, float beta);
void launch_bias_add(cudaStream_t s, float* y, const float* bias, int rows, int cols);
// y = act(y + bias), softmax included (one launch); bias may be null.
void launch_bias_activation(cudaStream_t s, Activation act, float* y, const float* bias, int rows, int cols);
void launch_activation_forward(cudaStream_t s, Activation act, const float* x, float* y, int rows, int cols);
void launch_activation_backward(cudaStream_t s, Activation act, const float* y, const float* dy, float* dx,
                                int rows, int cols);
// dy = dy * act'(.) in place (act element-wise, not softmax), then db = its column
// sums, in one launch: for rows <= kFusedBiasRows (one block per 32 columns walks all rows).
constexpr int kFusedBiasRows = 512;
void launch_activation_bias_backward(cudaStream_t s, Activation act, const float* y, float* dy, float* db, int rows,
                                     int cols);
void launch_dropout(cudaStream_t s, const float* x, float* y, float* mask, size_t n, float rate, float keep_scale,
                    uint64_t seed);
void launch_multiply(cudaStream_t s, const float* a, const float* b, float* out, size_t n);
void launch_sgd(cudaStream_t s, float* w, const float* g, float* velocity, size_t n, float lr, float momentum,
                bool nesterov);
// sgd on every tensor, up to 32 tensors per launch.
void launch_sgd_all(cudaStream_t s, const SgdTensor* tensors, int count, float lr, float momentum, bool nesterov);
// *flag = 1 when any x[i] is NaN or infinite (flag is not cleared here).
void launch_non_finite(cudaStream_t s, const float* x, size_t n, int* flag);
void launch_gather_rows(cudaStream_t s, float* dst, const float* src, const int32_t* index, int begin, int rows,
                        int row_len);
// launch_gather_rows of the inputs and of the labels, in one launch.
void launch_gather_batch(cudaStream_t s, float* x_dst, const float* x_src, int x_row, float* y_dst, const float* y_src,
                         int y_row, const int32_t* index, int begin, int rows);
void launch_nchw_to_nhwc(cudaStream_t s, float* dst, const float* src, int n, int c, int h, int w);
void launch_nhwc_to_nchw(cudaStream_t s, float* dst, const float* src, int n, int c, int h, int w);
// dst[c, r] = src[r, c] for a row-major [rows, cols] src.
void launch_transpose(cudaStream_t s, float* dst, const float* src, int rows, int cols);
// dst [n, h + top + bottom, w + left + right, c] = src [n, h, w, c] surrounded by zeros.
void launch_pad_nhwc(cudaStream_t s, float* dst, const float* src, int n, int h, int w, int c, int top,
                     int bottom, int left, int right);
// dst [n, h, w, c] = src [n, h + top + bottom, w + left + right, c] without the border.
void launch_crop_nhwc(cudaStream_t s, float* dst, const float* src, int n, int h, int w, int c, int top,
                      int bottom, int left, int right);

// ---- kernels_loss.cu ----------------------------------------------------------
// The loss kernels' blocks (of kThreads rows) for `rows` rows. With more than
// one, the launches need `block_losses` (that many doubles of device scratch):
// each block writes its loss there and a second kernel adds them to the stats
// in block order, so the sum does not depend on the order the blocks finish in.
unsigned loss_blocks(int rows);
// With count_correct, the launch also does launch_count_correct's work on the same rows.
void launch_softmax_cross_entropy(cudaStream_t s, const float* probs, const float* labels, int rows, int cols,
                                  float grad_scale, float* dlogits, double* stats, double* block_losses,
                                  bool count_correct = false);
void launch_mean_squared_error(cudaStream_t s, const float* pred, const float* labels, int rows, int cols,
                               float grad_scale, float* dout, double* stats, double* block_losses,
                               bool count_correct = false);
void launch_count_correct(cudaStream_t s, const float* pred, const float* labels, int rows, int cols,
                          double* stats);
// stats[kStatFirstNonFinite] = batch + 1 if the loss sum is not finite and it is still 0 (one thread).
void launch_note_non_finite(cudaStream_t s, double* stats, int batch);

// ---- pooling.cu -----------------------------------------------------------------
void launch_pool_forward(cudaStream_t s, PoolKind kind, const WindowParams& p, const float* x, float* y);
// Max-pool windows of up to this many cells have their maximum found again for every
// cell they hold (one kernel); larger ones find it once per window into scratch first.
constexpr int kMaxPoolRecomputeCells = 4;
// Device scratch launch_pool_backward needs (`argmax_scratch`): 0 where it needs none.
size_t pool_backward_scratch_bytes(PoolKind kind, const WindowParams& p);
// Writes every cell of dx (0 where no window's gradient lands); the same on every run.
void launch_pool_backward(cudaStream_t s, PoolKind kind, const WindowParams& p, const float* x,
                          const float* dy, float* dx, int* argmax_scratch);

}  // namespace cuda
}  // namespace xarxa

// Losses and metrics. One thread per row, looping over the columns in the
// CPU reference's order (so the float sums round the same way). A single
// block adds its rows' loss into the double stats buffer; several write one
// partial each and sum_block_losses_kernel adds them in block order (an
// atomicAdd per block would add them in whatever order the blocks finish,
// changing the last bits from run to run). Counts of right rows are whole
// numbers, exact in any order: one atomicAdd per block.
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace xarxa {
namespace cuda {
namespace {

// Sum of `v` over the block (kThreads threads); the result is valid in thread 0.
__device__ double block_sum(double v) {
  __shared__ double partial[kThreads];
  partial[threadIdx.x] = v;
  __syncthreads();
  for (unsigned half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  return partial[0];
}

// The CPU's argmax: first maximum wins (strictly greater replaces).
__device__ int argmax_row(const float* row, int cols) {
  int best = 0;
  for (int j = 1; j < cols; j++)
    if (row[j] > row[best]) best = j;
  return best;
}

// Whether row r (< rows) is predicted right, as the CPU: categorical (argmax) over several
// columns, binary (threshold 0.5) over one; 0 past the last row.
__device__ int correct_row(const float* pred, const float* labels, size_t r, int rows, int cols) {
  if (r >= static_cast<size_t>(rows)) return 0;
  if (cols == 1) return (pred[r] > 0.5f ? 1.0f : 0.0f) == labels[r];
  return argmax_row(pred + r * cols, cols) == argmax_row(labels + r * cols, cols);
}

// Adds the block's count of right rows to stats[kStatCorrect]; every thread of the block calls it.
__device__ void add_correct(int correct, double* stats) {
  const int count = __syncthreads_count(correct);
  if (threadIdx.x == 0 && count > 0) atomicAdd(&stats[kStatCorrect], static_cast<double>(count));
}

// Keras/tfjs categorical cross-entropy on probabilities, exactly as the CPU:
// q = p / sum(p), clipped to [1e-7, 1 - 1e-7]; inside = q in that closed range;
// row loss -sum(y * log(clipped)); s = sum of y where inside;
// dlogits = grad_scale * (p * s - (inside ? y : 0)). With `count`, count_correct too.
// The block's loss: into block_losses[blockIdx.x] when given (several blocks), else into the stats.
__device__ void add_loss(double block_total, double* stats, double* block_losses) {
  if (threadIdx.x != 0) return;
  if (block_losses) block_losses[blockIdx.x] = block_total;
  else atomicAdd(&stats[kStatLoss], block_total);  // one block: nothing to race with
}

__global__ void softmax_ce_kernel(const float* probs, const float* labels, int rows, int cols, float grad_scale,
                                  float* dlogits, double* stats, double* block_losses, bool count) {
  const float eps = 1e-7f, hi = 1.0f - 1e-7f;
  const size_t r = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  double row_total = 0.0;
  if (r < static_cast<size_t>(rows)) {
    const float* p = probs + r * cols;
    const float* y = labels + r * cols;
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) sum += p[j];
    float row_loss = 0.0f, s = 0.0f;
    for (int j = 0; j < cols; j++) {
      const float q = p[j] / sum;
      const bool inside = q >= eps && q <= hi;
      const float lo = q < eps ? eps : q;            // std::max(q, eps)
      const float clipped = hi < lo ? hi : lo;       // std::min(lo, hi)
      row_loss -= y[j] * logf(clipped);
      if (inside) s += y[j];
    }
    row_total = row_loss;
    if (dlogits) {
      float* d = dlogits + r * cols;
      for (int j = 0; j < cols; j++) {
        const float q = p[j] / sum;
        const bool inside = q >= eps && q <= hi;
        d[j] = grad_scale * (p[j] * s - (inside ? y[j] : 0.0f));
      }
    }
  }
  add_loss(block_sum(row_total), stats, block_losses);  // every thread of the block takes part
  if (count) add_correct(correct_row(probs, labels, r, rows, cols), stats);
}

// Row loss mean((p - y)^2); dout = grad_scale * 2 * (p - y) / cols. With `count`, count_correct too.
__global__ void mse_kernel(const float* pred, const float* labels, int rows, int cols, float grad_scale,
                           float* dout, double* stats, double* block_losses, bool count) {
  const size_t r = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  double row_total = 0.0;
  if (r < static_cast<size_t>(rows)) {
    const float* p = pred + r * cols;
    const float* y = labels + r * cols;
    float row = 0.0f;
    for (int j = 0; j < cols; j++) {
      const float d = p[j] - y[j];
      row += d * d;
      if (dout) dout[r * cols + j] = grad_scale * 2.0f * d / cols;
    }
    row_total = row / cols;
  }
  add_loss(block_sum(row_total), stats, block_losses);
  if (count) add_correct(correct_row(pred, labels, r, rows, cols), stats);
}

// One thread: the blocks' losses, in block order, into the stats.
__global__ void sum_block_losses_kernel(const double* block_losses, unsigned blocks, double* stats) {
  double total = 0.0;
  for (unsigned b = 0; b < blocks; b++) total += block_losses[b];
  stats[kStatLoss] += total;
}

__global__ void count_correct_kernel(const float* pred, const float* labels, int rows, int cols, double* stats) {
  const size_t r = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  add_correct(correct_row(pred, labels, r, rows, cols), stats);
}

__global__ void note_non_finite_kernel(double* stats, int batch) {
  if (!isfinite(stats[kStatLoss]) && stats[kStatFirstNonFinite] == 0.0) stats[kStatFirstNonFinite] = batch + 1.0;
}

}  // namespace

unsigned loss_blocks(int rows) { return rows > 0 ? blocks_exact(static_cast<size_t>(rows)) : 0; }

void launch_softmax_cross_entropy(cudaStream_t s, const float* probs, const float* labels, int rows, int cols,
                                  float grad_scale, float* dlogits, double* stats, double* block_losses,
                                  bool count_correct) {
  if (rows <= 0 || cols <= 0) return;
  const unsigned blocks = loss_blocks(rows);
  double* partials = blocks > 1 ? block_losses : nullptr;
  softmax_ce_kernel<<<blocks, kThreads, 0, s>>>(probs, labels, rows, cols, grad_scale, dlogits, stats, partials,
                                                count_correct);
  if (partials) sum_block_losses_kernel<<<1, 1, 0, s>>>(partials, blocks, stats);
}

void launch_mean_squared_error(cudaStream_t s, const float* pred, const float* labels, int rows, int cols,
                               float grad_scale, float* dout, double* stats, double* block_losses,
                               bool count_correct) {
  if (rows <= 0 || cols <= 0) return;
  const unsigned blocks = loss_blocks(rows);
  double* partials = blocks > 1 ? block_losses : nullptr;
  mse_kernel<<<blocks, kThreads, 0, s>>>(pred, labels, rows, cols, grad_scale, dout, stats, partials, count_correct);
  if (partials) sum_block_losses_kernel<<<1, 1, 0, s>>>(partials, blocks, stats);
}

void launch_count_correct(cudaStream_t s, const float* pred, const float* labels, int rows, int cols,
                          double* stats) {
  if (rows <= 0 || cols <= 0) return;
  count_correct_kernel<<<blocks_exact(rows), kThreads, 0, s>>>(pred, labels, rows, cols, stats);
}

void launch_note_non_finite(cudaStream_t s, double* stats, int batch) {
  note_non_finite_kernel<<<1, 1, 0, s>>>(stats, batch);
}

}  // namespace cuda
}  // namespace xarxa

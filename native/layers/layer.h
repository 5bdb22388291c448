// A layer: a forward/backward pair over batches, written only in terms of
// Backend ops so it runs on any device. Shapes exclude the batch dimension.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/backend.h"
#include "../core/rng.h"

namespace xarxa {

using Shape = std::vector<int>;

inline long shape_size(const Shape& s) {
  long n = 1;
  for (int d : s) n *= d;
  return n;
}

std::string shape_string(const Shape& s);

// A trainable tensor with its gradient and optimizer slot, all on the device.
struct Param {
  std::string name;  // Keras weight name: "kernel" or "bias"
  Shape shape;       // Keras layout (Dense kernel [in, units], Conv2D [kh, kw, in, out])
  float* value = nullptr;
  float* grad = nullptr;
  float* velocity = nullptr;  // momentum slot, allocated when the optimizer needs it
  long size() const { return shape_size(shape); }
};

class Layer {
 public:
  explicit Layer(Backend& backend) : backend_(backend) {}
  virtual ~Layer();
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual std::string kind() const = 0;
  // Checks the input shape, allocates and initialises the parameters, and
  // returns the output shape. Throws xarxa::Error on a shape it cannot take.
  virtual Shape build(const Shape& input, Rng& rng) = 0;
  // Allocates per-batch scratch for batches of up to `max_batch` rows.
  virtual void reserve(int max_batch) {}
  // y = layer(x) for `batch` rows. `seed` varies per step (dropout).
  virtual void forward(const float* x, float* y, int batch, bool training, uint64_t seed) = 0;
  // Given dy (gradient w.r.t. the output y, or w.r.t. the pre-activation when
  // dy_is_preactivation; may be overwritten), fills the parameters' grads and,
  // when dx is not null, the gradient w.r.t. the input.
  virtual void backward(const float* x, const float* y, float* dy, float* dx, int batch,
                        bool dy_is_preactivation) = 0;

  virtual Activation activation() const { return Activation::Linear; }
  // Whether training steps draw random numbers (from `seed`), so that no two
  // steps are the same ops with the same arguments (Model::train records steps).
  virtual bool random_in_training() const { return false; }
  std::vector<Param>& params() { return params_; }
  // From now on build() only checks shapes: parameters get their shapes but
  // no memory and no values (checking a model before it is made, checkModel).
  void set_shapes_only() { shapes_only_ = true; }
  const Shape& input_shape() const { return input_; }
  const Shape& output_shape() const { return output_; }

 protected:
  Param& add_param(const std::string& name, const Shape& shape);
  void glorot_uniform(Param& p, long fan_in, long fan_out, Rng& rng);
  // A scratch buffer of at least `floats` floats, kept per slot and grown on demand.
  float* buffer(int slot, long floats);

  Backend& backend_;
  std::vector<Param> params_;
  Shape input_, output_;
  bool shapes_only_ = false;

 private:
  struct Scratch {
    void* ptr = nullptr;
    long floats = 0;
  };
  std::vector<Scratch> scratch_;  // freed with the layer
};

}  // namespace xarxa

#include "layer.h"

#include <cmath>

namespace xarxa {

std::string shape_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); i++) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Layer::~Layer() {
  for (auto& p : params_) {
    backend_.free(p.value);
    backend_.free(p.grad);
    backend_.free(p.velocity);
  }
  for (auto& s : scratch_) backend_.free(s.ptr);
}

float* Layer::buffer(int slot, long floats) {
  if ((int)scratch_.size() <= slot) scratch_.resize(slot + 1);
  Scratch& s = scratch_[slot];
  if (s.floats < floats) {
    backend_.free(s.ptr);
    s.ptr = nullptr;
    s.floats = 0;
    s.ptr = backend_.alloc(sizeof(float) * floats);
    s.floats = floats;
  }
  return static_cast<float*>(s.ptr);
}

Param& Layer::add_param(const std::string& name, const Shape& shape) {
  Param p;
  p.name = name;
  p.shape = shape;
  if (shapes_only_) {
    params_.push_back(p);
    return params_.back();
  }
  size_t bytes = sizeof(float) * p.size();
  p.value = static_cast<float*>(backend_.alloc(bytes));
  p.grad = static_cast<float*>(backend_.alloc(bytes));
  backend_.fill(p.value, 0.0f, p.size());
  backend_.fill(p.grad, 0.0f, p.size());
  params_.push_back(p);
  return params_.back();
}

// Keras' glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).
void Layer::glorot_uniform(Param& p, long fan_in, long fan_out, Rng& rng) {
  if (shapes_only_) return;
  double limit = std::sqrt(6.0 / double(fan_in + fan_out));
  std::vector<float> host(p.size());
  for (auto& v : host) v = float((2.0 * rng.uniform() - 1.0) * limit);
  backend_.upload(p.value, host.data(), sizeof(float) * host.size());
}

}  // namespace xarxa

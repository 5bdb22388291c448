#include "model_wrap.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "args.h"
#include "backends.h"
#include "core/error.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/pooling2d.h"
#include "layers/simple_layers.h"

namespace xarxa {
namespace {

Activation parse_activation(Napi::Env env, const Napi::Object& spec, const std::string& where) {
  if (!spec.Has("activation") || spec.Get("activation").IsUndefined() || spec.Get("activation").IsNull())
    return Activation::Linear;
  std::string a = to_string(env, spec.Get("activation"), where + ".activation");
  if (a == "linear") return Activation::Linear;
  if (a == "relu") return Activation::Relu;
  if (a == "sigmoid") return Activation::Sigmoid;
  if (a == "tanh") return Activation::Tanh;
  if (a == "softmax") return Activation::Softmax;
  throw Napi::Error::New(env, where + ".activation: unknown activation '" + a +
                                  "' (expected linear, relu, sigmoid, tanh or softmax)");
}

std::vector<int> pair_of(Napi::Env env, const Napi::Object& spec, const char* key, const std::string& where) {
  auto v = to_shape(env, spec.Get(key), where + "." + key);
  if (v.size() != 2) throw Napi::TypeError::New(env, where + "." + key + " must be [height, width]");
  return v;
}

Padding parse_padding(Napi::Env env, const Napi::Object& spec, const std::string& where) {
  std::string p = to_string(env, spec.Get("padding"), where + ".padding");
  if (p == "valid") return Padding::Valid;
  if (p == "same") return Padding::Same;
  throw Napi::Error::New(env, where + ".padding must be 'valid' or 'same', received '" + p + "'");
}

bool parse_channels_first(Napi::Env env, const Napi::Object& spec, const std::string& where) {
  if (!spec.Has("dataFormat") || spec.Get("dataFormat").IsUndefined()) return false;
  std::string f = to_string(env, spec.Get("dataFormat"), where + ".dataFormat");
  if (f == "channelsLast") return false;
  if (f == "channelsFirst") return true;
  throw Napi::Error::New(env, where + ".dataFormat must be 'channelsLast' or 'channelsFirst', received '" + f + "'");
}

bool parse_bool(const Napi::Object& spec, const char* key, bool fallback) {
  if (!spec.Has(key) || spec.Get(key).IsUndefined()) return fallback;
  return spec.Get(key).ToBoolean().Value();
}

// What the size check needs to know of a layer, read once from its spec (a
// getter could answer differently the second time).
struct LayerPlan {
  std::string type;
  long long units = 0;  // Dense units or Conv2D filters
  int k_h = 0, k_w = 0, s_h = 1, s_w = 1;
  Padding padding = Padding::Valid;
  bool channels_first = false, use_bias = true;
};

std::unique_ptr<Layer> make_layer(Napi::Env env, Backend& backend, const Napi::Value& value, int index,
                                  LayerPlan& plan) {
  std::string where = "layers[" + std::to_string(index) + "]";
  if (!value.IsObject()) throw Napi::TypeError::New(env, where + " must be an object");
  auto spec = value.As<Napi::Object>();
  std::string type = to_string(env, spec.Get("type"), where + ".type");
  plan.type = type;
  if (type == "Dense") {
    int units = (int)to_int(env, spec.Get("units"), where + ".units", 1, 1 << 24);
    plan.units = units;
    plan.use_bias = parse_bool(spec, "useBias", true);
    return std::make_unique<Dense>(backend, units, parse_activation(env, spec, where), plan.use_bias);
  }
  if (type == "Conv2D") {
    int filters = (int)to_int(env, spec.Get("filters"), where + ".filters", 1, 1 << 20);
    auto k = pair_of(env, spec, "kernelSize", where);
    auto s = pair_of(env, spec, "strides", where);
    plan.units = filters;
    plan.k_h = k[0], plan.k_w = k[1], plan.s_h = s[0], plan.s_w = s[1];
    plan.padding = parse_padding(env, spec, where);
    plan.channels_first = parse_channels_first(env, spec, where);
    plan.use_bias = parse_bool(spec, "useBias", true);
    return std::make_unique<Conv2D>(backend, filters, k[0], k[1], s[0], s[1], plan.padding, plan.channels_first,
                                    parse_activation(env, spec, where), plan.use_bias);
  }
  if (type == "MaxPooling2D" || type == "AveragePooling2D") {
    auto k = pair_of(env, spec, "poolSize", where);
    auto s = pair_of(env, spec, "strides", where);
    plan.k_h = k[0], plan.k_w = k[1], plan.s_h = s[0], plan.s_w = s[1];
    plan.padding = parse_padding(env, spec, where);
    plan.channels_first = parse_channels_first(env, spec, where);
    return std::make_unique<Pooling2D>(backend, type == "MaxPooling2D" ? PoolKind::Max : PoolKind::Average, k[0], k[1],
                                       s[0], s[1], plan.padding, plan.channels_first);
  }
  if (type == "Flatten") return std::make_unique<Flatten>(backend, parse_channels_first(env, spec, where));
  if (type == "Dropout") {
    double rate = to_number(env, spec.Get("rate"), where + ".rate");
    if (rate < 0 || rate >= 1) throw Napi::RangeError::New(env, where + ".rate must be in [0, 1)");
    uint64_t seed = (uint64_t)to_int(env, spec.Get("seed"), where + ".seed", 0, 0x1fffffffffffffLL);
    return std::make_unique<Dropout>(backend, (float)rate, seed);
  }
  if (type == "Activation") return std::make_unique<ActivationLayer>(backend, parse_activation(env, spec, where));
  throw Napi::Error::New(env, where + ": unknown layer type '" + type + "'");
}

std::string gib(double bytes) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

std::string shape_text(const std::vector<double>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); i++) out += (i ? ", " : "") + std::to_string((long long)shape[i]);
  return out + "]";
}

double product(const std::vector<double>& shape) {
  double n = 1;
  for (double d : shape) n *= d;
  return n;
}

// The memory a model may claim: XARXA_MEMORY_LIMIT (bytes, with an optional
// K/M/G/T suffix) when set, else the smaller of 64 GiB and the device's memory
// (physical RAM for the CPU, the GPU's total memory for CUDA). Read on the JS
// thread when a model is made.
size_t memory_limit(const std::string& device, Backend& backend) {
  if (const char* text = std::getenv("XARXA_MEMORY_LIMIT")) {
    char* end = nullptr;
    double v = std::strtod(text, &end);
    if (end != text && v > 0) {
      switch (*end) {
        case 'k': case 'K': v *= 1024.0; break;
        case 'm': case 'M': v *= 1024.0 * 1024.0; break;
        case 'g': case 'G': v *= 1024.0 * 1024.0 * 1024.0; break;
        case 't': case 'T': v *= 1024.0 * 1024.0 * 1024.0 * 1024.0; break;
        default: break;
      }
      if (v < 1e18) return (size_t)v;
    }
  }
  size_t limit = size_t(64) << 30;
  if (device == "cpu") {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0) limit = std::min(limit, (size_t)pages * (size_t)page);
  } else {
    size_t total = backend.info().total_memory;
    if (total > 0) limit = std::min(limit, total);
  }
  return limit;
}

// Walks the shapes as the layers' build() will, in doubles and without
// allocating anything, and refuses (RangeError) a model whose single tensors
// exceed what the backend ops index (2^31 - 1 values, int sizes) or whose
// weights (value, gradient, momentum slot) plus one sample's activations
// exceed `limit` bytes. Shapes build() would reject are left to build().
void check_model_size(Napi::Env env, const std::vector<LayerPlan>& plans, const Shape& input, size_t limit) {
  const double max_values = 2147483647.0;
  std::vector<double> shape(input.begin(), input.end());
  double params = 0, acts = 0, max_act = product(shape);
  for (size_t i = 0; i < plans.size(); i++) {
    const LayerPlan& p = plans[i];
    const std::string where = "layers[" + std::to_string(i) + "] (" + p.type + ")";
    auto weight = [&](const char* name, const std::vector<double>& w) {
      double n = product(w);
      if (n > max_values)
        throw Napi::RangeError::New(env, where + ": the " + std::string(name) + " " + shape_text(w) + " would hold " +
                                             std::to_string((long long)n) +
                                             " values; one tensor is limited to 2^31 - 1 (2147483647)");
      params += n;
    };
    if (p.type == "Dense") {
      if (shape.empty()) return;
      weight("kernel", {shape.back(), (double)p.units});
      if (p.use_bias) weight("bias", {(double)p.units});
      shape.back() = (double)p.units;
    } else if (p.type == "Conv2D" || p.type == "MaxPooling2D" || p.type == "AveragePooling2D") {
      if (shape.size() != 3) return;
      int h = (int)(p.channels_first ? shape[1] : shape[0]);
      int w = (int)(p.channels_first ? shape[2] : shape[1]);
      double c = p.channels_first ? shape[0] : shape[2];
      Axis ay, ax;
      try {
        ay = window_axis(h, p.k_h, p.s_h, p.padding, p.type);
        ax = window_axis(w, p.k_w, p.s_w, p.padding, p.type);
      } catch (const Error&) {
        return;
      }
      double out_c = c;
      if (p.type == "Conv2D") {
        out_c = (double)p.units;
        weight("kernel", {(double)p.k_h, (double)p.k_w, c, out_c});
        if (p.use_bias) weight("bias", {out_c});
      }
      shape = p.channels_first ? std::vector<double>{out_c, (double)ay.out, (double)ax.out}
                               : std::vector<double>{(double)ay.out, (double)ax.out, out_c};
    } else if (p.type == "Flatten") {
      shape = {product(shape)};
    }
    double n = product(shape);
    if (n > max_values)
      throw Napi::RangeError::New(env, where + ": its output " + shape_text(shape) + " would hold " +
                                           std::to_string((long long)n) +
                                           " values per sample; the limit is 2^31 - 1 (2147483647)");
    acts += n;
    max_act = std::max(max_act, n);
  }
  double bytes = 4.0 * (3.0 * params + product(std::vector<double>(input.begin(), input.end())) + acts + 2.0 * max_act);
  if (bytes > (double)limit)
    throw Napi::RangeError::New(env, "the model needs about " + gib(bytes) + " (" + std::to_string((long long)params) +
                                         " weights with their gradients and momentum slots, plus one sample's "
                                         "activations), more than the memory limit of " +
                                         gib((double)limit) +
                                         " (the smaller of 64 GiB and the device's memory; XARXA_MEMORY_LIMIT=bytes "
                                         "changes it)");
}


Napi::Object stats_object(Napi::Env env, const RunStats& s) {
  auto o = Napi::Object::New(env);
  o.Set("lossSum", s.loss_sum);
  o.Set("correct", s.correct);
  o.Set("samples", (double)s.samples);
  o.Set("batches", s.batches);
  o.Set("stopped", s.stopped);
  o.Set("firstNonFiniteBatch", s.first_non_finite_batch);
  return o;
}

// ---- async workers ------------------------------------------------------------

// "op: message" for an exception that stopped native work, naming the addon
// call it came from unless the message already starts with that name.
std::string failure(const char* op, const std::exception& e) {
  std::string what = e.what();
  if (dynamic_cast<const std::bad_alloc*>(&e)) what = "out of memory (" + what + ")";
  std::string prefix = std::string(op) + ":";
  if (what.rfind(prefix, 0) == 0) return what;
  return std::string(op) + ": " + what;
}

// Base: runs `work` on a worker thread, resolves with `result(env)`, and
// turns any C++ exception into a rejected Promise with its message. Workers
// only touch memory the job owns (never a JS buffer: those may be detached
// or resized by JS code while the worker runs).
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, NativeModel* owner, const char* op)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), op_(op) {
    owner_ref_ = Napi::Persistent(owner->Value());
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual void work() = 0;
  virtual Napi::Value result(Napi::Env env) { return env.Undefined(); }
  void Execute() override {
    try {
      work();
    } catch (const std::exception& e) {
      SetError(failure(op_, e));
    } catch (...) {
      SetError(std::string(op_) + ": unknown native error");
    }
  }
  void OnOK() override {
    owner_->release();
    Napi::HandleScope scope(Env());
    try {
      deferred_.Resolve(result(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(Env(), failure(op_, e)).Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    owner_->release();
    deferred_.Reject(e.Value());
  }

  Napi::Promise::Deferred deferred_;
  NativeModel* owner_;
  const char* op_;
  Napi::ObjectReference owner_ref_;  // keeps the model alive while the job runs
};

struct Progress {
  int batch;
  RunStats stats;
};

// Training: progress flows back through a queue that is drained on the JS
// thread before the Promise resolves. The sample order is copied (and then
// validated) when the job is made, so JS cannot change it under the worker.
class TrainJob : public Napi::AsyncProgressQueueWorker<Progress> {
 public:
  TrainJob(Napi::Env env, NativeModel* owner, std::shared_ptr<DeviceDataset> data, std::vector<int32_t> order,
           int batch_size, int first, int last, int every, Napi::Value progress)
      : Napi::AsyncProgressQueueWorker<Progress>(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner),
        data_(std::move(data)), order_(std::move(order)), batch_size_(batch_size), first_(first), last_(last),
        every_(every) {
    owner_ref_ = Napi::Persistent(owner->Value());
    if (progress.IsFunction()) progress_ = Napi::Persistent(progress.As<Napi::Function>());
  }
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& ep) override {
    try {
      ProgressFn fn;
      if (!progress_.IsEmpty()) fn = [&ep](int batch, const RunStats& s) {
        Progress p{batch, s};
        ep.Send(&p, 1);
      };
      stats_ = owner_->model().train(*data_, order_.data(), batch_size_, first_, last_, every_, fn, &owner_->stop_flag());
    } catch (const std::exception& e) {
      SetError(failure("train", e));
    } catch (...) {
      SetError("train: unknown native error");
    }
  }
  // A throwing onProgress stops training after the current batch and rejects
  // the Promise with what it threw (instead of an uncaught exception).
  void OnProgress(const Progress* p, size_t count) override {
    if (progress_.IsEmpty() || count == 0 || !callback_error_.IsEmpty()) return;
    Napi::HandleScope scope(Env());
    const Progress& last = p[count - 1];
    try {
      progress_.Call({Napi::Number::New(Env(), last.batch), stats_object(Env(), last.stats)});
    } catch (Napi::Error& e) {
      callback_error_ = std::move(e);  // a strong reference to what was thrown
      owner_->stop_flag().store(true);
    }
  }
  void OnOK() override {
    owner_->release();
    Napi::HandleScope scope(Env());
    if (!callback_error_.IsEmpty()) return deferred_.Reject(callback_error_.Value());
    try {
      deferred_.Resolve(stats_object(Env(), stats_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    owner_->release();
    if (!callback_error_.IsEmpty()) return deferred_.Reject(callback_error_.Value());
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  NativeModel* owner_;
  Napi::ObjectReference owner_ref_;
  Napi::FunctionReference progress_;
  Napi::Error callback_error_;
  std::shared_ptr<DeviceDataset> data_;
  std::vector<int32_t> order_;
  int batch_size_, first_, last_, every_;
  RunStats stats_;
};

class EvaluateJob : public Job {
 public:
  EvaluateJob(Napi::Env env, NativeModel* owner, std::shared_ptr<DeviceDataset> data, int batch_size)
      : Job(env, owner, "evaluate"), data_(std::move(data)), batch_size_(batch_size) {}

 protected:
  void work() override { stats_ = owner_->model().evaluate(*data_, batch_size_); }
  Napi::Value result(Napi::Env env) override { return stats_object(env, stats_); }

 private:
  std::shared_ptr<DeviceDataset> data_;
  int batch_size_;
  RunStats stats_;
};

class PredictJob : public Job {
 public:
  PredictJob(Napi::Env env, NativeModel* owner, std::shared_ptr<DeviceDataset> data, int batch_size)
      : Job(env, owner, "predict"), data_(std::move(data)), batch_size_(batch_size) {}

 protected:
  void work() override {
    long out_row = shape_size(owner_->model().output_shape());
    out_.resize((size_t)data_->size() * out_row);
    owner_->model().predict(*data_, batch_size_, out_.data());
  }
  Napi::Value result(Napi::Env env) override {
    auto arr = Napi::Float32Array::New(env, out_.size());
    std::copy(out_.begin(), out_.end(), arr.Data());
    return arr;
  }

 private:
  std::shared_ptr<DeviceDataset> data_;
  int batch_size_;
  std::vector<float> out_;
};

std::shared_ptr<DeviceDataset> arg_dataset(const Napi::CallbackInfo& info, size_t i, Model& model) {
  if (info.Length() <= i || !info[i].IsObject() || !info[i].As<Napi::Object>().InstanceOf(NativeDataset::constructor(info.Env())))
    throw Napi::TypeError::New(info.Env(), "dataset must be a NativeDataset");
  auto* ds = NativeDataset::Unwrap(info[i].As<Napi::Object>());
  if (!ds->data) throw Napi::Error::New(info.Env(), "dataset was disposed");
  if (ds->data->backend() != &model.backend())
    throw Napi::Error::New(info.Env(), "dataset belongs to another model");
  long in_row = shape_size(model.input_shape());
  if (ds->data->x_row() != in_row)
    throw Napi::Error::New(info.Env(), "dataset rows have " + std::to_string(ds->data->x_row()) +
                                           " features, the model expects " + std::to_string(in_row));
  return ds->data;
}

Napi::Array layer_specs(Napi::Env env, const Napi::Object& spec) {
  if (!spec.Get("layers").IsArray()) throw Napi::TypeError::New(env, "spec.layers must be an array");
  auto layers = spec.Get("layers").As<Napi::Array>();
  if (layers.Length() == 0) throw Napi::Error::New(env, "spec.layers is empty: add at least one layer");
  if (layers.Length() > 10000) throw Napi::RangeError::New(env, "spec.layers has more than 10000 layers");
  return layers;
}

}  // namespace

Napi::Object info_object(Napi::Env env, const DeviceInfo& d) {
  auto o = Napi::Object::New(env);
  o.Set("backend", d.backend);
  o.Set("name", d.name);
  o.Set("deviceIndex", d.device_index);
  o.Set("computeCapability", std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor));
  o.Set("totalMemory", (double)d.total_memory);
  o.Set("freeMemory", (double)d.free_memory);
  o.Set("threads", d.threads);
  o.Set("gemm", d.gemm);
  o.Set("cudaRuntimeVersion", d.cuda_runtime_version);
  o.Set("cudaDriverVersion", d.cuda_driver_version);
  o.Set("cublasVersion", d.cublas_version);
  o.Set("cudnnVersion", d.cudnn_version);
  if (!d.step_graphs.empty()) o.Set("stepGraphs", d.step_graphs);
  return o;
}

// ---- NativeModel ------------------------------------------------------------------

Napi::Function NativeModel::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {InstanceMethod("compile", &NativeModel::Compile),
                      InstanceMethod("setLearningRate", &NativeModel::SetLearningRate),
                      InstanceMethod("layers", &NativeModel::Layers),
                      InstanceMethod("getWeights", &NativeModel::GetWeights),
                      InstanceMethod("setWeight", &NativeModel::SetWeight),
                      InstanceMethod("createDataset", &NativeModel::CreateDataset),
                      InstanceMethod("train", &NativeModel::Train),
                      InstanceMethod("evaluate", &NativeModel::Evaluate),
                      InstanceMethod("predict", &NativeModel::Predict),
                      InstanceMethod("requestStop", &NativeModel::RequestStop),
                      InstanceMethod("info", &NativeModel::Info),
                      InstanceMethod("memoryInUse", &NativeModel::MemoryInUse),
                      InstanceMethod("dispose", &NativeModel::Dispose)});
}

// checkModel(spec) -> the output shape: throws what new NativeModel(spec)
// would for layers that do not fit together or hold too many values, without
// a device and without allocating or initialising any weight (Sequential.add
// checks each layer with it, as Keras builds layers as they are added).
Napi::Value CheckModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto spec = arg_object(info, 0, "model spec");
  auto input = to_shape(env, spec.Get("inputShape"), "spec.inputShape");
  auto specs = layer_specs(env, spec);
  try {
    std::vector<LayerPlan> plans(specs.Length());
    std::vector<std::unique_ptr<Layer>> layers;
    for (uint32_t i = 0; i < specs.Length(); i++) {
      layers.push_back(make_layer(env, shapes_only_backend(), specs.Get(i), (int)i, plans[i]));
      layers.back()->set_shapes_only();
    }
    check_model_size(env, plans, input, SIZE_MAX);  // the device's memory is checked when the model is made
    check_input_shape(input);
    Rng rng(0);
    Shape shape = input;
    for (auto& layer : layers) shape = layer->build(shape, rng);
    auto out = Napi::Array::New(env, shape.size());
    for (size_t i = 0; i < shape.size(); i++) out.Set((uint32_t)i, shape[i]);
    return out;
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// new NativeModel({ device, seed, inputShape, layers: [...] })
NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
  Napi::Env env = info.Env();
  auto spec = arg_object(info, 0, "model spec");
  std::string device = to_string(env, spec.Get("device"), "spec.device");
  uint64_t seed = (uint64_t)to_int(env, spec.Get("seed"), "spec.seed", 0, 0x1fffffffffffffLL);
  auto input = to_shape(env, spec.Get("inputShape"), "spec.inputShape");
  auto layers = layer_specs(env, spec);
  try {
    auto backend = create_backend(device);
    auto model = std::make_unique<Model>(backend, seed);
    std::vector<LayerPlan> plans(layers.Length());
    for (uint32_t i = 0; i < layers.Length(); i++) model->add(make_layer(env, *backend, layers.Get(i), (int)i, plans[i]));
    // Sizes are checked before build() allocates (and initialises) anything.
    size_t limit = memory_limit(device, *backend);
    check_model_size(env, plans, input, limit);
    model->set_memory_limit(limit);
    model->build(input);
    model_ = std::move(model);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "NativeModel: out of memory while building the model (std::bad_alloc)");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

NativeModel::~NativeModel() = default;

Model& NativeModel::model() {
  if (!model_) throw Error("model was disposed");
  return *model_;
}

void NativeModel::check_idle(Napi::Env env, const char* what) {
  if (!model_) throw Napi::Error::New(env, std::string(what) + ": the model was disposed");
  if (busy_.load()) throw Napi::Error::New(env, std::string(what) + ": the model is busy (training, evaluating or predicting)");
}

void NativeModel::acquire(Napi::Env env, const char* what) {
  check_idle(env, what);
  busy_.store(true);
}

Napi::Value NativeModel::Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "compile");
  auto spec = arg_object(info, 0, "compile config");
  std::string loss = to_string(env, spec.Get("loss"), "loss");
  Loss l;
  if (loss == "categorical_crossentropy") l = Loss::CategoricalCrossentropy;
  else if (loss == "mean_squared_error") l = Loss::MeanSquaredError;
  else throw Napi::Error::New(env, "unknown loss '" + loss + "'");
  SgdConfig sgd;
  sgd.learning_rate = (float)to_number(env, spec.Get("learningRate"), "learningRate");
  sgd.momentum = (float)to_number(env, spec.Get("momentum"), "momentum");
  sgd.nesterov = spec.Get("nesterov").ToBoolean().Value();
  try {
    model_->compile(l, sgd);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return env.Undefined();
}

Napi::Value NativeModel::SetLearningRate(const Napi::CallbackInfo& info) {
  check_idle(info.Env(), "setLearningRate");
  if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "learningRate is missing");
  model_->set_learning_rate((float)to_number(info.Env(), info[0], "learningRate"));
  return info.Env().Undefined();
}

// [{ kind, inputShape, outputShape, weights: [{ name, shape }] }]
Napi::Value NativeModel::Layers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) throw Napi::Error::New(env, "layers: the model was disposed");
  auto shape_array = [&](const Shape& s) {
    auto a = Napi::Array::New(env, s.size());
    for (size_t i = 0; i < s.size(); i++) a.Set((uint32_t)i, s[i]);
    return a;
  };
  auto out = Napi::Array::New(env);
  uint32_t i = 0;
  for (auto& layer : model_->layers()) {
    auto o = Napi::Object::New(env);
    o.Set("kind", layer->kind());
    o.Set("inputShape", shape_array(layer->input_shape()));
    o.Set("outputShape", shape_array(layer->output_shape()));
    auto ws = Napi::Array::New(env);
    uint32_t j = 0;
    for (auto& p : layer->params()) {
      auto w = Napi::Object::New(env);
      w.Set("name", p.name);
      w.Set("shape", shape_array(p.shape));
      ws.Set(j++, w);
    }
    o.Set("weights", ws);
    out.Set(i++, o);
  }
  return out;
}

Napi::Value NativeModel::GetWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "getWeights");
  auto ps = model_->params();
  auto out = Napi::Array::New(env, ps.size());
  try {
    for (size_t i = 0; i < ps.size(); i++) {
      auto arr = Napi::Float32Array::New(env, ps[i]->size());
      model_->get_param((int)i, arr.Data());
      out.Set((uint32_t)i, arr);
    }
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return out;
}

Napi::Value NativeModel::SetWeight(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "setWeights");
  auto ps = model_->params();
  int index = (int)arg_int(info, 0, "weight index", 0, (long long)ps.size() - 1);
  auto data = arg_f32(info, 1, "weight values", ps[index]->size());
  try {
    model_->set_param(index, data.Data());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return env.Undefined();
}

// createDataset(x: Float32Array, y: Float32Array | null, n) -> Promise<NativeDataset>
Napi::Value NativeModel::CreateDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "createDataset");
  long x_row = shape_size(model_->input_shape());
  long y_row = shape_size(model_->output_shape());
  int n = (int)arg_int(info, 2, "sample count", 0, 0x7fffffff);
  auto x = arg_f32(info, 0, "x", (long long)n * x_row);
  Napi::Value y = info[1];
  const float* y_data = nullptr;
  if (!y.IsNull() && !y.IsUndefined()) y_data = arg_f32(info, 1, "y", (long long)n * y_row).Data();
  // The copy to the device happens here, on the JS thread: a worker reading
  // the JS buffers could race with JS detaching (transferring) or resizing
  // them. It is one memcpy (CPU) or host-to-device copy (CUDA) per fit.
  auto deferred = Napi::Promise::Deferred::New(env);
  try {
    auto data = std::make_shared<DeviceDataset>(model_->backend_ptr(), x.Data(), y_data, n, x_row, y_row);
    auto obj = NativeDataset::constructor(env).New({});
    NativeDataset::Unwrap(obj)->data = std::move(data);
    deferred.Resolve(obj);
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  } catch (const std::exception& e) {
    deferred.Reject(Napi::Error::New(env, failure("createDataset", e)).Value());
  }
  return deferred.Promise();
}

// train(dataset, order: Int32Array, batchSize, firstBatch, lastBatch, progressEvery, onProgress?) -> Promise<stats>
Napi::Value NativeModel::Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "train");
  auto data = arg_dataset(info, 0, *model_);
  auto order_array = arg_i32(info, 1, "order");
  if ((long long)order_array.ElementLength() != data->size())
    throw Napi::RangeError::New(env, "order must have one entry per sample (" + std::to_string(data->size()) +
                                         "), received " + std::to_string(order_array.ElementLength()));
  // Copied, then checked: the worker reads the copy, which JS cannot change.
  std::vector<int32_t> order(order_array.Data(), order_array.Data() + order_array.ElementLength());
  for (size_t i = 0; i < order.size(); i++)
    if (order[i] < 0 || order[i] >= data->size())
      throw Napi::RangeError::New(env, "order[" + std::to_string(i) + "] = " + std::to_string(order[i]) +
                                           " is out of range for " + std::to_string(data->size()) + " samples");
  int batch = (int)arg_int(info, 2, "batchSize", 1, 0x7fffffff);
  int total = (int)(((long long)data->size() + batch - 1) / batch);
  int first = (int)arg_int(info, 3, "firstBatch", 0, total);
  int last = (int)arg_int(info, 4, "lastBatch", first, total);
  int every = (int)arg_int(info, 5, "progressEvery", 0, 0x7fffffff);
  Napi::Value progress = info.Length() > 6 ? info[6] : env.Undefined();
  if (!progress.IsUndefined() && !progress.IsNull() && !progress.IsFunction())
    throw Napi::TypeError::New(env, "onProgress must be a function");
  return start(env, "train", [&] {
    stop_.store(false);  // only once this call owns the model
    return new TrainJob(env, this, data, std::move(order), batch, first, last, every, progress);
  });
}

Napi::Value NativeModel::Evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "evaluate");
  auto data = arg_dataset(info, 0, *model_);
  if (!data->y()) throw Napi::Error::New(env, "evaluate: the dataset has no labels");
  int batch = (int)arg_int(info, 1, "batchSize", 1, 0x7fffffff);
  return start(env, "evaluate", [&] { return new EvaluateJob(env, this, data, batch); });
}

Napi::Value NativeModel::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "predict");
  auto data = arg_dataset(info, 0, *model_);
  int batch = (int)arg_int(info, 1, "batchSize", 1, 0x7fffffff);
  double out_bytes = 4.0 * data->size() * (double)shape_size(model_->output_shape());
  if (out_bytes > (double)model_->memory_limit() || out_bytes > 4.0 * 4294967295.0)
    throw Napi::RangeError::New(env, "predict: the outputs of " + std::to_string(data->size()) + " samples need " +
                                         std::to_string((long long)(out_bytes / (1 << 20))) +
                                         " MiB, more than the memory limit or one Float32Array allows; predict in parts");
  return start(env, "predict", [&] { return new PredictJob(env, this, data, batch); });
}

Napi::Value NativeModel::RequestStop(const Napi::CallbackInfo& info) {
  stop_.store(true);
  return info.Env().Undefined();
}

Napi::Value NativeModel::Info(const Napi::CallbackInfo& info) {
  if (!model_) throw Napi::Error::New(info.Env(), "info: the model was disposed");
  try {
    return info_object(info.Env(), model_->backend().info());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), failure("info", e));
  }
}

Napi::Value NativeModel::MemoryInUse(const Napi::CallbackInfo& info) {
  if (!model_) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), (double)model_->backend().bytes_in_use());
}

Napi::Value NativeModel::Dispose(const Napi::CallbackInfo& info) {
  if (busy_.load()) throw Napi::Error::New(info.Env(), "dispose: the model is busy; stop training first");
  model_.reset();
  return info.Env().Undefined();
}

// ---- NativeDataset ----------------------------------------------------------------

Napi::Function NativeDataset::constructor(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!data || data->dataset_constructor.IsEmpty()) throw Napi::Error::New(env, "xarxa: the addon is not initialised in this environment");
  return data->dataset_constructor.Value();
}

Napi::Function NativeDataset::Define(Napi::Env env) {
  auto fn = DefineClass(env, "NativeDataset",
                        {InstanceMethod("dispose", &NativeDataset::Dispose), InstanceMethod("size", &NativeDataset::Size)});
  auto* data = env.GetInstanceData<AddonData>();
  if (!data) {
    data = new AddonData();
    env.SetInstanceData(data);  // deleted when this environment (thread) ends
  }
  data->dataset_constructor = Napi::Persistent(fn);
  return fn;
}

NativeDataset::NativeDataset(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeDataset>(info) {}

Napi::Value NativeDataset::Dispose(const Napi::CallbackInfo& info) {
  data.reset();  // a running job holds its own reference
  return info.Env().Undefined();
}

Napi::Value NativeDataset::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), data ? data->size() : 0);
}

}  // namespace xarxa

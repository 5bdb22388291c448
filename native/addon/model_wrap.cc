#include "model_wrap.h"

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

std::unique_ptr<Layer> make_layer(Napi::Env env, Backend& backend, const Napi::Value& value, int index) {
  std::string where = "layers[" + std::to_string(index) + "]";
  if (!value.IsObject()) throw Napi::TypeError::New(env, where + " must be an object");
  auto spec = value.As<Napi::Object>();
  std::string type = to_string(env, spec.Get("type"), where + ".type");
  if (type == "Dense") {
    int units = (int)to_int(env, spec.Get("units"), where + ".units", 1, 1 << 24);
    return std::make_unique<Dense>(backend, units, parse_activation(env, spec, where), parse_bool(spec, "useBias", true));
  }
  if (type == "Conv2D") {
    int filters = (int)to_int(env, spec.Get("filters"), where + ".filters", 1, 1 << 20);
    auto k = pair_of(env, spec, "kernelSize", where);
    auto s = pair_of(env, spec, "strides", where);
    return std::make_unique<Conv2D>(backend, filters, k[0], k[1], s[0], s[1], parse_padding(env, spec, where),
                                    parse_channels_first(env, spec, where), parse_activation(env, spec, where),
                                    parse_bool(spec, "useBias", true));
  }
  if (type == "MaxPooling2D" || type == "AveragePooling2D") {
    auto k = pair_of(env, spec, "poolSize", where);
    auto s = pair_of(env, spec, "strides", where);
    return std::make_unique<Pooling2D>(backend, type == "MaxPooling2D" ? PoolKind::Max : PoolKind::Average, k[0], k[1],
                                       s[0], s[1], parse_padding(env, spec, where),
                                       parse_channels_first(env, spec, where));
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
  return o;
}

Napi::Object stats_object(Napi::Env env, const RunStats& s) {
  auto o = Napi::Object::New(env);
  o.Set("lossSum", s.loss_sum);
  o.Set("correct", s.correct);
  o.Set("samples", (double)s.samples);
  o.Set("batches", s.batches);
  o.Set("stopped", s.stopped);
  return o;
}

// ---- async workers ------------------------------------------------------------

// Base: runs `work` on a worker thread, resolves with `result(env)`, and
// turns any C++ exception into a rejected Promise with its message.
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, NativeModel* owner) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner) {
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
      SetError(e.what());
    } catch (...) {
      SetError("unknown native error");
    }
  }
  void OnOK() override {
    owner_->release();
    Napi::HandleScope scope(Env());
    deferred_.Resolve(result(Env()));
  }
  void OnError(const Napi::Error& e) override {
    owner_->release();
    deferred_.Reject(e.Value());
  }

  Napi::Promise::Deferred deferred_;
  NativeModel* owner_;
  Napi::ObjectReference owner_ref_;  // keeps the model alive while the job runs
  std::vector<Napi::ObjectReference> keep_;  // typed arrays the worker reads
};

class UploadJob : public Job {
 public:
  UploadJob(Napi::Env env, NativeModel* owner, Napi::Float32Array x, Napi::Value y, int n, long x_row, long y_row)
      : Job(env, owner), n_(n), x_row_(x_row), y_row_(y_row) {
    x_ = x.Data();
    keep_.push_back(Napi::Persistent(x.As<Napi::Object>()));
    if (y.IsTypedArray()) {
      y_ = y.As<Napi::Float32Array>().Data();
      keep_.push_back(Napi::Persistent(y.As<Napi::Object>()));
    }
  }

 protected:
  void work() override {
    data_ = std::make_shared<DeviceDataset>(owner_->model().backend_ptr(), x_, y_, n_, x_row_, y_row_);
  }
  Napi::Value result(Napi::Env env) override {
    auto obj = NativeDataset::constructor->New({});
    NativeDataset::Unwrap(obj)->data = data_;
    return obj;
  }

 private:
  const float* x_ = nullptr;
  const float* y_ = nullptr;
  int n_;
  long x_row_, y_row_;
  std::shared_ptr<DeviceDataset> data_;
};

struct Progress {
  int batch;
  RunStats stats;
};

// Training: progress flows back through a queue that is drained on the JS
// thread before the Promise resolves.
class TrainJob : public Napi::AsyncProgressQueueWorker<Progress> {
 public:
  TrainJob(Napi::Env env, NativeModel* owner, std::shared_ptr<DeviceDataset> data, Napi::Int32Array order,
           int batch_size, int first, int last, int every, Napi::Value progress)
      : Napi::AsyncProgressQueueWorker<Progress>(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner),
        data_(std::move(data)), batch_size_(batch_size), first_(first), last_(last), every_(every) {
    owner_ref_ = Napi::Persistent(owner->Value());
    order_ = order.Data();
    order_ref_ = Napi::Persistent(order.As<Napi::Object>());
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
      stats_ = owner_->model().train(*data_, order_, batch_size_, first_, last_, every_, fn, &owner_->stop_flag());
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown native error");
    }
  }
  void OnProgress(const Progress* p, size_t count) override {
    if (progress_.IsEmpty() || count == 0) return;
    Napi::HandleScope scope(Env());
    const Progress& last = p[count - 1];
    progress_.Call({Napi::Number::New(Env(), last.batch), stats_object(Env(), last.stats)});
  }
  void OnOK() override {
    owner_->release();
    deferred_.Resolve(stats_object(Env(), stats_));
  }
  void OnError(const Napi::Error& e) override {
    owner_->release();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  NativeModel* owner_;
  Napi::ObjectReference owner_ref_, order_ref_;
  Napi::FunctionReference progress_;
  std::shared_ptr<DeviceDataset> data_;
  const int32_t* order_ = nullptr;
  int batch_size_, first_, last_, every_;
  RunStats stats_;
};

class EvaluateJob : public Job {
 public:
  EvaluateJob(Napi::Env env, NativeModel* owner, std::shared_ptr<DeviceDataset> data, int batch_size)
      : Job(env, owner), data_(std::move(data)), batch_size_(batch_size) {}

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
      : Job(env, owner), data_(std::move(data)), batch_size_(batch_size) {}

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
  if (info.Length() <= i || !info[i].IsObject() || !info[i].As<Napi::Object>().InstanceOf(NativeDataset::constructor->Value()))
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

}  // namespace

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

// new NativeModel({ device, seed, inputShape, layers: [...] })
NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
  Napi::Env env = info.Env();
  auto spec = arg_object(info, 0, "model spec");
  std::string device = to_string(env, spec.Get("device"), "spec.device");
  uint64_t seed = (uint64_t)to_int(env, spec.Get("seed"), "spec.seed", 0, 0x1fffffffffffffLL);
  auto input = to_shape(env, spec.Get("inputShape"), "spec.inputShape");
  if (!spec.Get("layers").IsArray()) throw Napi::TypeError::New(env, "spec.layers must be an array");
  auto layers = spec.Get("layers").As<Napi::Array>();
  if (layers.Length() == 0) throw Napi::Error::New(env, "spec.layers is empty: add at least one layer");
  try {
    auto backend = create_backend(device);
    model_ = std::make_unique<Model>(backend, seed);
    for (uint32_t i = 0; i < layers.Length(); i++) model_->add(make_layer(env, *backend, layers.Get(i), (int)i));
    model_->build(input);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    model_.reset();
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
  if (!y.IsNull() && !y.IsUndefined()) arg_f32(info, 1, "y", (long long)n * y_row);
  acquire(env, "createDataset");
  auto* job = new UploadJob(env, this, x, y, n, x_row, y_row);
  auto promise = job->promise();
  job->Queue();
  return promise;
}

// train(dataset, order: Int32Array, batchSize, firstBatch, lastBatch, progressEvery, onProgress?) -> Promise<stats>
Napi::Value NativeModel::Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "train");
  auto data = arg_dataset(info, 0, *model_);
  auto order = arg_i32(info, 1, "order");
  if ((long long)order.ElementLength() != data->size())
    throw Napi::RangeError::New(env, "order must have one entry per sample (" + std::to_string(data->size()) + ")");
  for (size_t i = 0; i < order.ElementLength(); i++)
    if (order[i] < 0 || order[i] >= data->size()) throw Napi::RangeError::New(env, "order has an index out of range");
  int batch = (int)arg_int(info, 2, "batchSize", 1, 0x7fffffff);
  int total = data->size() == 0 ? 0 : (data->size() + batch - 1) / batch;
  int first = (int)arg_int(info, 3, "firstBatch", 0, total);
  int last = (int)arg_int(info, 4, "lastBatch", first, total);
  int every = (int)arg_int(info, 5, "progressEvery", 0, 0x7fffffff);
  Napi::Value progress = info.Length() > 6 ? info[6] : env.Undefined();
  if (!progress.IsUndefined() && !progress.IsNull() && !progress.IsFunction())
    throw Napi::TypeError::New(env, "onProgress must be a function");
  acquire(env, "train");
  stop_.store(false);
  auto* job = new TrainJob(env, this, data, order, batch, first, last, every, progress);
  auto promise = job->promise();
  job->Queue();
  return promise;
}

Napi::Value NativeModel::Evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "evaluate");
  auto data = arg_dataset(info, 0, *model_);
  if (!data->y()) throw Napi::Error::New(env, "evaluate: the dataset has no labels");
  int batch = (int)arg_int(info, 1, "batchSize", 1, 0x7fffffff);
  acquire(env, "evaluate");
  auto* job = new EvaluateJob(env, this, data, batch);
  auto promise = job->promise();
  job->Queue();
  return promise;
}

Napi::Value NativeModel::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_idle(env, "predict");
  auto data = arg_dataset(info, 0, *model_);
  int batch = (int)arg_int(info, 1, "batchSize", 1, 0x7fffffff);
  acquire(env, "predict");
  auto* job = new PredictJob(env, this, data, batch);
  auto promise = job->promise();
  job->Queue();
  return promise;
}

Napi::Value NativeModel::RequestStop(const Napi::CallbackInfo& info) {
  stop_.store(true);
  return info.Env().Undefined();
}

Napi::Value NativeModel::Info(const Napi::CallbackInfo& info) {
  if (!model_) throw Napi::Error::New(info.Env(), "info: the model was disposed");
  return info_object(info.Env(), model_->backend().info());
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

Napi::FunctionReference* NativeDataset::constructor = nullptr;

Napi::Function NativeDataset::Define(Napi::Env env) {
  auto fn = DefineClass(env, "NativeDataset",
                        {InstanceMethod("dispose", &NativeDataset::Dispose), InstanceMethod("size", &NativeDataset::Size)});
  constructor = new Napi::FunctionReference(Napi::Persistent(fn));
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

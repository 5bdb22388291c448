// JS classes over the core: NativeModel (a Sequential model on one backend)
// and NativeDataset (a training/evaluation set copied to that backend).
// Long work (upload, training, evaluation, prediction) runs on a worker
// thread and resolves a Promise; the JS thread stays free.
#pragma once
#include "napi_config.h"

#include <atomic>
#include <memory>

#include "model/model.h"

namespace xarxa {

// checkModel(spec): a model spec's layers checked for fit, shapes only.
Napi::Value CheckModel(const Napi::CallbackInfo& info);

// A DeviceInfo as the JS object lib/native.ts describes.
Napi::Object info_object(Napi::Env env, const DeviceInfo& d);

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NativeModel(const Napi::CallbackInfo& info);
  ~NativeModel() override;

  Model& model();
  // Marks the model busy for an async job; throws if it already is.
  void acquire(Napi::Env env, const char* what);
  void release() { busy_.store(false); }
  // Marks the model busy, creates a job with make() and queues it; if either
  // fails the model is released (it must not stay busy) and the error rethrown.
  template <typename MakeJob>
  Napi::Value start(Napi::Env env, const char* what, MakeJob make) {
    acquire(env, what);
    try {
      auto* job = make();
      auto promise = job->promise();
      job->Queue();
      return promise;
    } catch (...) {
      release();
      throw;
    }
  }
  std::atomic<bool>& stop_flag() { return stop_; }

 private:
  Napi::Value Compile(const Napi::CallbackInfo& info);
  Napi::Value SetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value Layers(const Napi::CallbackInfo& info);
  Napi::Value GetWeights(const Napi::CallbackInfo& info);
  Napi::Value SetWeight(const Napi::CallbackInfo& info);
  Napi::Value CreateDataset(const Napi::CallbackInfo& info);
  Napi::Value Train(const Napi::CallbackInfo& info);
  Napi::Value Evaluate(const Napi::CallbackInfo& info);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value RequestStop(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value MemoryInUse(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  void check_idle(Napi::Env env, const char* what);

  std::unique_ptr<Model> model_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> stop_{false};
};

// Per-environment state of the addon (napi instance data).
struct AddonData {
  Napi::FunctionReference dataset_constructor;
};

class NativeDataset : public Napi::ObjectWrap<NativeDataset> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The NativeDataset constructor of this environment: the main thread and
  // every worker thread that loads the addon has its own (kept in the
  // environment's instance data, never in a static, which would cross threads).
  static Napi::Function constructor(Napi::Env env);
  explicit NativeDataset(const Napi::CallbackInfo& info);

  std::shared_ptr<DeviceDataset> data;
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
};

}  // namespace xarxa

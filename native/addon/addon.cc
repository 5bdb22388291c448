// The Node-API module: exports NativeModel, NativeDataset and a few queries
// about devices. Loaded by lib/native.ts through node-gyp-build.
#include "napi_config.h"

#include "args.h"
#include "backends.h"
#include "cpu/gemm.h"
#include "model_wrap.h"

namespace xarxa {
namespace {

// cudaStatus() -> { available, deviceCount, error, library }
Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string why;
  int count = cuda_device_count(why);
  auto o = Napi::Object::New(env);
  o.Set("available", count > 0);
  o.Set("deviceCount", count);
  o.Set("error", count > 0 ? std::string() : why);
  o.Set("library", cuda_library_path());
  return o;
}

// deviceInfo(device) -> DeviceInfo of a fresh backend on that device.
Napi::Value DeviceInfoOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw Napi::TypeError::New(env, "device is missing");
  std::string device = to_string(env, info[0], "device");
  try {
    auto backend = create_backend(device);
    return info_object(env, backend->info());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("deviceInfo: ") + e.what());
  }
}

}  // namespace

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", NativeModel::Define(env));
  exports.Set("NativeDataset", NativeDataset::Define(env));
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus));
  exports.Set("deviceInfo", Napi::Function::New(env, DeviceInfoOf));
  exports.Set("checkModel", Napi::Function::New(env, CheckModel));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace xarxa

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return xarxa::InitModule(env, exports); }
NODE_API_MODULE(xarxa_addon, Init)

#include "backends.h"

#include <dlfcn.h>

#include <cstdlib>

#include <mutex>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/thread_pool.h"
#include "cuda/plugin.h"

namespace xarxa {
namespace {

struct CudaPlugin {
  void* handle = nullptr;
  std::string error;  // why it could not be opened
  xarxa_cuda_device_count_fn device_count = nullptr;
  xarxa_cuda_create_fn create = nullptr;
};

// The folder this addon was loaded from: libxarxa_cuda.so sits beside it.
std::string addon_dir() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&addon_dir), &info) && info.dli_fname) {
    std::string path = info.dli_fname;
    auto slash = path.rfind('/');
    if (slash != std::string::npos) return path.substr(0, slash);
  }
  return ".";
}

CudaPlugin& plugin() {
  static CudaPlugin p;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string path = cuda_library_path();
    p.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!p.handle) {
      const char* e = dlerror();
      p.error = "the CUDA backend library could not be loaded (" + std::string(e ? e : path) +
                "); this build of xarxa may be CPU-only, or the CUDA runtime, cuBLAS or cuDNN libraries are missing";
      return;
    }
    auto abi = reinterpret_cast<xarxa_cuda_abi_fn>(dlsym(p.handle, "xarxa_cuda_abi"));
    p.device_count = reinterpret_cast<xarxa_cuda_device_count_fn>(dlsym(p.handle, "xarxa_cuda_device_count"));
    p.create = reinterpret_cast<xarxa_cuda_create_fn>(dlsym(p.handle, "xarxa_cuda_create"));
    if (!abi || !p.device_count || !p.create || abi() != XARXA_CUDA_PLUGIN_ABI) {
      p.error = "the CUDA backend library at " + path + " does not match this addon (rebuild xarxa)";
      p.device_count = nullptr;
      p.create = nullptr;
    }
  });
  return p;
}

}  // namespace

std::string cuda_library_path() {
  if (const char* env = std::getenv("XARXA_CUDA_LIBRARY")) return env;
  return addon_dir() + "/libxarxa_cuda.so";
}

int cuda_device_count(std::string& why) {
  CudaPlugin& p = plugin();
  if (!p.device_count) {
    why = p.error;
    return 0;
  }
  char message[512] = {0};
  int n = p.device_count(message, sizeof(message));
  if (n < 0) {
    why = message;
    return 0;
  }
  if (n == 0) why = "no CUDA device found";
  return n;
}

Backend& shapes_only_backend() {
  static CpuBackend backend(1);  // one thread: no worker threads are started
  return backend;
}

std::shared_ptr<Backend> create_backend(const std::string& name) {
  if (name == "cpu") return std::make_shared<CpuBackend>(default_thread_count());
  if (name.rfind("cuda", 0) == 0) {
    int ordinal = 0;
    if (name.size() > 4) {
      check(name[4] == ':' && name.size() > 5 && name.size() <= 9 &&
                name.find_first_not_of("0123456789", 5) == std::string::npos,
            "unknown device '" + name + "' (expected 'cpu', 'cuda' or 'cuda:N')");
      ordinal = std::stoi(name.substr(5));
    }
    std::string why;
    int count = cuda_device_count(why);
    check(count > 0, "CUDA was requested but is not usable: " + why);
    check(ordinal < count, "CUDA device " + std::to_string(ordinal) + " does not exist (" + std::to_string(count) +
                               " device(s) found)");
    char message[512] = {0};
    Backend* b = plugin().create(ordinal, message, sizeof(message));
    check(b != nullptr, std::string("CUDA backend could not start on device ") + std::to_string(ordinal) + ": " + message);
    return std::shared_ptr<Backend>(b);
  }
  throw Error("unknown device '" + name + "' (expected 'cpu', 'cuda' or 'cuda:N')");
}

}  // namespace xarxa

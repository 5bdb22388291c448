// Creating backends by name: "cpu" or "cuda:N". The CUDA backend lives in
// libxarxa_cuda.so next to the addon and is opened with dlopen the first
// time CUDA is asked for; on a machine without it (or without a driver)
// the request fails with a message naming what is missing.
#pragma once
#include <memory>
#include <string>

#include "core/backend.h"

namespace xarxa {

// Every model gets its own backend instance (own threads, scratch, stream),
// so two models may train at once without sharing mutable state.
std::shared_ptr<Backend> create_backend(const std::string& name);

// A backend for layers that only check shapes (Layer::set_shapes_only): they
// never ask it for memory or work. Shared; made on first use.
Backend& shapes_only_backend();

// Number of usable CUDA devices; `why` explains a zero.
int cuda_device_count(std::string& why);

// Where the addon looks for the CUDA library (for messages and `info`).
std::string cuda_library_path();

}  // namespace xarxa

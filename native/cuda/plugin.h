// The boundary between the addon and the CUDA backend, which lives in its own
// shared library (libxarxa_cuda.so) opened with dlopen on demand. The addon
// never links CUDA, cuBLAS or cuDNN itself, so it loads and trains on the CPU
// on machines with no NVIDIA driver or libraries; asking for CUDA there gives
// an error naming what is missing instead of a crash at require().
#pragma once
#include "../core/backend.h"

extern "C" {

// ABI version of this boundary; the addon refuses a library built for another.
#define XARXA_CUDA_PLUGIN_ABI 1

typedef int (*xarxa_cuda_abi_fn)(void);
// Number of usable CUDA devices, or -1 with a message (driver missing, ...).
typedef int (*xarxa_cuda_device_count_fn)(char* error, int error_len);
// A backend on device `ordinal`, or null with a message.
typedef xarxa::Backend* (*xarxa_cuda_create_fn)(int ordinal, char* error, int error_len);

int xarxa_cuda_abi(void);
int xarxa_cuda_device_count(char* error, int error_len);
xarxa::Backend* xarxa_cuda_create(int ordinal, char* error, int error_len);

}

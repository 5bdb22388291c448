// The boundary between the addon and the CUDA backend, which lives in its own
// shared library (libxarxa_cuda.so) opened with dlopen on demand. The addon
// never links CUDA, cuBLAS or cuDNN itself, so it loads and trains on the CPU
// on machines with no NVIDIA driver or libraries; asking for CUDA there gives
// an error naming what is missing instead of a crash at require().
#pragma once
#include "../core/backend.h"

extern "C" {

// ABI version of this boundary; the addon refuses a library built for another.
// 2: Backend gained request_stats/poll_stats (asynchronous progress).
// 3: Backend gained note_non_finite; stats buffers hold kStatCount = 3 doubles.
// 4: Backend gained bias_activation_forward and sgd_update_all.
// 5: Backend gained record (CUDA graphs); DeviceInfo gained step_graphs.
// 6: Backend gained gather_batch, activation_bias_backward and loss_and_count_correct.
#define XARXA_CUDA_PLUGIN_ABI 6

typedef int (*xarxa_cuda_abi_fn)(void);
// Number of usable CUDA devices, or -1 with a message (driver missing, ...).
typedef int (*xarxa_cuda_device_count_fn)(char* error, int error_len);
// A backend on device `ordinal`, or null with a message.
typedef xarxa::Backend* (*xarxa_cuda_create_fn)(int ordinal, char* error, int error_len);

int xarxa_cuda_abi(void);
int xarxa_cuda_device_count(char* error, int error_len);
xarxa::Backend* xarxa_cuda_create(int ordinal, char* error, int error_len);

// Optional extras (look them up with dlsym; a library without them is still of this ABI).
// Library versions as major*1000+minor*10 (CUDA runtime, driver: 13000 = 13.0; the driver's
// is 0 when no driver is installed) and major*10000+minor*100+patch (cuBLAS 130002 =
// 13.0.2, cuDNN 92400 = 9.24.0). They need no GPU. Any pointer may be null. Returns 0.
typedef int (*xarxa_cuda_versions_fn)(int* runtime, int* driver, int* cublas, int* cudnn);
int xarxa_cuda_versions(int* runtime, int* driver, int* cublas, int* cudnn);
// Gives a backend's cached free device memory back to the driver (waits for its
// stream); `backend` must come from xarxa_cuda_create. Returns the bytes released.
typedef size_t (*xarxa_cuda_release_cache_fn)(xarxa::Backend* backend);
size_t xarxa_cuda_release_cache(xarxa::Backend* backend);

}

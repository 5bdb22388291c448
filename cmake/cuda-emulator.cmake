# The CUDA emulator (native/cuda/emulator): the CUDA backend's own sources,
# kernels included, built as host C++ against the real CUDA and cuDNN headers
# and linked with CPU stand-ins for the CUDA runtime, cuBLAS and cuDNN. The
# result, libxarxa_cuda_emu.so, is a test double for machines without a GPU
# (scripts/cuda-emulator-check.sh), never a way to train. Off unless
# XARXA_CUDA_EMULATOR=ON; needs only the headers (scripts/install-cuda-wheels.sh).
option(XARXA_CUDA_EMULATOR "Build libxarxa_cuda_emu.so, the CUDA backend on a CPU emulation of CUDA (tests only)" OFF)
if(NOT XARXA_CUDA_EMULATOR)
  return()
endif()

set(_xe_wheels "$ENV{XARXA_CUDA_WHEELS}")
if(NOT _xe_wheels)
  set(_xe_wheels "$ENV{HOME}/.cache/xarxa/cuda-wheels")
endif()
find_path(XARXA_EMU_CUDA_INCLUDE_DIR cuda_runtime.h
  HINTS ENV CUDA_HOME ENV CUDA_PATH "${_xe_wheels}/cuda" "${_xe_wheels}/site/nvidia/cu13" /usr/local/cuda
  PATH_SUFFIXES include targets/x86_64-linux/include)
find_path(XARXA_EMU_CUBLAS_INCLUDE_DIR cublas_v2.h
  HINTS ENV CUBLAS_INCLUDE_DIR ENV CUDA_HOME "${_xe_wheels}/cuda" "${_xe_wheels}/site/nvidia/cu13" /usr/local/cuda
  PATH_SUFFIXES include targets/x86_64-linux/include)
find_path(XARXA_EMU_CUDNN_INCLUDE_DIR cudnn.h
  HINTS ENV CUDNN_INCLUDE_DIR ENV CUDNN_ROOT "${_xe_wheels}/cudnn" "${_xe_wheels}/site/nvidia/cudnn" /usr
  PATH_SUFFIXES include)
if(NOT XARXA_EMU_CUDA_INCLUDE_DIR OR NOT XARXA_EMU_CUBLAS_INCLUDE_DIR OR NOT XARXA_EMU_CUDNN_INCLUDE_DIR)
  message(FATAL_ERROR "xarxa: XARXA_CUDA_EMULATOR=ON needs the CUDA, cuBLAS and cuDNN headers "
                      "(run scripts/install-cuda-wheels.sh): cuda_runtime.h ${XARXA_EMU_CUDA_INCLUDE_DIR}, "
                      "cublas_v2.h ${XARXA_EMU_CUBLAS_INCLUDE_DIR}, cudnn.h ${XARXA_EMU_CUDNN_INCLUDE_DIR}")
endif()

# Each kernel file as C++: `kernel<<<grid, block, shmem, stream>>>(args)` becomes
# XARXA_EMU_LAUNCH(kernel, grid, block, shmem, stream)(args) (emulator/device.h).
set(_xe_generated)
file(GLOB _xe_cu CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/native/cuda/*.cu")
foreach(_cu IN LISTS _xe_cu)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_cu}")
  file(READ "${_cu}" _text)
  # (The arguments may hold a '>' or '>>', as in static_cast<size_t>(n), never '>>>'.)
  string(REGEX REPLACE "([A-Za-z_][A-Za-z0-9_]*)<<<((>?>?[^>])*)>>>\\(" "XARXA_EMU_LAUNCH(\\1, \\2)(" _text "${_text}")
  if(_text MATCHES "<<<")
    message(FATAL_ERROR "xarxa: the CUDA emulator cannot rewrite a kernel launch in ${_cu}")
  endif()
  get_filename_component(_name "${_cu}" NAME)
  set(_out "${CMAKE_BINARY_DIR}/cuda-emulator/${_name}.cc")
  file(WRITE "${_out}.tmp" "#include \"cuda/emulator/device.h\"\n#line 1 \"${_cu}\"\n${_text}")
  configure_file("${_out}.tmp" "${_out}" COPYONLY)  # touches it only when it changed
  list(APPEND _xe_generated "${_out}")
endforeach()

file(GLOB _xe_sources CONFIGURE_DEPENDS native/cuda/*.cc native/cuda/emulator/*.cc)
add_library(xarxa_cuda_emu SHARED ${_xe_sources} ${_xe_generated})
target_include_directories(xarxa_cuda_emu PRIVATE native ${XARXA_EMU_CUDA_INCLUDE_DIR} ${XARXA_EMU_CUBLAS_INCLUDE_DIR}
                           ${XARXA_EMU_CUDNN_INCLUDE_DIR})
target_compile_definitions(xarxa_cuda_emu PRIVATE "XARXA_CUDA_ARCHS=\"none (the CPU emulator)\"")
# -ffp-contract=off: no fused multiply-adds, as the real build's --fmad=false.
target_compile_options(xarxa_cuda_emu PRIVATE -O2 -ffp-contract=off -Wall -Wextra -Wno-unused-parameter)
target_link_libraries(xarxa_cuda_emu PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
target_link_options(xarxa_cuda_emu PRIVATE
  "LINKER:--no-undefined"  # every CUDA, cuBLAS and cuDNN call the backend makes is emulated
  "LINKER:--version-script=${CMAKE_CURRENT_SOURCE_DIR}/native/cuda/exports.map")
if(XARXA_SANITIZE)
  target_compile_options(xarxa_cuda_emu PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(xarxa_cuda_emu PRIVATE -fsanitize=address,undefined)
endif()

if(NOT TARGET xarxa_cuda_selftest)
  add_executable(xarxa_cuda_selftest EXCLUDE_FROM_ALL native/cuda/selftest/selftest.cc)
  target_link_libraries(xarxa_cuda_selftest PRIVATE xarxa_core ${CMAKE_DL_LIBS})
  target_compile_options(xarxa_cuda_selftest PRIVATE -O2 -Wall -Wextra -Wno-unused-parameter)
  if(XARXA_SANITIZE)
    target_compile_options(xarxa_cuda_selftest PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(xarxa_cuda_selftest PRIVATE -fsanitize=address,undefined)
  endif()
endif()
message(STATUS "xarxa: CUDA emulator ON: libxarxa_cuda_emu.so (tests only) with headers ${XARXA_EMU_CUDA_INCLUDE_DIR}, "
               "${XARXA_EMU_CUDNN_INCLUDE_DIR}")

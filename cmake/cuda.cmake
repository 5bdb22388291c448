# The CUDA backend: libxarxa_cuda.so, a shared library the addon opens with dlopen
# (native/cuda/plugin.h). It links the CUDA runtime statically plus cuBLAS and cuDNN,
# never Node or the addon, and lands next to xarxa.node.
#
# WITH_CUDA: AUTO (default) builds it when nvcc, cuBLAS and cuDNN are all found and
# says what is missing otherwise; ON makes anything missing an error; OFF skips it.
#
# Where things are looked for (first hit wins):
#   nvcc   CMAKE_CUDA_COMPILER, $CUDACXX, CUDAToolkit_ROOT / $CUDA_HOME / $CUDA_PATH /
#          $CUDA_ROOT, /usr/local/cuda, /opt/cuda, the pip wheels of
#          scripts/install-cuda-wheels.sh (${XARXA_CUDA_WHEELS:-~/.cache/xarxa/cuda-wheels}),
#          PATH
#   cuBLAS CUBLAS_ROOT / $CUBLAS_ROOT, $CUBLAS_INCLUDE_DIR, $CUBLAS_LIBRARY_DIR (as
#          .device/remote-env.sh exports them), the toolkit found above, Python
#          site-packages/nvidia/cu13 (pip wheels), /usr
#   cuDNN  CUDNN_ROOT / $CUDNN_ROOT, $CUDNN_INCLUDE_DIR, $CUDNN_LIBRARY_DIR, the toolkit,
#          site-packages/nvidia/cudnn, /usr
# The wheels ship only versioned libraries (libcublas.so.13, libcudnn.so.9): those names
# are accepted too.
#
# Sets XARXA_CUDA_ENABLED (ON/OFF) for the including CMakeLists.

set(XARXA_CUDA_ENABLED OFF)

string(TOUPPER "${WITH_CUDA}" _xc_mode)
if(_xc_mode STREQUAL "" OR _xc_mode STREQUAL "AUTO")
  set(_xc_mode AUTO)
elseif(_xc_mode MATCHES "^(ON|1|TRUE|YES|Y)$")
  set(_xc_mode ON)
elseif(_xc_mode MATCHES "^(OFF|0|FALSE|NO|N)$")
  set(_xc_mode OFF)
else()
  message(FATAL_ERROR "xarxa: WITH_CUDA must be ON, OFF or AUTO (got '${WITH_CUDA}')")
endif()

if(_xc_mode STREQUAL "OFF")
  message(STATUS "xarxa: CPU-only build: the CUDA backend is disabled (WITH_CUDA=OFF)")
  return()
endif()

# ---- candidate roots ---------------------------------------------------------------
set(_xc_wheels "$ENV{XARXA_CUDA_WHEELS}")
if(NOT _xc_wheels)
  set(_xc_wheels "$ENV{HOME}/.cache/xarxa/cuda-wheels")
endif()

set(_xc_toolkit_roots)
foreach(_v CUDAToolkit_ROOT CUDA_HOME CUDA_PATH CUDA_ROOT)
  if(${_v})
    list(APPEND _xc_toolkit_roots "${${_v}}")
  endif()
  if(DEFINED ENV{${_v}} AND NOT "$ENV{${_v}}" STREQUAL "")
    list(APPEND _xc_toolkit_roots "$ENV{${_v}}")
  endif()
endforeach()
list(APPEND _xc_toolkit_roots /usr/local/cuda /opt/cuda "${_xc_wheels}/cuda")

# NVIDIA's pip wheels in Python environments (nvidia/cu13, nvidia/cudnn, ...).
set(_xc_site_nvidia)
foreach(_prefix "$ENV{VIRTUAL_ENV}" /opt/torch/.venv /usr /usr/local "$ENV{HOME}/.local")
  if(_prefix)
    file(GLOB _xc_found LIST_DIRECTORIES true "${_prefix}/lib/python3*/site-packages/nvidia"
         "${_prefix}/lib64/python3*/site-packages/nvidia" "${_prefix}/lib/python3*/dist-packages/nvidia")
    list(APPEND _xc_site_nvidia ${_xc_found})
  endif()
endforeach()
foreach(_wheel_site "${_xc_wheels}/site/nvidia")
  if(IS_DIRECTORY "${_wheel_site}")
    list(APPEND _xc_site_nvidia "${_wheel_site}")
  endif()
endforeach()
set(_xc_site_roots)
foreach(_d IN LISTS _xc_site_nvidia)
  foreach(_sub cu13 cu12 cublas cudnn)
    if(IS_DIRECTORY "${_d}/${_sub}")
      list(APPEND _xc_site_roots "${_d}/${_sub}")
    endif()
  endforeach()
endforeach()

set(_xc_missing)

# ---- nvcc ------------------------------------------------------------------------------
if(DEFINED CMAKE_CUDA_COMPILER AND NOT CMAKE_CUDA_COMPILER)
  unset(CMAKE_CUDA_COMPILER CACHE)  # an earlier NOTFOUND: look again
endif()
set(_xc_nvcc "")
if(CMAKE_CUDA_COMPILER)
  set(_xc_nvcc "${CMAKE_CUDA_COMPILER}")
elseif(DEFINED ENV{CUDACXX} AND NOT "$ENV{CUDACXX}" STREQUAL "")
  set(_xc_nvcc "$ENV{CUDACXX}")
else()
  find_program(XARXA_NVCC nvcc HINTS ${_xc_toolkit_roots} PATH_SUFFIXES bin
               DOC "nvcc for the CUDA backend")
  if(XARXA_NVCC)
    set(_xc_nvcc "${XARXA_NVCC}")
  endif()
endif()
set(_xc_nvcc_version "")
if(_xc_nvcc)
  execute_process(COMMAND "${_xc_nvcc}" --version OUTPUT_VARIABLE _xc_out ERROR_QUIET RESULT_VARIABLE _xc_rc)
  if(_xc_rc EQUAL 0 AND _xc_out MATCHES "release ([0-9]+\\.[0-9]+), V([0-9.]+)")
    set(_xc_nvcc_version "${CMAKE_MATCH_2}")
  else()
    list(APPEND _xc_missing "nvcc (${_xc_nvcc} does not run)")
    set(_xc_nvcc "")
  endif()
else()
  list(APPEND _xc_missing "nvcc (set CUDACXX or CUDA_HOME, or run scripts/install-cuda-wheels.sh)")
endif()

# The toolkit that nvcc belongs to: <root>/bin/nvcc.
set(_xc_nvcc_root "")
if(_xc_nvcc)
  get_filename_component(_xc_nvcc_real "${_xc_nvcc}" REALPATH)
  get_filename_component(_xc_nvcc_root "${_xc_nvcc_real}" DIRECTORY)
  get_filename_component(_xc_nvcc_root "${_xc_nvcc_root}" DIRECTORY)
  get_filename_component(_xc_nvcc_link_root "${_xc_nvcc}" DIRECTORY)
  get_filename_component(_xc_nvcc_link_root "${_xc_nvcc_link_root}" DIRECTORY)
  list(PREPEND _xc_toolkit_roots "${_xc_nvcc_link_root}" "${_xc_nvcc_root}")
  list(REMOVE_DUPLICATES _xc_toolkit_roots)
endif()

set(_xc_inc_suffixes include targets/x86_64-linux/include targets/sbsa-linux/include)
set(_xc_lib_suffixes lib64 lib targets/x86_64-linux/lib targets/sbsa-linux/lib lib/x86_64-linux-gnu)

# ---- cuBLAS -------------------------------------------------------------------------------
find_path(XARXA_CUBLAS_INCLUDE_DIR cublas_v2.h
  HINTS ${CUBLAS_ROOT} ENV CUBLAS_ROOT ENV CUBLAS_INCLUDE_DIR ${_xc_toolkit_roots} ${_xc_site_roots}
  PATH_SUFFIXES ${_xc_inc_suffixes}
  DOC "folder of cublas_v2.h")
find_library(XARXA_CUBLAS_LIBRARY NAMES cublas libcublas.so.13
  HINTS ${CUBLAS_ROOT} ENV CUBLAS_ROOT ENV CUBLAS_LIBRARY_DIR ${_xc_toolkit_roots} ${_xc_site_roots}
  PATH_SUFFIXES ${_xc_lib_suffixes}
  DOC "libcublas")
set(_xc_cublas_version "")
if(XARXA_CUBLAS_INCLUDE_DIR AND EXISTS "${XARXA_CUBLAS_INCLUDE_DIR}/cublas_api.h")
  file(STRINGS "${XARXA_CUBLAS_INCLUDE_DIR}/cublas_api.h" _xc_lines REGEX "#define CUBLAS_VER_(MAJOR|MINOR|PATCH) ")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX MATCH "CUBLAS_VER_${_part} +([0-9]+)" _m "${_xc_lines}")
    set(_xc_cublas_${_part} "${CMAKE_MATCH_1}")
  endforeach()
  set(_xc_cublas_version "${_xc_cublas_MAJOR}.${_xc_cublas_MINOR}.${_xc_cublas_PATCH}")
endif()
string(REGEX MATCH "^[0-9]+" _xc_nvcc_major "${_xc_nvcc_version}")
if(NOT XARXA_CUBLAS_INCLUDE_DIR)
  list(APPEND _xc_missing "cuBLAS header cublas_v2.h (set CUBLAS_INCLUDE_DIR or CUBLAS_ROOT)")
elseif(_xc_nvcc_major AND _xc_cublas_MAJOR AND NOT _xc_cublas_MAJOR EQUAL _xc_nvcc_major)
  list(APPEND _xc_missing "a cuBLAS for CUDA ${_xc_nvcc_major} (found cuBLAS ${_xc_cublas_version} in ${XARXA_CUBLAS_INCLUDE_DIR})")
endif()
if(NOT XARXA_CUBLAS_LIBRARY)
  list(APPEND _xc_missing "cuBLAS library libcublas.so (set CUBLAS_LIBRARY_DIR or CUBLAS_ROOT)")
endif()

# ---- cuDNN --------------------------------------------------------------------------------
find_path(XARXA_CUDNN_INCLUDE_DIR cudnn.h
  HINTS ${CUDNN_ROOT} ENV CUDNN_ROOT ENV CUDNN_INCLUDE_DIR ${_xc_toolkit_roots} ${_xc_site_roots}
        "${_xc_wheels}/cudnn"
  PATH_SUFFIXES ${_xc_inc_suffixes}
  DOC "folder of cudnn.h")
find_library(XARXA_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
  HINTS ${CUDNN_ROOT} ENV CUDNN_ROOT ENV CUDNN_LIBRARY_DIR ${_xc_toolkit_roots} ${_xc_site_roots}
        "${_xc_wheels}/cudnn"
  PATH_SUFFIXES ${_xc_lib_suffixes}
  DOC "libcudnn")
set(_xc_cudnn_version "")
if(XARXA_CUDNN_INCLUDE_DIR)
  foreach(_h cudnn_version.h cudnn.h)
    if(NOT _xc_cudnn_version AND EXISTS "${XARXA_CUDNN_INCLUDE_DIR}/${_h}")
      file(STRINGS "${XARXA_CUDNN_INCLUDE_DIR}/${_h}" _xc_lines REGEX "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
      foreach(_part MAJOR MINOR PATCHLEVEL)
        string(REGEX MATCH "CUDNN_${_part} +([0-9]+)" _m "${_xc_lines}")
        set(_xc_cudnn_${_part} "${CMAKE_MATCH_1}")
      endforeach()
      if(_xc_cudnn_MAJOR)
        set(_xc_cudnn_version "${_xc_cudnn_MAJOR}.${_xc_cudnn_MINOR}.${_xc_cudnn_PATCHLEVEL}")
      endif()
    endif()
  endforeach()
endif()
if(NOT XARXA_CUDNN_INCLUDE_DIR)
  list(APPEND _xc_missing "cuDNN header cudnn.h (set CUDNN_INCLUDE_DIR or CUDNN_ROOT)")
elseif(_xc_cudnn_version AND _xc_cudnn_MAJOR LESS 9)
  list(APPEND _xc_missing "cuDNN 9 or newer (found ${_xc_cudnn_version} in ${XARXA_CUDNN_INCLUDE_DIR})")
endif()
if(NOT XARXA_CUDNN_LIBRARY)
  list(APPEND _xc_missing "cuDNN library libcudnn.so (set CUDNN_LIBRARY_DIR or CUDNN_ROOT)")
endif()

function(_xarxa_cuda_found_text out label version include library)
  if(include AND library)
    set(${out} "${label} ${version} (${library}, headers ${include})" PARENT_SCOPE)
  else()
    set(${out} "${label} not found" PARENT_SCOPE)
  endif()
endfunction()
if(_xc_nvcc)
  set(_xc_nvcc_text "nvcc ${_xc_nvcc_version} (${_xc_nvcc})")
else()
  set(_xc_nvcc_text "nvcc not found")
endif()
_xarxa_cuda_found_text(_xc_cublas_text cuBLAS "${_xc_cublas_version}" "${XARXA_CUBLAS_INCLUDE_DIR}" "${XARXA_CUBLAS_LIBRARY}")
_xarxa_cuda_found_text(_xc_cudnn_text cuDNN "${_xc_cudnn_version}" "${XARXA_CUDNN_INCLUDE_DIR}" "${XARXA_CUDNN_LIBRARY}")
message(STATUS "xarxa: CUDA search (WITH_CUDA=${_xc_mode}): ${_xc_nvcc_text}; ${_xc_cublas_text}; ${_xc_cudnn_text}")

macro(_xarxa_cuda_give_up)
  list(JOIN _xc_missing "; " _xc_missing_text)
  if(_xc_mode STREQUAL "ON")
    message(FATAL_ERROR "xarxa: WITH_CUDA=ON but the CUDA backend cannot be built: missing ${_xc_missing_text}")
  endif()
  message(STATUS "xarxa: CPU-only build: missing ${_xc_missing_text} (WITH_CUDA=ON makes this an error)")
  return()
endmacro()

if(_xc_missing)
  _xarxa_cuda_give_up()
endif()

# ---- can nvcc build and link with this host compiler? ------------------------------------
if(NOT CMAKE_CUDA_HOST_COMPILER AND NOT DEFINED ENV{CUDAHOSTCXX})
  set(ENV{CUDAHOSTCXX} "${CMAKE_CXX_COMPILER}")
endif()
if(NOT CMAKE_CUDA_COMPILER)
  include(CheckLanguage)
  set(ENV{CUDACXX} "${_xc_nvcc}")
  check_language(CUDA)  # a throwaway project; caches CMAKE_CUDA_COMPILER or NOTFOUND
  if(NOT CMAKE_CUDA_COMPILER)
    list(APPEND _xc_missing "a working nvcc: ${_xc_nvcc} failed CMake's CUDA compiler check (see ${CMAKE_BINARY_DIR}/CMakeFiles/CheckCUDA)")
    _xarxa_cuda_give_up()
  endif()
endif()

# ---- build it ----------------------------------------------------------------------------
# Architectures are fixed when a target is created, so before enable_language/add_library.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
  # Turing (T4), Ampere and Hopper machine code, plus compute_90 PTX the driver can JIT for
  # newer GPUs. (PTX only compiles forward: without 75-real a T4 could run none of our kernels.)
  set(CMAKE_CUDA_ARCHITECTURES "75-real;80-real;90-real;90-virtual")
endif()
enable_language(CUDA)
find_package(CUDAToolkit QUIET)

set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

file(GLOB XARXA_CUDA_SOURCES CONFIGURE_DEPENDS native/cuda/*.cu native/cuda/*.cc)
add_library(xarxa_cuda SHARED ${XARXA_CUDA_SOURCES})
target_include_directories(xarxa_cuda PRIVATE native ${XARXA_CUBLAS_INCLUDE_DIR} ${XARXA_CUDNN_INCLUDE_DIR})
# For the "no GPU code for this device" message (cuda_backend.cc).
string(REPLACE ";" " " _xc_arch_list "${CMAKE_CUDA_ARCHITECTURES}")
target_compile_definitions(xarxa_cuda PRIVATE "XARXA_CUDA_ARCHS=\"${_xc_arch_list}\"")
if(TARGET CUDA::cudart_static)
  target_link_libraries(xarxa_cuda PRIVATE CUDA::cudart_static)
else()
  # FindCUDAToolkit needs an unversioned libcudart.so; nvcc's own static runtime still links.
  message(STATUS "xarxa: CUDA::cudart_static not defined (FindCUDAToolkit: ${CUDAToolkit_FOUND}); "
                 "linking the static runtime through CUDA_RUNTIME_LIBRARY")
endif()
target_link_libraries(xarxa_cuda PRIVATE "${XARXA_CUBLAS_LIBRARY}" "${XARXA_CUDNN_LIBRARY}" Threads::Threads
                      ${CMAKE_DL_LIBS})
target_compile_options(xarxa_cuda PRIVATE
  # --fmad=false: our kernels round products and sums separately, like the CPU reference.
  $<$<COMPILE_LANGUAGE:CUDA>:-O3 --fmad=false -Xcompiler=-Wall,-Wextra,-Wno-unused-parameter>
  $<$<COMPILE_LANGUAGE:CXX>:-O3 -Wall -Wextra -Wno-unused-parameter>)

# RUNPATH: beside the addon first, then where cuBLAS and cuDNN were found (the link
# folders and, for symlink farms, the folders of the real files).
set(_xc_rpath "\$ORIGIN")
foreach(_lib "${XARXA_CUBLAS_LIBRARY}" "${XARXA_CUDNN_LIBRARY}")
  get_filename_component(_dir "${_lib}" DIRECTORY)
  get_filename_component(_real "${_lib}" REALPATH)
  get_filename_component(_real_dir "${_real}" DIRECTORY)
  list(APPEND _xc_rpath "${_dir}" "${_real_dir}")
endforeach()
list(REMOVE_DUPLICATES _xc_rpath)

set_target_properties(xarxa_cuda PROPERTIES
  OUTPUT_NAME xarxa_cuda
  CUDA_RUNTIME_LIBRARY Static
  CUDA_SEPARABLE_COMPILATION OFF
  BUILD_RPATH "${_xc_rpath}"
  INSTALL_RPATH "${_xc_rpath}"
  LINK_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/native/cuda/exports.map")
target_link_options(xarxa_cuda PRIVATE
  "LINKER:--no-undefined"
  "LINKER:--enable-new-dtags"
  "LINKER:--version-script=${CMAKE_CURRENT_SOURCE_DIR}/native/cuda/exports.map")
if(TARGET xarxa)
  # Beside xarxa.node (cmake-js puts it in <out>/Release), where the addon looks for it.
  set_target_properties(xarxa_cuda PROPERTIES LIBRARY_OUTPUT_DIRECTORY "$<TARGET_FILE_DIR:xarxa>")
endif()

# A GPU self-test comparing every op with the CPU backend (not built by default):
#   cmake --build <dir> --target xarxa_cuda_selftest && <dir of the library>/xarxa_cuda_selftest
if(TARGET xarxa_core)
  add_executable(xarxa_cuda_selftest EXCLUDE_FROM_ALL native/cuda/selftest/selftest.cc)
  target_link_libraries(xarxa_cuda_selftest PRIVATE xarxa_core ${CMAKE_DL_LIBS})
  target_compile_options(xarxa_cuda_selftest PRIVATE -O2 -Wall -Wextra -Wno-unused-parameter)
  set_target_properties(xarxa_cuda_selftest PROPERTIES RUNTIME_OUTPUT_DIRECTORY "$<TARGET_FILE_DIR:xarxa_cuda>")
  add_dependencies(xarxa_cuda_selftest xarxa_cuda)
endif()

set(XARXA_CUDA_ENABLED ON)
set(_xc_host "${CMAKE_CUDA_HOST_COMPILER}")
if(NOT _xc_host)
  set(_xc_host "$ENV{CUDAHOSTCXX}")
endif()
get_property(_xc_archs TARGET xarxa_cuda PROPERTY CUDA_ARCHITECTURES)
message(STATUS "xarxa: CUDA backend ON: libxarxa_cuda.so with nvcc ${CMAKE_CUDA_COMPILER_VERSION} "
               "(${CMAKE_CUDA_COMPILER}), architectures ${_xc_archs}, host compiler ${_xc_host}, cuBLAS ${_xc_cublas_version} "
               "(${XARXA_CUBLAS_LIBRARY}), cuDNN ${_xc_cudnn_version} (${XARXA_CUDNN_LIBRARY}), "
               "static CUDA runtime, RUNPATH ${_xc_rpath}")

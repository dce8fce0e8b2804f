# gpu component: the GPU backend (kernels/*.hip) as the static library
# getp_gpu, linked into getp with GETP_HAVE_GPU=1, and its tests.
#
#   GETP_GPU=cuda  nvcc compiles the .hip files as CUDA (LANGUAGE CUDA, -x cu)
#                  through kernels/gpu_port.h, for GETP_CUDA_ARCH (90a = H100/H200 with
#                  wgmma; 90 or 80 build without it).
#   GETP_GPU=hip   hipcc compiles each .hip file for GETP_HIP_ARCH (gfx90a) with a
#                  custom command, and the objects make the static library.
#                  Why not enable_language(HIP): CMake 3.25 looks for the HIP runtime
#                  package at <rocm root>/lib/cmake/hip-lang, while Debian's ROCm 5.2
#                  packages install it under lib/x86_64-linux-gnu/cmake, so
#                  enable_language(HIP) fails at configure time there. Calling hipcc
#                  works with Debian's and AMD's packages alike.
#   GETP_GPU=none  nothing.
#
# Sources are listed explicitly. GETP_GPU_GEMM_SOURCES names the GEMM kernels
# (a developer can point it at a playground version while they are written).
if(GETP_GPU STREQUAL "none")
  return()
endif()

set(GETP_GPU_SOURCES
  embed.hip norm.hip rope.hip attention.hip router.hip sample.hip convert.hip
  engine_gpu.hip engine_gpu_load.hip engine_gpu_forward.hip engine_gpu_generate.hip
  selftest_gpu.hip selftest_gpu_ops.hip selftest_gpu_gemm.hip)
set(GETP_GPU_GEMM_SOURCES matmul.hip moe.hip CACHE STRING
    "GEMM kernel files under kernels/ (matmul.h, moe.h launchers)")
# Kernels whose compiled code must not spill or use scratch (tests/gpu/check_resources.sh);
# convert.hip runs once at load time and is left out.
set(GETP_GPU_HOT_SOURCES embed.hip norm.hip rope.hip attention.hip router.hip sample.hip
    ${GETP_GPU_GEMM_SOURCES})
set(_gpu_src "")
foreach(f ${GETP_GPU_SOURCES} ${GETP_GPU_GEMM_SOURCES})
  list(APPEND _gpu_src ${CMAKE_SOURCE_DIR}/kernels/${f})
endforeach()

if(GETP_GPU STREQUAL "cuda")
  set(CMAKE_CUDA_ARCHITECTURES ${GETP_CUDA_ARCH})
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set_source_files_properties(${_gpu_src} PROPERTIES LANGUAGE CUDA)
  add_library(getp_gpu STATIC ${_gpu_src})
  target_compile_definitions(getp_gpu PRIVATE GETP_CUDA=1)
  # 90a (H100/H200 with the arch-specific features): the MoE's warpgroup-MMA kernel.
  if(GETP_CUDA_ARCH MATCHES "^9[0-9]a$")
    target_compile_definitions(getp_gpu PRIVATE GETP_WGMMA=1)
  endif()
  target_compile_options(getp_gpu PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-x cu -O3 -Xcompiler=-Wall,-Wextra>)
  target_include_directories(getp_gpu PUBLIC ${CMAKE_SOURCE_DIR}/kernels)
  target_link_libraries(getp_gpu PUBLIC getp_core)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(getp_gpu PUBLIC CUDA::cudart)
elseif(GETP_GPU STREQUAL "hip")
  find_program(GETP_HIPCC hipcc REQUIRED)
  find_library(GETP_AMDHIP64 amdhip64 REQUIRED PATHS /opt/rocm/lib)
  set(_hip_objs "")
  foreach(src ${_gpu_src})
    get_filename_component(_name ${src} NAME_WE)
    set(_obj ${CMAKE_BINARY_DIR}/getp_gpu_obj/${_name}.o)
    add_custom_command(
      OUTPUT ${_obj}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/getp_gpu_obj
      COMMAND ${GETP_HIPCC} --offload-arch=${GETP_HIP_ARCH} -std=c++17 -O3 -fPIC -Wall -Wextra
              -D_POSIX_C_SOURCE=200809L -I${CMAKE_SOURCE_DIR}/kernels -I${CMAKE_SOURCE_DIR}/src
              -MD -MF ${_obj}.d -c ${src} -o ${_obj}
      DEPENDS ${src}
      DEPFILE ${_obj}.d
      COMMENT "hipcc ${_name}.hip (${GETP_HIP_ARCH})"
      VERBATIM)
    list(APPEND _hip_objs ${_obj})
  endforeach()
  set_source_files_properties(${_hip_objs} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  add_library(getp_gpu STATIC ${_hip_objs})
  set_target_properties(getp_gpu PROPERTIES LINKER_LANGUAGE CXX)
  target_include_directories(getp_gpu PUBLIC ${CMAKE_SOURCE_DIR}/kernels)
  target_link_libraries(getp_gpu PUBLIC getp_core ${GETP_AMDHIP64})
  target_compile_definitions(getp_gpu INTERFACE __HIP_PLATFORM_AMD__=1)
else()
  message(FATAL_ERROR "GETP_GPU must be none, hip or cuda (got '${GETP_GPU}')")
endif()

target_link_libraries(getp PRIVATE getp_gpu)
target_compile_definitions(getp PRIVATE GETP_HAVE_GPU=1)

if(GETP_BUILD_TESTS)
  enable_testing()
  foreach(t test_gpu_ops test_gpu_e2e bench_engine)
    add_executable(${t} ${CMAKE_SOURCE_DIR}/tests/gpu/${t}.c)
    target_link_libraries(${t} PRIVATE getp_gpu getp_core)
    set_target_properties(${t} PROPERTIES LINKER_LANGUAGE CXX)
  endforeach()
  add_test(NAME gpu_ops COMMAND test_gpu_ops)
  if(TARGET getp-model-gen)
    add_test(NAME gpu_e2e COMMAND test_gpu_e2e $<TARGET_FILE:getp-model-gen>
             ${CMAKE_BINARY_DIR}/gpu_e2e_models)
  else()
    add_test(NAME gpu_e2e COMMAND test_gpu_e2e)
  endif()
  set_tests_properties(gpu_ops gpu_e2e PROPERTIES SKIP_RETURN_CODE 77)
  if(GETP_GPU STREQUAL "cuda")
    # the matrix kernels alone: ragged shapes, batch invariance, MXFP4 == bf16 bitwise
    add_executable(test_gemm ${CMAKE_SOURCE_DIR}/tests/gpu/test_gemm.cu)
    set_source_files_properties(${CMAKE_SOURCE_DIR}/tests/gpu/test_gemm.cu PROPERTIES LANGUAGE CUDA)
    target_compile_definitions(test_gemm PRIVATE GETP_CUDA=1)
    target_link_libraries(test_gemm PRIVATE getp_gpu getp_core)
    add_test(NAME gpu_gemm COMMAND test_gemm)
    set_tests_properties(gpu_gemm PROPERTIES SKIP_RETURN_CODE 77)
  endif()
  if(GETP_GPU STREQUAL "hip")
    # Runs without a GPU (CI): compiles the hot kernels and reads the resource report.
    set(_hot "")
    foreach(f ${GETP_GPU_HOT_SOURCES})
      list(APPEND _hot ${CMAKE_SOURCE_DIR}/kernels/${f})
    endforeach()
    add_test(NAME gpu_resources COMMAND sh ${CMAKE_SOURCE_DIR}/tests/gpu/check_resources.sh
             ${GETP_HIPCC} ${GETP_HIP_ARCH} ${CMAKE_SOURCE_DIR} ${_hot})
  endif()
endif()

# gpu component: the GPU backend (gpu/) as the static library getp_gpu, linked
# into getp with GETP_HAVE_GPU=1, and its tests.
#
#   GETP_GPU=cuda  nvcc compiles the .hip files as CUDA (LANGUAGE CUDA, -x cu)
#                  through gpu/port/port_cuda.h, for GETP_CUDA_ARCH (90a = H100/H200
#                  with wgmma; 90 or 80 build without it).
#                  GETP_PORTABLE=ON: the portable build, the AMD code structure
#                  on NVIDIA (no vendor extras: gpu/kernels/extras.h).
#   GETP_GPU=hip   hipcc compiles each .hip file for every arch of GETP_HIP_ARCH
#                  (gfx90a;gfx942) with a custom command; the objects make the
#                  static library. Why not enable_language(HIP): CMake 3.25 looks
#                  for the HIP runtime package at <rocm root>/lib/cmake/hip-lang,
#                  while Debian's ROCm packages install it under
#                  lib/x86_64-linux-gnu/cmake, so enable_language(HIP) fails at
#                  configure time there. Calling hipcc works with Debian's and
#                  AMD's packages alike.
#   GETP_GPU=none  nothing.
#
# Sources are listed explicitly (no globbing).
if(GETP_GPU STREQUAL "none")
  return()
endif()

option(GETP_PORTABLE "NVIDIA: build the AMD code structure (no vendor extras)" OFF)

set(GETP_GPU_ENGINE_SOURCES
  engine_gpu.hip engine_gpu_load.hip engine_gpu_forward.hip engine_gpu_generate.hip
  engine_gpu_profile.hip engine_gpu_graph.hip
  selftest/selftest.hip selftest/selftest_rows.hip selftest/selftest_attention.hip
  selftest/selftest_gemm.hip selftest/selftest_moe.hip selftest/selftest_sample.hip
  selftest/selftest_graph.hip)
# Kernel families every build has (the portable algorithms).
set(GETP_GPU_KERNEL_SOURCES
  embed.hip norm.hip rope.hip attention.hip router.hip sample.hip convert.hip
  matmul.hip moe.hip moe_tiles.hip)
# Vendor extras (gpu/kernels/extras.h): the fast NVIDIA build's, or none.
if(GETP_GPU STREQUAL "cuda" AND NOT GETP_PORTABLE)
  set(GETP_GPU_EXTRA_SOURCES matmul_async.hip attention_mma.hip moe_async.hip)
  if(GETP_CUDA_ARCH MATCHES "^9[0-9]a$")
    list(APPEND GETP_GPU_EXTRA_SOURCES moe_wgmma.hip)
  endif()
else()
  set(GETP_GPU_EXTRA_SOURCES extras_none.hip)
endif()
# Kernels whose compiled code must not spill or use scratch (tests/gpu/check_resources.sh);
# convert.hip runs once at load time and is left out.
set(GETP_GPU_HOT_SOURCES embed.hip norm.hip rope.hip attention.hip router.hip sample.hip
    matmul.hip moe_tiles.hip moe.hip)
set(_gpu_src "")
foreach(f ${GETP_GPU_ENGINE_SOURCES})
  list(APPEND _gpu_src ${CMAKE_SOURCE_DIR}/gpu/${f})
endforeach()
foreach(f ${GETP_GPU_KERNEL_SOURCES} ${GETP_GPU_EXTRA_SOURCES})
  list(APPEND _gpu_src ${CMAKE_SOURCE_DIR}/gpu/kernels/${f})
endforeach()
set(_gpu_inc ${CMAKE_SOURCE_DIR}/gpu ${CMAKE_SOURCE_DIR}/gpu/kernels ${CMAKE_SOURCE_DIR}/gpu/port
    ${CMAKE_SOURCE_DIR}/gpu/selftest)

if(GETP_GPU STREQUAL "cuda")
  set(CMAKE_CUDA_ARCHITECTURES ${GETP_CUDA_ARCH})
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set_source_files_properties(${_gpu_src} PROPERTIES LANGUAGE CUDA)
  add_library(getp_gpu STATIC ${_gpu_src})
  target_compile_definitions(getp_gpu PUBLIC GETP_CUDA=1)
  if(GETP_PORTABLE)
    target_compile_definitions(getp_gpu PUBLIC GETP_PORTABLE=1)
  elseif(GETP_CUDA_ARCH MATCHES "^9[0-9]a$")
    # 90a (H100/H200 with the arch-specific features): the MoE's warpgroup-MMA kernel.
    target_compile_definitions(getp_gpu PRIVATE GETP_WGMMA=1)
  endif()
  target_compile_options(getp_gpu PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-x cu -O3 -Xcompiler=-Wall,-Wextra>)
  target_include_directories(getp_gpu PUBLIC ${_gpu_inc})
  target_link_libraries(getp_gpu PUBLIC getp_core)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(getp_gpu PUBLIC CUDA::cudart)
elseif(GETP_GPU STREQUAL "hip")
  find_program(GETP_HIPCC hipcc REQUIRED)
  find_library(GETP_AMDHIP64 amdhip64 REQUIRED PATHS /opt/rocm/lib)
  set(_hip_arch_flags "")
  foreach(a ${GETP_HIP_ARCH})
    list(APPEND _hip_arch_flags --offload-arch=${a})
  endforeach()
  set(_hip_inc_flags "")
  foreach(d ${_gpu_inc} ${CMAKE_SOURCE_DIR}/src)
    list(APPEND _hip_inc_flags -I${d})
  endforeach()
  set(_hip_objs "")
  foreach(src ${_gpu_src})
    get_filename_component(_name ${src} NAME_WE)
    set(_obj ${CMAKE_BINARY_DIR}/getp_gpu_obj/${_name}.o)
    add_custom_command(
      OUTPUT ${_obj}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/getp_gpu_obj
      COMMAND ${GETP_HIPCC} ${_hip_arch_flags} -std=c++17 -O3 -fPIC -Wall -Wextra
              -D_POSIX_C_SOURCE=200809L ${_hip_inc_flags} -MD -MF ${_obj}.d -c ${src} -o ${_obj}
      DEPENDS ${src}
      DEPFILE ${_obj}.d
      COMMENT "hipcc ${_name}.hip (${GETP_HIP_ARCH})"
      VERBATIM)
    list(APPEND _hip_objs ${_obj})
  endforeach()
  set_source_files_properties(${_hip_objs} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  add_library(getp_gpu STATIC ${_hip_objs})
  set_target_properties(getp_gpu PROPERTIES LINKER_LANGUAGE CXX)
  target_include_directories(getp_gpu PUBLIC ${_gpu_inc})
  target_link_libraries(getp_gpu PUBLIC getp_core ${GETP_AMDHIP64})
  target_compile_definitions(getp_gpu INTERFACE __HIP_PLATFORM_AMD__=1)
else()
  message(FATAL_ERROR "GETP_GPU must be none, hip or cuda (got '${GETP_GPU}')")
endif()

target_link_libraries(getp PRIVATE getp_gpu)
target_compile_definitions(getp PRIVATE GETP_HAVE_GPU=1)

if(GETP_BUILD_TESTS)
  enable_testing()
  foreach(t test_gpu_ops test_gpu_e2e)
    add_executable(${t} ${CMAKE_SOURCE_DIR}/tests/gpu/${t}.c)
    target_link_libraries(${t} PRIVATE getp_gpu getp_core)
    set_target_properties(${t} PROPERTIES LINKER_LANGUAGE CXX)
  endforeach()
  # the engine benchmark (bench/bench_engine.c: B requests, tok/s of generate())
  add_executable(bench_engine ${CMAKE_SOURCE_DIR}/bench/bench_engine.c)
  target_link_libraries(bench_engine PRIVATE getp_gpu getp_core)
  set_target_properties(bench_engine PROPERTIES LINKER_LANGUAGE CXX)
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
    target_link_libraries(test_gemm PRIVATE getp_gpu getp_core)
    add_test(NAME gpu_gemm COMMAND test_gemm)
    set_tests_properties(gpu_gemm PROPERTIES SKIP_RETURN_CODE 77)
  endif()
  if(GETP_GPU STREQUAL "hip")
    # Runs without a GPU (CI): compiles the hot kernels for every arch and reads the resource report.
    set(_hot "")
    foreach(f ${GETP_GPU_HOT_SOURCES})
      list(APPEND _hot ${CMAKE_SOURCE_DIR}/gpu/kernels/${f})
    endforeach()
    add_test(NAME gpu_resources COMMAND sh ${CMAKE_SOURCE_DIR}/tests/gpu/check_resources.sh
             ${GETP_HIPCC} "${GETP_HIP_ARCH}" ${CMAKE_SOURCE_DIR} ${_hot})
    # MI300 (gfx942) beside MI250. Debian's HIP 5.2 compiler predates gfx942, so when
    # GETP_HIP_ARCH does not name it the check compiles every GPU source (resource report
    # on the hot ones) for gfx942 with a newer clang (Debian's clang-19 + lld-19), the
    # installed HIP headers and device libraries, and the one device library those lack
    # for gfx942 (the ISA version constant, generated here).
    if(NOT "gfx942" IN_LIST GETP_HIP_ARCH)
      find_program(GETP_HIP_CHECK_CLANG NAMES clang++-19 clang++-20 clang++-21 clang++-22
                   PATHS /usr/lib/llvm-19/bin /usr/lib/llvm-22/bin)
      find_program(GETP_LLVM_AS NAMES llvm-as-19 llvm-as-20 llvm-as-21 llvm-as-22
                   PATHS /usr/lib/llvm-19/bin /usr/lib/llvm-22/bin)
      find_path(GETP_AMDGCN_BITCODE ocml.bc PATHS /usr/lib/x86_64-linux-gnu/amdgcn/bitcode
                /opt/rocm/amdgcn/bitcode)
      if(GETP_HIP_CHECK_CLANG AND GETP_LLVM_AS AND GETP_AMDGCN_BITCODE)
        set(_bc ${CMAKE_BINARY_DIR}/amdgcn_bitcode)
        file(MAKE_DIRECTORY ${_bc})
        file(GLOB _sys_bc ${GETP_AMDGCN_BITCODE}/*.bc) # links to the installed libraries
        foreach(_f ${_sys_bc})
          get_filename_component(_n ${_f} NAME)
          file(CREATE_LINK ${_f} ${_bc}/${_n} SYMBOLIC)
        endforeach()
        if(NOT EXISTS ${_bc}/oclc_isa_version_942.bc)
          file(WRITE ${_bc}/oclc_isa_version_942.ll
               "target datalayout = \"e-p:64:64-p1:64:64-p2:32:32-p3:32:32-p4:64:64-p5:32:32-p6:32:32-p7:160:256:256:32-p8:128:128-p9:192:256:256:32-i64:64-v16:16-v24:32-v32:32-v48:64-v96:128-v192:256-v256:256-v512:512-v1024:1024-v2048:2048-n32:64-S32-A5-G1-ni:7:8:9\"\n"
               "target triple = \"amdgcn-amd-amdhsa\"\n"
               "@__oclc_ISA_version = linkonce_odr protected local_unnamed_addr addrspace(4) constant i32 9402, align 4\n")
          execute_process(COMMAND ${GETP_LLVM_AS} ${_bc}/oclc_isa_version_942.ll -o ${_bc}/oclc_isa_version_942.bc)
        endif()
        add_test(NAME gpu_resources_gfx942 COMMAND sh ${CMAKE_SOURCE_DIR}/tests/gpu/check_resources.sh
                 ${GETP_HIP_CHECK_CLANG} gfx942 ${CMAKE_SOURCE_DIR} ${_gpu_src})
        set_tests_properties(gpu_resources_gfx942 PROPERTIES ENVIRONMENT
          "HIP_CHECK_FLAGS=-x hip --rocm-path=/usr --rocm-device-lib-path=${_bc}")
      else()
        message(STATUS "gpu: no clang >= 19 with llvm-as and the AMD device libraries: the gfx942 "
                       "check is not registered (tools/install_deps.sh installs clang-19 and lld-19)")
      endif()
    endif()
  endif()
endif()

# cpu component: the CPU reference forward pass (the oracle), sampling, and their tests.
target_sources(getp_core PRIVATE
  ${CMAKE_SOURCE_DIR}/src/ops_cpu.c
  ${CMAKE_SOURCE_DIR}/src/forward_cpu.c
  ${CMAKE_SOURCE_DIR}/src/sampler.c
  ${CMAKE_SOURCE_DIR}/src/logits_agreement.c)
# The sampler's decisions must match the GPU's bit for bit (src/sampler_math.h).
set_source_files_properties(${CMAKE_SOURCE_DIR}/src/sampler.c PROPERTIES COMPILE_OPTIONS -ffp-contract=off)

if(GETP_BUILD_TESTS)
  enable_testing()
  foreach(t test_cpu_ops test_cpu_sampler test_cpu_engine test_cpu_fixture)
    string(REPLACE "test_cpu_" "" _src ${t})
    add_executable(${t} ${CMAKE_SOURCE_DIR}/tests/cpu/test_${_src}.c)
    target_link_libraries(${t} PRIVATE getp_core)
  endforeach()
  add_test(NAME cpu_ops COMMAND test_cpu_ops)
  add_test(NAME cpu_sampler COMMAND test_cpu_sampler)
  # The engine contract on a random in-memory model (window 8, so prompts cross it) and,
  # when the generator exists, on getp-model-gen's tiny checkpoint through model_load.
  add_test(NAME cpu_engine COMMAND test_cpu_engine)
  if(TARGET getp-model-gen)
    add_test(NAME cpu_engine_gen COMMAND test_cpu_engine $<TARGET_FILE:getp-model-gen>
             ${CMAKE_BINARY_DIR}/cpu_engine_model)
  endif()
  # The HF fixture (tests/hf_reference.py output) is added by the lead; skipped until then.
  set(GETP_CPU_FIXTURE_DIR ${CMAKE_SOURCE_DIR}/tests/fixtures/hf_tiny CACHE PATH
      "Directory of the HF transformers fixture written by tests/hf_reference.py")
  if(TARGET getp-model-gen)
    add_test(NAME cpu_fixture COMMAND test_cpu_fixture ${GETP_CPU_FIXTURE_DIR}
             $<TARGET_FILE:getp-model-gen> ${CMAKE_BINARY_DIR}/cpu_fixture_model)
  else()
    add_test(NAME cpu_fixture COMMAND test_cpu_fixture ${GETP_CPU_FIXTURE_DIR})
  endif()
  set_tests_properties(cpu_fixture PROPERTIES SKIP_RETURN_CODE 77)
endif()

# getp-precision-budget: the GPU's bf16 rounding points emulated on the CPU engine, one by
# one, against the exact reference (how much GPU-vs-CPU difference the design explains).
add_executable(getp-precision-budget tools/precision_budget.c)
target_link_libraries(getp-precision-budget PRIVATE getp_core)

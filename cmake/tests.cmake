# End-to-end tests of the getp program (CPU backend): course format and its
# edge cases, token-id input, -m logits, tokenize/decode. Component tests are
# registered by each component's fragment.
add_executable(npy_argmax ${CMAKE_SOURCE_DIR}/tests/e2e/npy_argmax.c)
target_link_libraries(npy_argmax PRIVATE getp_core)
if(TEST tok_files)
  add_test(NAME e2e_cli
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/test_cli.sh ${CMAKE_BINARY_DIR}
                   ${CMAKE_BINARY_DIR}/tokenizer/o200k_harmony.tiktoken ${CMAKE_BINARY_DIR}/e2e_cli)
  set_tests_properties(e2e_cli PROPERTIES FIXTURES_REQUIRED tok_data TIMEOUT 900 LABELS "e2e;asan")
  # Hostile and careless input (issue 17, F1-F11): same-file -o, pipes, format detection,
  # bad count lines and flags, FIFOs, rope parameters, NaN weights, --resume on a foreign
  # output, exit statuses.
  add_test(NAME e2e_hostile
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/test_hostile.sh ${CMAKE_BINARY_DIR}
                   ${CMAKE_BINARY_DIR}/tokenizer/o200k_harmony.tiktoken ${CMAKE_BINARY_DIR}/e2e_hostile)
  set_tests_properties(e2e_hostile PROPERTIES FIXTURES_REQUIRED tok_data TIMEOUT 1200 LABELS "e2e;asan")
endif()

# The getp program (token ids in, -m logits out) against HF transformers' logits
# and greedy tokens: tests/fixtures/hf_tiny (see its README.md).
add_executable(fixture_cli ${CMAKE_SOURCE_DIR}/tests/e2e/fixture_cli.c)
target_link_libraries(fixture_cli PRIVATE getp_core)
add_test(NAME e2e_fixture_cli
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/test_fixture_cli.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR}/tests/fixtures/hf_tiny ${CMAKE_BINARY_DIR}/e2e_fixture_cli cpu)
set_tests_properties(e2e_fixture_cli PROPERTIES TIMEOUT 600 LABELS e2e)

# The matrix tile's lane maps for 64- and 32-lane waves against models of the
# MFMA and mma.sync instructions (no GPU: the AMD layout is checked here in CI).
add_executable(test_wave64 ${CMAKE_SOURCE_DIR}/tests/gpu/test_wave64.c)
target_include_directories(test_wave64 PRIVATE ${CMAKE_SOURCE_DIR}/gpu/port)
add_test(NAME wave64_layouts COMMAND test_wave64)

# The integer MXFP4 decode of the portable MoE kernel over the byte permute of
# both vendors (models of prmt and v_perm_b32), every scale byte and code.
add_executable(test_mxint ${CMAKE_SOURCE_DIR}/tests/gpu/test_mxint.cpp)
target_include_directories(test_mxint PRIVATE ${CMAKE_SOURCE_DIR}/gpu/port ${CMAKE_SOURCE_DIR}/gpu/kernels)
add_test(NAME mxint_decode COMMAND test_mxint)

# hwloc's PCI scan inside MPI_Init takes ~90 s per process under ASan on the CI machines;
# no test needs the PCI topology. For every test of an ASan build and the ASan-labelled ones.
set(_hwloc_env "HWLOC_COMPONENTS=-pci,-linuxio")
foreach(_t e2e_cli e2e_hostile)
  if(TEST ${_t})
    set_property(TEST ${_t} APPEND PROPERTY ENVIRONMENT ${_hwloc_env})
  endif()
endforeach()
if(GETP_ASAN)
  foreach(_t mpi_dist mpi_ranks mpi_balance mpi_chunk mpi_failures mpi_kill_resume e2e_fixture_cli)
    if(TEST ${_t})
      set_property(TEST ${_t} APPEND PROPERTY ENVIRONMENT ${_hwloc_env})
    endif()
  endforeach()
endif()

# Every kernel launch through port_launch and every kernel entered by port_dep_enter()
# (gpu/port/port.h "launching": programmatic dependent launch on Hopper), with a
# self-test that each rule can fail.
add_test(NAME gpu_launch_contract
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/gpu/check_launches.sh --selftest ${CMAKE_SOURCE_DIR}/gpu/kernels)

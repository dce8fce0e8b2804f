# fuzz component: libFuzzer targets for the parsers of untrusted input (fuzz/), built
# with -DGETP_FUZZ=ON and clang (tools/test.sh does so when clang's -fsanitize=fuzzer
# links), every object with ASan + UBSan:
#   fuzz_safetensors      config.json and a safetensors header (src/model_st.c)
#   fuzz_requests         an input file: stream, detection, course/JSONL/Batch readers, writers
#   fuzz_tokenizer        encode/decode of any bytes: decode(encode(x)) == x
#   fuzz_tokenizer_file   a rank file or tokenizer.bin from any bytes
#   fuzz_journal          a journal file (--resume) and one record's payload (src/journal.c)
# Tests (ctest -L fuzz): each target runs GETP_FUZZ_SECONDS (default 10) from its seed
# corpus fuzz/corpus/<name>/ (new inputs go to the build tree, the repository stays as is).
# GETP_FUZZ_TOKENIZER: the tokenizer file fuzz_requests and fuzz_tokenizer run with
# (the o200k_harmony rank file; empty: a toy rank file built in fuzz/fuzz_common.h).
# A crash leaves crash-* / leak-* files in the build tree's fuzz/<name>/ folder: reproduce
# with `build-fuzz/fuzz_<name> FILE`.
if(NOT GETP_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "GETP_FUZZ needs clang (-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)")
endif()
set(GETP_FUZZ_SECONDS 10 CACHE STRING "Seconds each fuzz target runs under ctest")
set(GETP_FUZZ_TOKENIZER "" CACHE FILEPATH "Tokenizer file for the fuzz targets (empty: a toy one)")

enable_testing()
add_custom_target(fuzz_all)
foreach(name safetensors requests tokenizer tokenizer_file journal)
  add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/fuzz/fuzz_${name}.c)
  target_include_directories(fuzz_${name} PRIVATE ${CMAKE_SOURCE_DIR}/fuzz)
  target_link_libraries(fuzz_${name} PRIVATE getp_core)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzz_all fuzz_${name})
  set(_work ${CMAKE_BINARY_DIR}/fuzz/${name})
  file(MAKE_DIRECTORY ${_work}/new)
  # -max_len: room for the seeds' sizes; -timeout: one input may take at most 20 s;
  # -rss_limit_mb: the o200k tokenizer under ASan needs more than the default 2 GB
  add_test(NAME fuzz_${name}
           COMMAND fuzz_${name} -max_total_time=${GETP_FUZZ_SECONDS} -max_len=16384 -timeout=20
                   -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=${_work}/
                   ${_work}/new ${CMAKE_SOURCE_DIR}/fuzz/corpus/${name})
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 600
                       ENVIRONMENT "GETP_FUZZ_TOKENIZER=${GETP_FUZZ_TOKENIZER}")
endforeach()

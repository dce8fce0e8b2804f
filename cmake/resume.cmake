# resume component: the journal of finished requests (src/journal.c), the
# run's journals and --resume (app/resume.c), live progress inside a round
# (app/progress.c) and SIGTERM/SIGINT (app/interrupt.c). jobs/README.md,
# "Interrupted runs" and "Progress".
#
# Tests:
#   journal_file   (ctest -R journal_file) the file format: Output records round
#                  trip (logprobs too), a torn last record cut at every byte is
#                  dropped and never misread, a flipped byte ends the file there,
#                  identities that differ are refused naming the item, duplicates
#                  across journals kept once
#   the MPI scripts that kill, stop and resume whole runs are registered in
#   cmake/mpi.cmake (mpi_journal, mpi_progress) and the Slurm time limit in the
#   slurm test.
# zlib (crc32) is Debian's zlib1g-dev; tools/fetch_deps.sh brings it for offline nodes.
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
target_sources(getp_core PRIVATE ${CMAKE_SOURCE_DIR}/src/journal.c)
target_link_libraries(getp_core PUBLIC ZLIB::ZLIB)
target_sources(getp PRIVATE ${CMAKE_SOURCE_DIR}/app/progress.c ${CMAKE_SOURCE_DIR}/app/resume.c
               ${CMAKE_SOURCE_DIR}/app/interrupt.c)
target_link_libraries(getp PRIVATE Threads::Threads)

if(GETP_BUILD_TESTS)
  enable_testing()
  add_executable(test_journal ${CMAKE_SOURCE_DIR}/tests/mpi/test_journal_file.c)
  target_link_libraries(test_journal PRIVATE getp_core)
  add_test(NAME journal_file COMMAND test_journal ${CMAKE_BINARY_DIR}/journal_file)
  set_tests_properties(journal_file PROPERTIES LABELS "mpi;asan" TIMEOUT 300)
endif()

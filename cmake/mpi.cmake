# mpi component: data parallelism over MPI (mpi/dist.c, the round protocol mpi/round.c,
# used by getp_run.cpp) and its tests.
#
# Tests (ctest -L mpi), all on the CPU backend with the tiny synthetic model
# (getp-model-gen --preset tiny) and --input-format ids inputs:
#   mpi_dist       unit test of mpi/dist.c (split, chunked scatter/gather with a
#                  small GETP_MPI_CHUNK, status agreement, GPU device pick) under -np 1..4
#   mpi_ranks      output byte-identical to the single-rank run for -np 1,2,3,4,8,
#                  greedy and sampled; fewer requests than ranks
#   mpi_balance    prompts of very different lengths: per-rank work within 10% of ideal
#   mpi_chunk      whole runs with GETP_MPI_CHUNK=3 (every scatter/gather chunked)
#   mpi_failures   missing input, unreadable model, malformed count line: every
#                  rank exits non-zero within seconds, no hang
#   mpi_kill_resume  killed after some rounds: --resume completes the file identically
#   mpi_journal    stopped in the middle of a round (SIGKILL of the job, SIGTERM, one
#                  rank killed, a singleton, a later round, a torn record): --resume
#                  runs only what had not finished and gives the same file; resumes
#                  with other options or input refused (tests/mpi/test_journal.sh)
#   mpi_progress   progress inside a round: a bar on a pseudo-terminal, plain and
#                  JSON lines from 2 ranks, counts checked against the final report
#   slurm          a real single-node Slurm cluster (tests/slurm/run_slurm_test.sh);
#                  registered only when GETP_TEST_SLURM=1 at configure time (starts daemons)
target_sources(getp PRIVATE ${CMAKE_SOURCE_DIR}/mpi/dist.c ${CMAKE_SOURCE_DIR}/mpi/round.c)

if(GETP_BUILD_TESTS)
  enable_testing()
  add_executable(test_mpi_dist ${CMAKE_SOURCE_DIR}/tests/mpi/test_dist.c ${CMAKE_SOURCE_DIR}/mpi/dist.c)
  target_link_libraries(test_mpi_dist PRIVATE getp_core MPI::MPI_C)

  set(_mpi_dir ${CMAKE_SOURCE_DIR}/tests/mpi)
  set(_mpi_work ${CMAKE_BINARY_DIR}/mpi_tests)
  add_test(NAME mpi_dist COMMAND bash ${_mpi_dir}/test_dist.sh $<TARGET_FILE:test_mpi_dist>)
  foreach(name ranks balance chunk failures kill_resume journal progress)
    add_test(NAME mpi_${name}
             COMMAND bash ${_mpi_dir}/test_${name}.sh $<TARGET_FILE:getp> $<TARGET_FILE:getp-model-gen>
                     ${_mpi_work}/${name})
  endforeach()
  set_tests_properties(mpi_dist mpi_ranks mpi_balance mpi_chunk mpi_failures mpi_kill_resume mpi_journal
                       mpi_progress PROPERTIES LABELS mpi TIMEOUT 1800 PROCESSORS 2)
  if(GETP_ASAN) # sanitized runs are ~20x slower: a longer bound per getp run
    set_tests_properties(mpi_ranks mpi_balance mpi_chunk mpi_failures PROPERTIES
                         ENVIRONMENT "GETP_TEST_TIMEOUT=900")
  endif()

  if("$ENV{GETP_TEST_SLURM}" STREQUAL "1")
    add_test(NAME slurm
             COMMAND bash ${CMAKE_SOURCE_DIR}/tests/slurm/run_slurm_test.sh $<TARGET_FILE:getp>
                     $<TARGET_FILE:getp-model-gen> ${CMAKE_BINARY_DIR}/slurm_test)
    set_tests_properties(slurm PROPERTIES LABELS "mpi;slurm" TIMEOUT 900 RUN_SERIAL TRUE)
  endif()
endif()

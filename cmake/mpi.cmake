# mpi component: sources and tests (filled in by its owner)

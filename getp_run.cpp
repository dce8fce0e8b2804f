// getp_run.cpp: placeholder until the MPI flow lands.
#include "getp.h"

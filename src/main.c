/* main.c: placeholder until the CLI lands (lead is writing it). */
#include "getp.h"
int main(void) { return 0; }

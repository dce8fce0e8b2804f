/* cli.h: the command line as main.c parses it, and the modes it runs
 * (modes.c: tokenize, decode, generate; the getp and logits modes are
 * getp_main, getp_run.cpp). */
#ifndef GETP_CLI_H
#define GETP_CLI_H

#include "getp.h" // GetpOptions

typedef enum { MODE_AUTO, MODE_GETP, MODE_GENERATE, MODE_TOKENIZE, MODE_DECODE, MODE_LOGITS } Mode;

typedef struct {
    GetpOptions g;
    Mode mode;
    int json_lines;
    int selftest;
} Cli;

/* "getp: <message>" on stderr; returns 1 (the exit code of a failed mode). */
int cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

int run_tokenize(const Cli *c);
int run_decode(const Cli *c);
int run_generate(const Cli *c);

#endif

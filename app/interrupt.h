/* interrupt.h: SIGTERM and SIGINT during a getp run (jobs/README.md,
 * "Interrupted runs").
 *
 * Slurm sends SIGTERM at a job's time limit (or --signal=TERM@T seconds
 * before it), SIGKILL after its grace period. Every finished request is
 * already in the kernel's hands (one write(2) per journal record), so all a
 * signal has to do is: fsync the rank's journal, say what was kept, and exit
 * with GETP_EXIT_INTERRUPTED — within milliseconds, whatever the engine was
 * doing. The handler does exactly that with async-signal-safe calls (fsync,
 * write, _exit) and data prepared beforehand.
 */
#ifndef GETP_INTERRUPT_H
#define GETP_INTERRUPT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Exit code of a run stopped by SIGTERM / SIGINT (EX_TEMPFAIL: run again
 * with --resume). */
#define GETP_EXIT_INTERRUPTED 75

/* Catch SIGTERM and SIGINT from now on. */
void interrupt_install(void);

/* Back to the default action (the run is over, successful or not: a launcher
 * ending the other ranks of a failed job must not add messages). */
void interrupt_uninstall(void);

/* What a signal does next: fsync fd first (-1: none), then print
 * "getp: <SIGNAL>: <text>" (text ends without a newline). Not for use inside
 * a handler. */
void interrupt_set(int fd, const char *text);

#ifdef __cplusplus
}
#endif
#endif

/* interrupt.c: SIGTERM and SIGINT during a getp run (interrupt.h). */
#include "interrupt.h"

#include "common.h" // GETP_OK

#include <signal.h>
#include <unistd.h>

/* Two slots: interrupt_set fills the one not in use, then flips `cur`, so a
 * handler never reads a half-written text. */
typedef struct {
    int fd;
    size_t len;
    char text[1024];
} Plan;
static Plan g_plan[2] = {{-1, 0, {0}}, {-1, 0, {0}}};
static volatile sig_atomic_t g_cur = 0;

static void put(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_signal(int sig) {
    const Plan *p = &g_plan[g_cur];
    if (p->fd >= 0) fsync(p->fd);
    const char *name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal";
    put("getp: ", 6);
    put(name, strlen(name));
    put(": ", 2);
    put(p->text, p->len);
    put("\n", 1);
    _exit(GETP_EXIT_INTERRUPTED);
}

void interrupt_set(int fd, const char *text) {
    int next = !g_cur;
    Plan *p = &g_plan[next];
    p->fd = fd;
    snprintf(p->text, sizeof p->text, "%s", text);
    p->len = strlen(p->text);
    g_cur = next;
}

void interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

void interrupt_uninstall(void) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

/*
 * interrupt.c — SIGINT and SIGTERM for the long-running commands (a training run, a
 * sweep), as a small library of its own (build/libdeepobs_interrupt.so): signal
 * dispositions belong to the whole process, and the engine library keeps no such state
 * and never prints or exits.
 *
 * dob_interrupt_install(message) takes over both signals. The first one is only
 * recorded: the program polls dob_interrupt_pending() between training steps (a plain
 * load, so even a JIT-compiled Lua loop that never enters the interpreter's hooks sees
 * it), then saves its state and leaves through dob_interrupt_exit(). A second signal
 * means "now": the handler writes `message` to stderr and ends the process with the
 * signal's default action, so the shell reports 128 + signal (130, 143). Only
 * async-signal-safe calls (write, signal, raise) run inside the handler.
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t pending;
static char message[1024];
static size_t message_len;
static struct sigaction previous_int, previous_term;
static int installed;

static void on_signal(int sig)
{
    if (!pending) {
        pending = sig;
        return;
    }
    if (message_len) {
        ssize_t w = write(2, message, message_len);
        (void)w;
    }
    signal(sig, SIG_DFL);
    raise(sig);  /* delivered as soon as this handler returns: the process ends */
}

/* Takes over SIGINT and SIGTERM; message (may be NULL) is written on a second signal.
   Returns 0, or -1 when sigaction fails. Installing twice only updates the message. */
int dob_interrupt_install(const char *msg)
{
    message_len = 0;
    if (msg) {
        size_t n = strlen(msg);
        if (n > sizeof message - 1) n = sizeof message - 1;
        memcpy(message, msg, n);
        message_len = n;
    }
    if (installed) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;  /* reads and writes in progress go on */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    if (sigaction(SIGINT, &sa, &previous_int) != 0) return -1;
    if (sigaction(SIGTERM, &sa, &previous_term) != 0) {
        sigaction(SIGINT, &previous_int, NULL);
        return -1;
    }
    pending = 0;
    installed = 1;
    return 0;
}

/* The first signal received since install (SIGINT or SIGTERM), or 0. */
int dob_interrupt_pending(void) { return pending; }

/* Puts back the handlers that were there before dob_interrupt_install. */
void dob_interrupt_restore(void)
{
    if (!installed) return;
    sigaction(SIGINT, &previous_int, NULL);
    sigaction(SIGTERM, &previous_term, NULL);
    installed = 0;
    pending = 0;
}

/* Ends the process as signal sig would (exit status 128 + sig to a shell). */
void dob_interrupt_exit(int sig)
{
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

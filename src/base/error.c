/* error.c — the thread-local error slot and size formatting for messages. */
#include "base/error.h"

static _Thread_local char last_error[1024];

const char *dob_last_error(void) { return last_error; }
void dob_clear_error(void) { last_error[0] = 0; }

static void set_error(const char *fmt, va_list ap)
{
    vsnprintf(last_error, sizeof last_error, fmt, ap);
}

int dob__fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(fmt, ap);
    va_end(ap);
    return -1;
}

void *dob__failp(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(fmt, ap);
    va_end(ap);
    return NULL;
}

const char *dob__sizes_str(int ndim, const int64_t *sizes)
{
    /* a ring, so one message can show several shapes */
    static _Thread_local char ring[8][160];
    static _Thread_local int next;
    char *buf = ring[next];
    next = (next + 1) % 8;
    int n = snprintf(buf, 160, "[");
    for (int d = 0; d < ndim && n < 140; d++)
        n += snprintf(buf + n, 160 - n, d ? "x%lld" : "%lld", (long long)sizes[d]);
    snprintf(buf + n, 160 - n, "]");
    return buf;
}

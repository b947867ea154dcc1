/*
 * base/error.h — the thread-local error slot every layer reports through.
 * Bottom layer: includes nothing of the engine but the public header.
 */
#ifndef DOB_BASE_ERROR_H
#define DOB_BASE_ERROR_H

#include "deepobs.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* set the message of dob_last_error(); return -1 and NULL */
int dob__fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *dob__failp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "[2x3]" in one of a ring of thread-local buffers (valid for a few calls) */
const char *dob__sizes_str(int ndim, const int64_t *sizes);

/* Argument checks. They return NULL from pointer-returning functions, -1
   from int-returning ones. */
#define DOB_CHECK(cond, ...) do { if (!(cond)) return dob__failp(__VA_ARGS__); } while (0)
#define DOB_CHECK_INT(cond, ...) do { if (!(cond)) return dob__fail(__VA_ARGS__); } while (0)

#endif

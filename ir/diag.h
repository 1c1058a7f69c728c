/* Diagnostics: every user-facing error goes through pt_diag_error with a
 * source location; the CLI prints them as `file:line:col: error: message`,
 * then the source line and a caret. Internal invariant failures use
 * PT_ASSERT, which aborts naming the file and line: the two never mix. */
#ifndef PT_DIAG_H
#define PT_DIAG_H

#include <stdarg.h>
#include <stdio.h>

/* A source position. `file` is borrowed (usually the module's file name, or
 * a string owned by the diag's source table); line and col count from 1;
 * line 0 means "no position in a file" (e.g. a command-line error).
 * `via`: for code inlined from a call, the location of that call (itself
 * possibly inlined: the chain leads out to the outermost call), borrowed
 * from the module's arena; NULL for code written where it stands. A message
 * at a location with a `via` is followed by a note at each call. */
typedef struct pt_loc {
  const char *file;
  int line, col;
  const struct pt_loc *via;
} pt_loc;

#define PT_NOLOC ((pt_loc){0, 0, 0, NULL})

typedef enum { PT_SEV_ERROR, PT_SEV_WARNING, PT_SEV_NOTE } pt_severity;

typedef struct pt_diag pt_diag;

/* Create/destroy a diagnostic collector. Messages are kept (copied) until
 * destroy. If `echo` is non-NULL every message is also printed there as it
 * is reported (the CLI passes stderr). */
pt_diag *pt_diag_create(FILE *echo);
void pt_diag_destroy(pt_diag *d);

/* Register the text of a source file so messages located in it can show the
 * offending line. The text is copied. */
void pt_diag_add_source(pt_diag *d, const char *file, const char *text, size_t len);

void pt_diag_report(pt_diag *d, pt_severity sev, pt_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pt_diag_error(pt_diag *d, pt_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pt_diag_note(pt_diag *d, pt_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pt_diag_verror(pt_diag *d, pt_loc loc, const char *fmt, va_list ap);
void pt_diag_vreport(pt_diag *d, pt_severity sev, pt_loc loc, const char *fmt, va_list ap);

int pt_diag_error_count(const pt_diag *d);
int pt_diag_count(const pt_diag *d);
/* The i-th message as it would be printed on its first line
 * (`file:line:col: error: msg`); borrowed, valid until destroy. */
const char *pt_diag_message(const pt_diag *d, int i);
/* The i-th message text alone (no location prefix); borrowed. */
const char *pt_diag_text(const pt_diag *d, int i);
pt_loc pt_diag_loc(const pt_diag *d, int i);
pt_severity pt_diag_severity(const pt_diag *d, int i);
/* Writes "file:line:col" of loc into buf, followed for inlined code by
 * " (inlined at file:line:col ...)" for each call; returns buf. */
char *pt_loc_str(pt_loc loc, char *buf, size_t n);

/* Print every message with its source line and caret. */
void pt_diag_print(const pt_diag *d, FILE *out);
void pt_diag_clear(pt_diag *d);

/* Internal invariants (bugs in partita, never bad input). */
#define PT_ASSERT(c)                                                                               \
  do {                                                                                             \
    if (!(c))                                                                                      \
      pt_internal_error(__FILE__, __LINE__, #c);                                                   \
  } while (0)
#define PT_UNREACHABLE() pt_internal_error(__FILE__, __LINE__, "unreachable")
_Noreturn void pt_internal_error(const char *file, int line, const char *what);

/* Edit distance (insertions, deletions, substitutions) between two short
 * strings, for "did you mean" suggestions; strings over 64 bytes are
 * 99 apart. */
int pt_edit_distance(const char *a, const char *b);

#endif

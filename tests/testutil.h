/* Shared helpers for the Check test programs. */
#ifndef PT_TESTUTIL_H
#define PT_TESTUTIL_H

#include <check.h>

#include "ir.h"

/* The source tree (from PT_SOURCE_DIR, set by ctest), and a path inside it
 * (malloc'd; free with pt_free). */
const char *pt_test_source_dir(void);
char *pt_test_path(const char *rel);
/* The built `partita` binary (from PT_PARTITA, set by ctest). */
const char *pt_test_partita(void);

/* Parses text named "test.pir"; NULL and messages in d on error. */
pt_module *pt_test_parse(const char *text, pt_diag *d);
/* Parses and verifies; fails the running test (printing the diagnostics)
 * if either step reports an error. */
pt_module *pt_test_parse_ok(const char *text);

/* The contents of a file (malloc'd with pt_malloc), or "" if unreadable. */
char *pt_test_slurp(const char *path);

/* Runs `partita ARGS` (shell text; $T is `tmpdir`) in the source tree,
 * capturing its exit status, stdout and stderr (in files under tmpdir). */
typedef struct {
  int status;
  char *out, *err;
} pt_test_result;
pt_test_result pt_test_partita_run(const char *tmpdir, const char *args);
void pt_test_result_free(pt_test_result *r);

/* A command line that must fail: `partita ARGS` exits with `status` and
 * stderr contains `want`. pt_test_check_usage runs it and fails the
 * running test, naming the case, if not. */
typedef struct {
  const char *name, *args;
  int status;
  const char *want; /* in stderr */
} pt_test_usage_case;
void pt_test_check_usage(const char *tmpdir, const pt_test_usage_case *c);

/* Runs a suite, prints Check's summary line, returns the exit status. */
int pt_test_main(Suite *s);

#endif

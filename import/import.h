/* partita import: StableHLO text, as JAX and PyTorch/XLA print it (the
 * MLIR pretty and generic forms), into a partita module (docs/import.md).
 *
 * Requires: any bytes (text need not be NUL-terminated; the importer never
 * reads past len), a file name for locations.
 * Provides: pt_import_parse returns a module that pt_verify_module accepts:
 * one partita function per func.func, func.call as `call`, every StableHLO
 * op of the supported subset mapped to one partita op or a short
 * composition; the entry function's arguments get roles and names from
 * the options.
 * Ownership: the caller destroys the module (pt_module_destroy); options and
 * their strings are borrowed for the call; the text is registered with d so
 * that messages show the source line.
 * Errors: the first unsupported or malformed construct is reported to d as
 * one error located at it (`FILE:line:col: error: ...`), with a note at the
 * Python source when the op carries a loc(...) that names one; NULL is
 * returned. Never aborts on any input. Sharding annotations are ignored,
 * with one note. */
#ifndef PT_IMPORT_H
#define PT_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "ir.h"

typedef struct {
  const char *func;           /* entry function (StableHLO name, without '@'); NULL:
                                 @main, else the only public function */
  const char *params;         /* which entry arguments are params: "0,2-4,6-" (ranges
                                 inclusive, "N-" to the last), "all" or "none";
                                 NULL: none */
  bool params_from_constants; /* non-splat f32 constants and elided
                                 dense_resource blobs of the entry function
                                 become params const.0, const.1, ... */
  const char *const *names;   /* argument names, in order (the entry's
                                 arguments, then the params made from
                                 constants); may be shorter; NULL: none */
  int nnames;
  const char *names_file; /* where names came from, for messages */
  const int *names_lines; /* the line of each name in names_file (or NULL) */
} pt_import_opts;

pt_module *pt_import_parse(const char *text, size_t len, const char *file, const pt_import_opts *o,
                           pt_diag *d);

/* Checks a --params SPEC; NULL if well formed, else a static message. */
const char *pt_import_params_check(const char *spec);

/* Splits a names file (one name per line; blank lines and lines starting
 * with '#' are skipped) into *names (pt_malloc'd array of pt_malloc'd
 * strings) and their line numbers *lines; each name must be a partita value
 * name, else a located error in d and false. Free with
 * pt_import_names_free. */
bool pt_import_names_parse(const char *text, size_t len, const char *file, char ***names,
                           int **lines, int *n, pt_diag *d);
void pt_import_names_free(char **names, int *lines, int n);

#endif

/* The oracle and helpers every harness shares (fuzz.h). */
#include "fuzz.h"

#include <string.h>

static void *capped_alloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  if (size > PT_FUZZ_MAX_ALLOC)
    PT_FUZZ_FAIL("the library asked for %zu bytes, more than the %zu a fuzz input may need", size,
                 PT_FUZZ_MAX_ALLOC);
  return realloc(ptr, size);
}

void pt_fuzz_cap_allocations(void) {
  pt_set_allocator(capped_alloc, NULL);
}

void pt_fuzz_check_diag(const pt_diag *d, bool ok, const char *file, bool line_optional) {
  static int verbose = -1;
  if (verbose < 0)
    verbose = getenv("PT_FUZZ_VERBOSE") != NULL;
  if (verbose)
    for (int i = 0; i < pt_diag_count(d); i++)
      fprintf(stderr, "%s\n", pt_diag_message(d, i));
  int nerr = pt_diag_error_count(d);
  if (ok && nerr > 0)
    PT_FUZZ_FAIL("accepted, yet reported: %s", pt_diag_message(d, 0));
  if (!ok && nerr == 0)
    PT_FUZZ_FAIL("refused without an error message (%d other messages)", pt_diag_count(d));
  for (int i = 0; i < pt_diag_count(d); i++) {
    pt_loc loc = pt_diag_loc(d, i);
    /* a note adds to an error (located, below) and may point elsewhere: the
     * importer's at the Python source an op was traced from, or nowhere */
    if (pt_diag_severity(d, i) == PT_SEV_NOTE)
      continue;
    if (!loc.file || (file && strcmp(loc.file, file) != 0) || (!line_optional && loc.line < 1) ||
        loc.line < 0 || loc.col < 0)
      PT_FUZZ_FAIL("a message not located in %s: %s", file ? file : "a file",
                   pt_diag_message(d, i));
  }
}

char *pt_fuzz_read_source(const char *rel, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", PT_SOURCE_DIR, rel);
  FILE *fp = fopen(path, "rb");
  if (!fp)
    PT_FUZZ_FAIL("cannot open %s", path);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (!s || fread(s, 1, (size_t)n, fp) != (size_t)n)
    PT_FUZZ_FAIL("cannot read %s", path);
  fclose(fp);
  s[n] = 0;
  if (len)
    *len = (size_t)n;
  return s;
}

/* Shared helpers for the Check test programs. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

const char *pt_test_source_dir(void) {
  const char *s = getenv("PT_SOURCE_DIR");
  return s ? s : ".";
}

char *pt_test_path(const char *rel) {
  const char *dir = pt_test_source_dir();
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *p = pt_malloc(n);
  snprintf(p, n, "%s/%s", dir, rel);
  return p;
}

const char *pt_test_partita(void) {
  const char *s = getenv("PT_PARTITA");
  return s ? s : "./partita";
}

pt_module *pt_test_parse(const char *text, pt_diag *d) {
  return pt_parse(text, strlen(text), "test.pir", d);
}

pt_module *pt_test_parse_ok(const char *text) {
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_test_parse(text, d);
  if (m && pt_verify_module(m, d) != PT_OK) {
    pt_module_destroy(m);
    m = NULL;
  }
  if (!m) {
    pt_diag_print(d, stderr);
    const char *first = pt_diag_count(d) ? pt_diag_message(d, 0) : "?";
    char buf[512];
    snprintf(buf, sizeof buf, "parse/verify failed: %s", first);
    pt_diag_destroy(d);
    ck_abort_msg("%s", buf);
  }
  pt_diag_destroy(d);
  return m;
}

int pt_test_main(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Fuzzes the StableHLO reader behind `partita import` (import/): the input
 * is a .mlir text, read with params-from-constants on (so the elided-blob
 * and constant paths run too). Beyond "no crash and a located error", a
 * module the importer returns must verify, print as text the IR parser
 * reads back, and inline into a module that verifies. */
#include <string.h>

#include "fuzz.h"
#include "import.h"
#include "passes.h"

#define FILE_NAME "fuzz.mlir"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  pt_fuzz_cap_allocations();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pt_diag *d = pt_diag_create(NULL);
  pt_import_opts o = {0};
  o.params_from_constants = true;
  pt_module *m = pt_import_parse((const char *)data, size, FILE_NAME, &o, d);
  pt_fuzz_check_diag(d, m != NULL, FILE_NAME, false);
  if (m) {
    if (pt_verify_module(m, d) != PT_OK)
      PT_FUZZ_FAIL("the imported module does not verify: %s", pt_diag_message(d, 0));
    char *text = pt_print_module_str(m);
    pt_diag *d2 = pt_diag_create(NULL);
    pt_module *again = pt_parse(text, strlen(text), "imported.pir", d2);
    if (!again || pt_verify_module(again, d2) != PT_OK)
      PT_FUZZ_FAIL("the imported module's text does not read back: %s\n%s",
                   pt_diag_count(d2) ? pt_diag_message(d2, 0) : "(no message)", text);
    if (pt_pass_inline(again, NULL, d2) == PT_OK && pt_verify_module(again, d2) != PT_OK)
      PT_FUZZ_FAIL("the imported module does not verify once inlined: %s", pt_diag_message(d2, 0));
    pt_module_destroy(again);
    pt_diag_destroy(d2);
    pt_free(text);
  }
  pt_module_destroy(m);
  pt_diag_destroy(d);
  return 0;
}

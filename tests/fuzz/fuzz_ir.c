/* Fuzzes the IR text format: parse (ir/parse.c), verify (ir/verify.c) and,
 * for a module that passes, the printer and the inliner. Beyond "no crash
 * and a located error", a module the verifier accepts must print as text
 * the parser reads back to the same text (the printer writes exactly what
 * the parser reads), and inlining it must give a module that verifies. */
#include <string.h>

#include "fuzz.h"
#include "passes.h"

#define FILE_NAME "fuzz.pir"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  pt_fuzz_cap_allocations();
  return 0;
}

/* The printed text of a verified module parses and verifies, and prints the
 * same again. */
static void check_round_trip(const pt_module *m, const char *what) {
  char *text = pt_print_module_str(m);
  pt_diag *d = pt_diag_create(NULL);
  pt_module *again = pt_parse(text, strlen(text), "printed.pir", d);
  if (!again || pt_verify_module(again, d) != PT_OK)
    PT_FUZZ_FAIL("the printed %s module does not read back: %s\n%s", what,
                 pt_diag_count(d) ? pt_diag_message(d, 0) : "(no message)", text);
  char *text2 = pt_print_module_str(again);
  if (strcmp(text, text2) != 0)
    PT_FUZZ_FAIL("the printed %s module prints differently when read back:\n%s\n----\n%s", what,
                 text, text2);
  pt_free(text2);
  pt_module_destroy(again);
  pt_diag_destroy(d);
  pt_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_parse((const char *)data, size, FILE_NAME, d);
  bool ok = m && pt_verify_module(m, d) == PT_OK;
  pt_fuzz_check_diag(d, ok, FILE_NAME, false);
  if (ok) {
    check_round_trip(m, "parsed");
    pt_diag_clear(d);
    /* the inliner reports bad call graphs (recursion, a missing entry) as
     * located errors; what it returns must verify */
    if (pt_pass_inline(m, NULL, d) == PT_OK) {
      if (pt_verify_module(m, d) != PT_OK)
        PT_FUZZ_FAIL("the inlined module does not verify: %s", pt_diag_message(d, 0));
      check_round_trip(m, "inlined");
    } else {
      pt_fuzz_check_diag(d, false, FILE_NAME, false);
    }
  }
  pt_module_destroy(m);
  pt_diag_destroy(d);
  return 0;
}

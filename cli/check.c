/* `partita check FILE...`: parse and verify. */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_check = {
    "check", run, "parse and verify IR files",
    "Usage: partita check [-q] FILE...\n\n"
    "Parses and verifies each FILE (partita IR, docs/ir.md) and reports every\n"
    "error as file:line:col with the source line. Prints one summary line per\n"
    "valid file.\n\n"
    "Options:\n"
    "  -q, --quiet    print errors only\n"
    "  -h, --help     show this help\n\n"
    "Exit status: 0 if every file is valid, 1 if any is not, 2 on bad usage.\n"};

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_check, argc, argv))
    return PT_EXIT_OK;
  static const struct option opts[] = {{"quiet", no_argument, 0, 'q'}, {0, 0, 0, 0}};
  bool quiet = false;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
    if (c == 'q')
      quiet = true;
    else
      return pt_cli_bad_option(&pt_cmd_check, argc, argv);
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_check, "no input file");
  int status = PT_EXIT_OK;
  for (int i = optind; i < argc; i++) {
    pt_diag *d = pt_diag_create(stderr);
    pt_module *m = pt_cli_load_raw(argv[i], d);
    if (!m) {
      status = PT_EXIT_INPUT;
    } else {
      int nops = 0, ncalls = 0;
      for (int k = 0; k < m->nfuncs; k++) {
        nops += m->funcs[k]->nops;
        for (int j = 0; j < m->funcs[k]->nops; j++)
          ncalls += m->funcs[k]->ops[j]->code == PT_OP_CALL;
      }
      /* inlining warns about functions never called; what it gives must
       * verify (if not, that is partita's bug, reported as such) */
      if (ncalls && (pt_pass_inline(m, NULL, d) != PT_OK || pt_verify_module(m, d) != PT_OK))
        status = PT_EXIT_INPUT;
      else if (!quiet && !ncalls)
        printf("%s: ok (%d function%s, %d op%s)\n", argv[i], m->nfuncs,
               m->nfuncs == 1 ? "" : "s", nops, nops == 1 ? "" : "s");
      else if (!quiet) {
        const pt_func *e = pt_module_find_func(m, "loss");
        printf("%s: ok (%d function%s, %d op%s, %d call%s; @%s has %d ops inlined)\n",
               argv[i], m->nfuncs, m->nfuncs == 1 ? "" : "s", nops, nops == 1 ? "" : "s",
               ncalls, ncalls == 1 ? "" : "s", e ? e->name : m->funcs[m->nfuncs - 1]->name,
               e ? e->nops : m->funcs[m->nfuncs - 1]->nops);
      }
    }
    pt_module_destroy(m);
    pt_diag_destroy(d);
  }
  return status;
}
